/*
 * sipstats native UDP receiver (Linux): a thread of its own reads the socket with recvmmsg(2), 64
 * datagrams a call, and hands them to the JavaScript thread in batches through a Node-API
 * thread-safe function. Node's dgram costs a JavaScript callback, a 64 KB allocation and an address
 * object per datagram (5-7 us each on the benchmark machine): at 100 000 HEP frames/s that alone is
 * most of a core, and the kernel drops what the socket's receive buffer cannot hold meanwhile.
 *
 * Built by scripts/build-native.mjs (the system's C compiler and Node's headers); when it cannot
 * be built, src/ingest/hep-udp.ts reads the socket with a JavaScript thread instead.
 *
 * JavaScript API (src/ingest/native-udp.ts declares it):
 *   open(host, port, ipv6, maxQueued, batchBytes, recvBuffer, onBatch) -> [handle, boundPort]
 *     recvBuffer: SO_RCVBUF asked of the kernel (capped by net.core.rmem_max).
 *     throws an Error with `code` (EADDRINUSE, EACCES...) when the socket cannot be bound.
 *     onBatch(buf, n, dropped, kernelDropped): `buf` holds n records [u32 length][u32 sender key]
 *     [datagram] (little endian; the key: FNV-1a of the sender's address and port); `dropped` counts datagrams dropped since the last call because more than
 *     maxQueued bytes were waiting for JavaScript; `kernelDropped` those the kernel dropped since the
 *     last call because the socket's receive buffer was full (SO_RXQ_OVFL: learnt with the next
 *     datagram read). onBatch(null, 0, dropped, kernelDropped, error) is called once, last: after
 *     close (error null), or when the thread stopped on its own (error: the errno's name, e.g. EIO,
 *     of the poll(2) that failed; the socket is still bound until close).
 *   close(handle): stops the thread; batches already read are still delivered before the last call.
 *     A second close of a handle does nothing.
 *   fault(handle): for tests, makes the thread stop as on a failed poll (EIO).
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define VLEN 64
#define SLOT 65536
#define CONTROL 64 /* room for the SO_RXQ_OVFL control message */

typedef struct {
  uint8_t *buf;
  size_t len;
  uint32_t n;
  int last;
} Batch;

typedef struct {
  int fd;
  int wake[2]; /* a pipe: close() writes 'x' to it to end the thread's poll (fault(): 'e') */
  pthread_t thread;
  atomic_int error; /* why the thread stopped on its own (an errno), 0: it did not */
  Batch final;      /* the last call's batch: never allocated, so the last call is never lost */
  atomic_llong queued;  /* bytes handed over and not yet delivered */
  atomic_llong dropped; /* datagrams dropped past max_queued, not yet reported */
  atomic_llong kernel_dropped; /* datagrams the kernel dropped (receive buffer full), not yet reported */
  uint32_t ovfl_seen;          /* the socket's drop counter as last read (SO_RXQ_OVFL) */
  long long max_queued;
  size_t batch_bytes;
  napi_threadsafe_function tsfn;
  /* the thread's own */
  uint8_t *slots;
  uint8_t *buf;
  size_t len, cap;
  uint32_t n;
} Rx;

/* What JavaScript holds: the receiver until close() (then NULL: a second close does nothing). */
typedef struct {
  Rx *rx;
} Handle;

/* Drops what the thread holds, counted as dropped (no memory to hand it over). */
static void drop_held(Rx *rx) {
  atomic_fetch_add(&rx->dropped, (long long)rx->n);
  free(rx->buf);
  rx->buf = NULL;
  rx->len = rx->cap = 0;
  rx->n = 0;
}

static void hand_over(Rx *rx, int last) {
  if (rx->n == 0 && !last) return;
  Batch *b = last ? &rx->final : malloc(sizeof *b);
  if (b == NULL) {
    drop_held(rx);
    return;
  }
  b->buf = rx->buf;
  b->len = rx->len;
  b->n = rx->n;
  b->last = last;
  atomic_fetch_add(&rx->queued, (long long)rx->len);
  rx->buf = NULL;
  rx->len = rx->cap = 0;
  rx->n = 0;
  if (napi_call_threadsafe_function(rx->tsfn, b, napi_tsfn_blocking) != napi_ok) {
    atomic_fetch_sub(&rx->queued, (long long)b->len);
    free(b->buf);
    if (!b->last) free(b);
  }
}

/* The record of one datagram: its length and its sender's key (u32 little-endian each), then its bytes. */
#ifndef RECORD_HEAD /* (-D: test/integration/native-stale.test.ts builds an old one) */
#define RECORD_HEAD 8
#endif

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* A key of the sender's address and port (FNV-1a): tells capture agents apart that share a HEP capture id and name. */
static uint32_t sender_key(const struct sockaddr_storage *a) {
  const uint8_t *b;
  size_t n;
  uint16_t port;
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
    b = (const uint8_t *)&s6->sin6_addr;
    n = 16;
    port = s6->sin6_port;
  } else if (a->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
    b = (const uint8_t *)&s4->sin_addr;
    n = 4;
    port = s4->sin_port;
  } else return 0;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  h = (h ^ (uint8_t)port) * 16777619u;
  h = (h ^ (uint8_t)(port >> 8)) * 16777619u;
  return h;
}

/* First room of a batch: a datagram or a few (a batch grows by doubling as datagrams come, to batch_bytes + one datagram). */
#define FIRST_CAP 16384

static void append(Rx *rx, const uint8_t *data, uint32_t len, uint32_t sender) {
  /* a full batch goes first: batches stay within batch_bytes + one datagram */
  if (rx->n > 0 && rx->len + RECORD_HEAD + len > rx->batch_bytes + SLOT + RECORD_HEAD) hand_over(rx, 0);
  size_t need = rx->len + RECORD_HEAD + len;
  if (need > rx->cap) {
    size_t cap = rx->cap == 0 ? FIRST_CAP : rx->cap * 2;
    while (cap < need) cap *= 2;
    uint8_t *grown = realloc(rx->buf, cap);
    if (grown == NULL) {
      atomic_fetch_add(&rx->dropped, 1);
      return;
    }
    rx->buf = grown;
    rx->cap = cap;
  }
  uint8_t *p = rx->buf + rx->len;
  put32(p, len);
  put32(p + 4, sender);
  memcpy(p + RECORD_HEAD, data, len);
  rx->len += RECORD_HEAD + len;
  rx->n++;
}

static void *receive(void *arg) {
  Rx *rx = arg;
  struct mmsghdr msgs[VLEN];
  struct iovec iov[VLEN];
  union { struct cmsghdr align; uint8_t bytes[CONTROL]; } control[VLEN];
  struct sockaddr_storage from[VLEN];
  for (;;) {
    struct pollfd p[2] = {{rx->fd, POLLIN, 0}, {rx->wake[0], POLLIN, 0}};
    /* holding datagrams: hand them over as soon as nothing more is waiting */
    int r = poll(p, 2, rx->n > 0 ? 0 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      /* the thread cannot go on: said in the last call (JavaScript falls back to its own thread) */
      atomic_store(&rx->error, errno);
      break;
    }
    if (r == 0) {
      hand_over(rx, 0);
      continue;
    }
    if (p[1].revents) {
      char c = 0;
      if (read(rx->wake[0], &c, 1) == 1 && c == 'e') atomic_store(&rx->error, EIO);
      break;
    }
    for (int i = 0; i < VLEN; i++) {
      iov[i].iov_base = rx->slots + (size_t)i * SLOT;
      iov[i].iov_len = SLOT;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i].bytes;
      msgs[i].msg_hdr.msg_controllen = CONTROL;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int got = recvmmsg(rx->fd, msgs, VLEN, MSG_DONTWAIT, NULL);
    if (got <= 0) continue;
    for (int i = 0; i < got; i++) {
      uint32_t len = msgs[i].msg_len;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
        uint32_t total;
        memcpy(&total, CMSG_DATA(c), sizeof total);
        if (total != rx->ovfl_seen) atomic_fetch_add(&rx->kernel_dropped, (long long)(uint32_t)(total - rx->ovfl_seen));
        rx->ovfl_seen = total;
      }
      if (atomic_load(&rx->queued) + (long long)(rx->len + RECORD_HEAD + len) > rx->max_queued) {
        atomic_fetch_add(&rx->dropped, 1);
        continue;
      }
      append(rx, rx->slots + (size_t)i * SLOT, len, sender_key(&from[i]));
    }
    if (rx->len >= rx->batch_bytes) hand_over(rx, 0);
  }
  hand_over(rx, 0);
  hand_over(rx, 1);
  return NULL;
}

/* On the JavaScript thread: one batch to onBatch. */
static void deliver(napi_env env, napi_value cb, void *context, void *data) {
  Rx *rx = context;
  Batch *b = data;
  if (env != NULL && cb != NULL) {
    napi_value argv[5], undef;
    napi_get_undefined(env, &undef);
    napi_get_null(env, &argv[4]);
    if (b->last) {
      napi_get_null(env, &argv[0]);
      int err = atomic_load(&rx->error);
      if (err != 0) napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &argv[4]);
    } else {
      void *copy;
      if (napi_create_buffer_copy(env, b->len, b->buf, &copy, &argv[0]) != napi_ok) {
        /* no memory for the copy: the batch is lost, and counted as dropped */
        atomic_fetch_add(&rx->dropped, (long long)b->n);
        atomic_fetch_sub(&rx->queued, (long long)b->len);
        free(b->buf);
        free(b);
        return;
      }
    }
    napi_create_uint32(env, b->n, &argv[1]);
    napi_create_double(env, (double)atomic_exchange(&rx->dropped, 0), &argv[2]);
    napi_create_double(env, (double)atomic_exchange(&rx->kernel_dropped, 0), &argv[3]);
    atomic_fetch_sub(&rx->queued, (long long)b->len);
    napi_call_function(env, undef, cb, 5, argv, NULL);
  } else atomic_fetch_sub(&rx->queued, (long long)b->len);
  free(b->buf);
  if (!b->last) free(b);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void finalize_tsfn(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Rx *rx = data;
  free(rx->slots);
  free(rx);
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  napi_value code, msg, error;
  const char *name = uv_err_name(-err);
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open(host, port, ipv6, maxQueued, batchBytes, recvBuffer, onBatch)");
    return NULL;
  }
  char host[64];
  size_t hl;
  uint32_t port;
  bool v6;
  int64_t max_queued, batch_bytes;
  int32_t recv_buffer;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok || napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
      napi_get_value_bool(env, argv[2], &v6) != napi_ok || napi_get_value_int64(env, argv[3], &max_queued) != napi_ok ||
      napi_get_value_int64(env, argv[4], &batch_bytes) != napi_ok || napi_get_value_int32(env, argv[5], &recv_buffer) != napi_ok || port > 65535 || batch_bytes <= 0) {
    napi_throw_type_error(env, NULL, "open(host: string, port: number, ipv6: boolean, maxQueued: number, batchBytes: number, recvBuffer: number, onBatch)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, EINVAL, "bad IPv6 address");
    sl = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, EINVAL, "bad IPv4 address");
    sl = sizeof *a;
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &recv_buffer, sizeof recv_buffer); /* capped by net.core.rmem_max */
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one); /* the kernel's drop count with each datagram */
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  uint32_t bound = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);

  Rx *rx = calloc(1, sizeof *rx);
  if (rx == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "receiver");
  }
  if (pipe2(rx->wake, O_CLOEXEC) != 0) {
    int e = errno;
    close(fd);
    free(rx);
    return throw_errno(env, e, "pipe2");
  }
  Handle *h = malloc(sizeof *h);
  if (h == NULL) {
    close(fd);
    close(rx->wake[0]);
    close(rx->wake[1]);
    free(rx);
    return throw_errno(env, ENOMEM, "receiver");
  }
  rx->fd = fd;
  rx->max_queued = max_queued;
  rx->batch_bytes = (size_t)batch_bytes;
  rx->slots = malloc((size_t)VLEN * SLOT);
  napi_value name;
  napi_create_string_utf8(env, "sipstats-udp", NAPI_AUTO_LENGTH, &name);
  napi_status st = rx->slots == NULL ? napi_generic_failure : napi_create_threadsafe_function(env, argv[6], NULL, name, 0, 1, rx, finalize_tsfn, rx, deliver, &rx->tsfn);
  if (st != napi_ok) {
    close(fd);
    close(rx->wake[0]);
    close(rx->wake[1]);
    free(rx->slots);
    free(rx);
    free(h);
    if (st == napi_generic_failure) return throw_errno(env, ENOMEM, "receiver buffers");
    napi_throw_type_error(env, NULL, "open: onBatch must be a function");
    return NULL;
  }
  if (pthread_create(&rx->thread, NULL, receive, rx) != 0) {
    int e = errno;
    napi_release_threadsafe_function(rx->tsfn, napi_tsfn_abort);
    close(fd);
    close(rx->wake[0]);
    close(rx->wake[1]);
    free(rx->slots);
    free(rx);
    free(h);
    return throw_errno(env, e, "pthread_create");
  }
  h->rx = rx;
  napi_value handle, out, p;
  napi_create_external(env, h, finalize_handle, NULL, &handle);
  napi_create_array_with_length(env, 2, &out);
  napi_create_uint32(env, bound, &p);
  napi_set_element(env, out, 0, handle);
  napi_set_element(env, out, 1, p);
  return out;
}

/* The handle of argv[0], or NULL (thrown) when it is not one. */
static Handle *handle_of(napi_env env, napi_callback_info info, const char *usage) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Handle *h = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok || h == NULL) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return h;
}

static napi_value js_fault(napi_env env, napi_callback_info info) {
  Handle *h = handle_of(env, info, "fault(handle)");
  if (h != NULL && h->rx != NULL) {
    ssize_t w = write(h->rx->wake[1], "e", 1);
    (void)w;
  }
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  Handle *h = handle_of(env, info, "close(handle)");
  if (h == NULL || h->rx == NULL) return NULL; /* (closed already: the receiver may be freed) */
  Rx *rx = h->rx;
  h->rx = NULL;
  ssize_t w = write(rx->wake[1], "x", 1);
  (void)w;
  pthread_join(rx->thread, NULL);
  close(rx->fd);
  close(rx->wake[0]);
  close(rx->wake[1]);
  /* the batches still queued are delivered, the last one included; then finalize_tsfn frees rx */
  napi_release_threadsafe_function(rx->tsfn, napi_tsfn_release);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value head;
  napi_create_uint32(env, RECORD_HEAD, &head);
  napi_property_descriptor d[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"fault", NULL, js_fault, NULL, NULL, NULL, napi_default, NULL},
      /* the record header's size: a module built from an older source is told by it */
      {"recordHead", NULL, NULL, NULL, NULL, head, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 4, d);
  return exports;
}

NAPI_MODULE(udp_recv, init)
