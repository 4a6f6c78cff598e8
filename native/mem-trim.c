/*
 * sipstats native memory trim: glibc's malloc_trim(0) for a long-running server (src/app/mem-trim.ts).
 * The C allocator gives freed memory back to the system only from the top of its heap; what is freed
 * below stays in the process's resident set. V8 keeps typed arrays (the statistics' slot rings, the
 * location tables) in that heap and replaces them as they grow, so a burst of new series leaves
 * freed pages between live ones: malloc_trim(0) returns the free pages of every arena (madvise)
 * without moving anything. glibc only: elsewhere the module is not built and nothing is trimmed.
 *
 * Built by scripts/build-native.mjs (the system's C compiler and Node's headers).
 *
 * JavaScript API (src/app/mem-trim.ts declares it):
 *   trim() -> true when memory was given back to the system, false when there was none to give.
 *   api    -> MEM_TRIM_API, the version of this API (a module built from another source has another
 *             one, and the loader does not use it).
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <malloc.h>

#ifndef __GLIBC__
#error "malloc_trim is glibc's: this module is built on glibc systems only"
#endif

#define MEM_TRIM_API 1

static napi_value js_trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, malloc_trim(0) == 1, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value api;
  napi_create_uint32(env, MEM_TRIM_API, &api);
  napi_property_descriptor d[] = {
      {"trim", NULL, js_trim, NULL, NULL, NULL, napi_default, NULL},
      {"api", NULL, NULL, NULL, NULL, api, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 2, d);
  return exports;
}

NAPI_MODULE(mem_trim, init)
