/*
 * sipstats native file lock: flock(2) for the data directory's lock file (src/persist/dir-lock.ts).
 * The lock belongs to the open file (the open file description): the kernel drops it when the last
 * descriptor of it is closed, which happens on every death of the process — exit, crash, kill -9 —
 * before the process is even reaped (a zombie holds no files). Node has no flock of its own.
 *
 * Built by scripts/build-native.mjs (the system's C compiler and Node's headers); when it cannot be
 * built, src/persist/dir-lock.ts falls back to a PID file (see docs/persistence.md for its limits).
 *
 * JavaScript API (src/persist/native-lock.ts declares it):
 *   lock(fd)   -> 0, or the errno's name as a string: flock(fd, LOCK_EX | LOCK_NB), never waits.
 *                 "EWOULDBLOCK": another open file holds the lock (in this process or another).
 *   unlock(fd) -> 0, or the errno's name: flock(fd, LOCK_UN).
 *   api        -> FILE_LOCK_API, the version of this API (a module built from another source has
 *                 another one, and the loader does not use it).
 * Throws a TypeError when fd is not a non-negative integer. EINTR is retried.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/file.h>

#define FILE_LOCK_API 1

/* The errno's name (the `code` Node gives its own errors), or "errno N" for one not listed. */
static napi_value errno_value(napi_env env, int e) {
  const char *name = NULL;
  char other[32];
  if (e == EWOULDBLOCK || e == EAGAIN) name = "EWOULDBLOCK";
  else if (e == EBADF) name = "EBADF";
  else if (e == EINVAL) name = "EINVAL";
  else if (e == ENOLCK) name = "ENOLCK";
  else if (e == ENOMEM) name = "ENOMEM";
#ifdef EOPNOTSUPP
  else if (e == EOPNOTSUPP) name = "EOPNOTSUPP";
#endif
  else {
    snprintf(other, sizeof other, "errno %d", e);
    name = other;
  }
  napi_value v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  return v;
}

static int fd_arg(napi_env env, napi_callback_info info, int *fd) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &v) != napi_ok || v < 0) {
    napi_throw_type_error(env, NULL, "file-lock: a file descriptor (integer >= 0) is required");
    return 0;
  }
  *fd = v;
  return 1;
}

static napi_value with_flock(napi_env env, napi_callback_info info, int op) {
  int fd;
  if (!fd_arg(env, info, &fd)) return NULL;
  int r;
  do r = flock(fd, op);
  while (r != 0 && errno == EINTR);
  if (r != 0) return errno_value(env, errno);
  napi_value zero;
  napi_create_int32(env, 0, &zero);
  return zero;
}

static napi_value js_lock(napi_env env, napi_callback_info info) { return with_flock(env, info, LOCK_EX | LOCK_NB); }

static napi_value js_unlock(napi_env env, napi_callback_info info) { return with_flock(env, info, LOCK_UN); }

static napi_value init(napi_env env, napi_value exports) {
  napi_value api;
  napi_create_uint32(env, FILE_LOCK_API, &api);
  napi_property_descriptor d[] = {
      {"lock", NULL, js_lock, NULL, NULL, NULL, napi_default, NULL},
      {"unlock", NULL, js_unlock, NULL, NULL, NULL, napi_default, NULL},
      {"api", NULL, NULL, NULL, NULL, api, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 3, d);
  return exports;
}

NAPI_MODULE(file_lock, init)
