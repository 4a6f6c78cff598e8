/*
 * sipstats native frame indexer: one call reads a HEP3 frame carrying SIP and writes, into an
 * Int32Array the JavaScript side registered once, where everything the call tracker reads lies:
 * the HEP fields, the SIP start line, the first Call-ID, CSeq, From, To, Via and Content-Length
 * values (the header lines are read until the first five are found), the CSeq number and method,
 * the From and To tags and the top Via's branch; for a BYE or a reply to one, whether a header's
 * name says "rtp-stat" (the endpoints' quality reports: X-RTP-Stat, P-RTP-Stat...). JavaScript
 * then makes strings of those ranges only when asked (src/protocol/sip/parse.ts, sipFromIndex;
 * src/protocol/hep/decode.ts, hepFromIndex).
 *
 * It is the fast path for the common frame, not a second decoder: anything it does not take as
 * is (a malformed frame, IPv6 addresses, a compressed payload, a payload other than SIP, a start
 * line or CSeq method it does not know, a folded well-known header) makes it answer 0, and the
 * JavaScript decoder and parser, the reference, read the frame instead (with their coded errors).
 * test/property/native-index.property.test.ts holds the two equal on generated frames.
 *
 * Built by scripts/build-native.mjs beside the UDP receiver; optional like it.
 *
 * JavaScript API (src/protocol/native-index.ts declares it):
 *   setOut(int32array)   the output (IX_SIZE numbers at least), kept for the module's life
 *   index(buf) -> void   out[0] = 1 when the frame was indexed (the layout below), else 0
 *   indexSip(buf, start, end) -> void   the same for a bare SIP message buf[start, end) (a capture's
 *                        UDP payload or a message cut from a TCP stream): the SIP fields only, the
 *                        payload range set to [start, end); the HEP fields are left as they were
 *   layout               IX_LAYOUT: a module built from another source version says another
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keep in step with src/protocol/native-index.ts (IX_*). (-D: test/integration/native-stale.test.ts builds an old one.) */
#ifndef IX_LAYOUT
#define IX_LAYOUT 3
#endif
enum {
  O_OK, O_PROTOCOL, O_SRC4, O_DST4, O_ADDRS, O_SRC_PORT, O_DST_PORT, O_TS_SEC, O_TS_USEC,
  O_PROTO_TYPE, O_CAPTURE_ID, O_FAMILY, O_AUTH_S, O_AUTH_E, O_CORR_S, O_CORR_E, O_NODE_S,
  O_NODE_E, O_PAY_S, O_PAY_E,
  /* SIP */
  O_REQUEST, O_METHOD, O_STATUS, O_SL, O_SLE, O_HS, O_POS, /* 12 numbers */
  O_BODY = O_POS + 12, O_CSEQ_SEQ, O_CSEQ_METHOD, O_FTAG_S, O_FTAG_E, O_TTAG_S, O_TTAG_E,
  O_BRANCH_S, O_BRANCH_E, O_SCAN, O_RTP_STAT, O_SIZE
};

#define SP 0x20
#define HT 0x09
#define CR 0x0d
#define LF 0x0a

/* The output of the isolate calling (its instance data: worker threads load this module too, each
   with its own array; a static pointer would have one isolate write into another's). */
typedef struct {
  int32_t *out;
  napi_ref ref;
} Env;

/* src/protocol/sip/methods.ts, in its order (their index is what JavaScript maps back); exported as
   `methods`, and a list that differs makes the loader refuse the module */
static const char *const METHODS[] = {"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "PRACK",
                                      "UPDATE", "INFO", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"};
#define N_METHODS 14
#define M_BYE 2 /* METHODS[M_BYE] */

static uint8_t TOKEN[256];

static inline int is_lws(uint8_t c) { return c == SP || c == HT || c == CR || c == LF; }
static inline uint32_t u16(const uint8_t *b, size_t o) { return ((uint32_t)b[o] << 8) | b[o + 1]; }
static inline uint32_t u32(const uint8_t *b, size_t o) {
  return ((uint32_t)b[o] << 24) | ((uint32_t)b[o + 1] << 16) | ((uint32_t)b[o + 2] << 8) | b[o + 3];
}

static int intern_method(const uint8_t *b, long s, long e) {
  long len = e - s;
  for (int i = 0; i < N_METHODS; i++) {
    if ((long)strlen(METHODS[i]) == len && memcmp(b + s, METHODS[i], (size_t)len) == 0) return i;
  }
  return -1;
}

/* "SIP/2.0", case-insensitive letters */
static int is_sip20(const uint8_t *b, long s, long e) {
  return e - s == 7 && (b[s] | 0x20) == 's' && (b[s + 1] | 0x20) == 'i' && (b[s + 2] | 0x20) == 'p' &&
         b[s + 3] == '/' && b[s + 4] == '2' && b[s + 5] == '.' && b[s + 6] == '0';
}

/* parse.ts eqName: b[s, e) equals lower-case `name`, letters compared without case */
static int eq_name(const uint8_t *b, long s, long e, const char *name, long len) {
  if (e - s != len) return 0;
  for (long i = 0; i < len; i++) {
    uint8_t x = (uint8_t)name[i], y = b[s + i];
    if (y != x && !(x >= 'a' && x <= 'z' && (y | 0x20) == x)) return 0;
  }
  return 1;
}

/* parse.ts classify: the well-known header ids (0 Call-ID, 1 CSeq, 2 From, 3 To, 4 Via, 5 Content-Length) */
static int classify(const uint8_t *b, long s, long e) {
  switch (e - s) {
    case 1:
      switch (b[s] | 0x20) {
        case 'i': return 0;
        case 'f': return 2;
        case 't': return 3;
        case 'v': return 4;
        case 'l': return 5;
        default: return -1;
      }
    case 2: return eq_name(b, s, e, "to", 2) ? 3 : -1;
    case 3: return eq_name(b, s, e, "via", 3) ? 4 : -1;
    case 4: return eq_name(b, s, e, "from", 4) ? 2 : eq_name(b, s, e, "cseq", 4) ? 1 : -1;
    case 7: return eq_name(b, s, e, "call-id", 7) ? 0 : -1;
    case 14: return eq_name(b, s, e, "content-length", 14) ? 5 : -1;
    default: return -1;
  }
}

/* a header name b[s, e) with "rtp-stat" in it, in any case (parse.ts RTP_STAT_MARK) */
static int rtp_stat_name(const uint8_t *b, long s, long e) {
  static const char k[] = "rtp-stat";
  for (long i = s; i + 8 <= e; i++) {
    int j = 0;
    while (j < 8 && (b[i + j] | 0x20) == k[j]) j++;
    if (j == 8) return 1;
  }
  return 0;
}

/* parse.ts line: *le = end without CR/LF, returns the start of the next line */
static long line(const uint8_t *b, long p, long n, long *le) {
  const uint8_t *f = memchr(b + p, LF, (size_t)(n - p));
  long e = f == NULL ? n : f - b;
  *le = e > p && b[e - 1] == CR ? e - 1 : e;
  return e < n ? e + 1 : n;
}

static long skip_quoted(const uint8_t *b, long p, long e) {
  p++;
  while (p < e) {
    uint8_t c = b[p];
    if (c == '\\') p += 2;
    else if (c == '"') return p + 1;
    else p++;
  }
  return e;
}

/* The first of ';', '"' and (when stop_at_comma) ',' in b[p, e), or e: memchr for each (a header
   value is short and these bytes rare in it: a few vector searches beat a loop over every byte) */
static long next_special(const uint8_t *b, long p, long e, int stop_at_comma) {
  if (p >= e) return e;
  const uint8_t *semi = memchr(b + p, ';', (size_t)(e - p));
  long lim = semi == NULL ? e : semi - b;
  if (lim > p) {
    const uint8_t *q = memchr(b + p, '"', (size_t)(lim - p));
    if (q != NULL) lim = q - b;
    if (stop_at_comma && lim > p) {
      const uint8_t *c = memchr(b + p, ',', (size_t)(lim - p));
      if (c != NULL) lim = c - b;
    }
  }
  return lim;
}

/* parse.ts findParam: the value of `;name=value` in [p, e) into [*vs, *ve) */
static int find_param(const uint8_t *b, long p, long e, const char *name, long nlen, int stop_at_comma, long *rs, long *re) {
  while (p < e) {
    p = next_special(b, p, e, stop_at_comma);
    if (p >= e) return 0;
    uint8_t c = b[p];
    if (c == '"') {
      p = skip_quoted(b, p, e);
      continue;
    }
    if (c == ',' && stop_at_comma) return 0;
    if (c != ';') {
      p++;
      continue;
    }
    p++;
    while (p < e && is_lws(b[p])) p++;
    long ns = p;
    while (p < e && TOKEN[b[p]]) p++;
    long ne = p;
    while (p < e && is_lws(b[p])) p++;
    long vs = p, ve = p;
    if (p < e && b[p] == '=') {
      p++;
      while (p < e && is_lws(b[p])) p++;
      if (p < e && b[p] == '"') {
        vs = p + 1;
        p = skip_quoted(b, p, e);
        ve = p > vs && b[p - 1] == '"' ? p - 1 : p;
      } else {
        vs = p;
        while (p < e && (c = b[p]) != ';' && c != ',' && !is_lws(c)) p++;
        ve = p;
      }
    }
    if (eq_name(b, ns, ne, name, nlen)) {
      *rs = vs;
      *re = ve;
      return 1;
    }
  }
  return 0;
}

/* parse.ts nameAddr then tag: the tag parameter's range, or -1, -1 */
static void tag(const uint8_t *b, long s, long e, int32_t *out) {
  out[0] = out[1] = -1;
  if (s < 0) return;
  long p = s;
  while (p < e && is_lws(b[p])) p++;
  long lt = -1, next;
  /* the first '<' outside a quoted display name: memchr, unless a quote comes before it */
  const uint8_t *l = p < e ? memchr(b + p, '<', (size_t)(e - p)) : NULL;
  long lim = l == NULL ? e : l - b;
  if (p < lim && memchr(b + p, '"', (size_t)(lim - p)) != NULL) {
    for (long q = p; q < e; q++) {
      uint8_t c = b[q];
      if (c == '"') q = skip_quoted(b, q, e) - 1;
      else if (c == '<') {
        lt = q;
        break;
      }
    }
  } else lt = l == NULL ? -1 : lim;
  if (lt >= 0) {
    const uint8_t *g = lt + 1 < e ? memchr(b + lt + 1, '>', (size_t)(e - lt - 1)) : NULL;
    long gt = g == NULL ? e : g - b;
    next = gt < e ? gt + 1 : e;
  } else {
    long q = p;
    while (q < e && b[q] != ';' && b[q] != ',' && !is_lws(b[q])) q++;
    next = q;
  }
  long vs, ve;
  if (find_param(b, next, e, "tag", 3, 0, &vs, &ve) && ve > vs) {
    out[0] = (int32_t)vs;
    out[1] = (int32_t)ve;
  }
}

/* The SIP message b[start, n): 1 when indexed into o, 0 when JavaScript must read it. */
static int index_sip(int32_t *o, const uint8_t *b, long start, long n) {
  long p = start;
  while (p < n && (b[p] == CR || b[p] == LF)) p++;
  if (p >= n) return 0;
  long le;
  long hs = line(b, p, n, &le);
  while (le > p && (b[le - 1] == SP || b[le - 1] == HT)) le--;
  if (le - p >= 4 && (b[p] | 0x20) == 's' && (b[p + 1] | 0x20) == 'i' && (b[p + 2] | 0x20) == 'p' && b[p + 3] == '/') {
    long q = p;
    while (q < le && b[q] != SP && b[q] != HT) q++;
    if (!is_sip20(b, p, q)) return 0;
    while (q < le && (b[q] == SP || b[q] == HT)) q++;
    long cs = q;
    int status = 0;
    while (q < le && b[q] >= '0' && b[q] <= '9') {
      if (q - cs < 3) status = status * 10 + (b[q] - '0');
      q++;
    }
    if (q - cs != 3 || (q < le && b[q] != SP && b[q] != HT)) return 0;
    if (status < 100 || status > 699) return 0;
    while (q < le && (b[q] == SP || b[q] == HT)) q++;
    o[O_REQUEST] = 0;
    o[O_METHOD] = -1;
    o[O_STATUS] = status;
    o[O_SL] = (int32_t)q;
    o[O_SLE] = (int32_t)le;
  } else {
    long q = p;
    while (q < le && TOKEN[b[q]]) q++;
    if (q == p || q == le || (b[q] != SP && b[q] != HT)) return 0;
    int m = intern_method(b, p, q);
    if (m < 0) return 0;
    while (q < le && (b[q] == SP || b[q] == HT)) q++;
    long us = q;
    while (q < le && b[q] > SP && b[q] != 0x7f) q++;
    long ue = q;
    if (ue == us || q == le || (b[q] != SP && b[q] != HT)) return 0;
    while (q < le && (b[q] == SP || b[q] == HT)) q++;
    long vs = q;
    while (q < le && b[q] > SP) q++;
    if (q != le || !is_sip20(b, vs, q)) return 0;
    o[O_REQUEST] = 1;
    o[O_METHOD] = m;
    o[O_STATUS] = 0;
    o[O_SL] = (int32_t)us;
    o[O_SLE] = (int32_t)ue;
  }
  o[O_HS] = (int32_t)hs;

  /* the header lines (parse.ts step, to the end of the header block) */
  int32_t *pos = o + O_POS;
  for (int i = 0; i < 12; i++) pos[i] = -1;
  long scan = hs, body = -1;
  int missing = 5; /* Call-ID, CSeq, From, To, Via: what the tracker reads; past them the rest is JavaScript's, lazily */
  int rtp_stat = 0; /* a header name with "rtp-stat" among the lines read */
  while (missing > 0) {
    p = scan;
    if (p >= n) {
      body = n;
      scan = -1;
      break;
    }
    uint8_t c = b[p];
    if (c == CR || c == LF) {
      body = c == CR && p + 1 < n && b[p + 1] == LF ? p + 2 : p + 1;
      scan = -1;
      break;
    }
    long next = line(b, p, n, &le);
    if (c != SP && c != HT) {
      long q = p;
      while (q < le && b[q] != ':') q++;
      if (q < le) {
        long ne = q;
        while (ne > p && (b[ne - 1] == SP || b[ne - 1] == HT)) ne--;
        int id = classify(b, p, ne);
        if (id < 0 && ne - p >= 8 && rtp_stat_name(b, p, ne)) rtp_stat = 1;
        if (id >= 0 && pos[2 * id] < 0) {
          long vs = q + 1;
          while (vs < le && (b[vs] == SP || b[vs] == HT)) vs++;
          long ve = le;
          while (ve > vs && (b[ve - 1] == SP || b[ve - 1] == HT)) ve--;
          /* a folded well-known header: JavaScript unfolds it */
          if (next < n && (b[next] == SP || b[next] == HT)) return 0;
          pos[2 * id] = (int32_t)vs;
          pos[2 * id + 1] = (int32_t)ve;
          if (id < 5) missing--;
        }
      }
    }
    scan = next;
  }
  /* the header lines were all read (scan -1, body where the body starts), or the five were found
     first (scan: the next line to read, body -1: parse.ts reads on from there when asked) */
  o[O_BODY] = (int32_t)body;
  o[O_SCAN] = (int32_t)scan;

  /* CSeq (parse.ts parseCSeq): number and method, or method -1 for none */
  o[O_CSEQ_SEQ] = 0;
  o[O_CSEQ_METHOD] = -1;
  if (pos[2] >= 0) {
    long q = pos[2], e = pos[3], ds = q;
    uint64_t seq = 0;
    while (q < e && b[q] >= '0' && b[q] <= '9') {
      if (q - ds < 11) seq = seq * 10 + (uint64_t)(b[q] - '0');
      q++;
    }
    if (!(q == ds || q - ds > 10 || seq > 0xffffffffULL)) {
      long ws = q;
      while (q < e && is_lws(b[q])) q++;
      if (q != ws) {
        long ms = q;
        while (q < e && TOKEN[b[q]]) q++;
        long me = q;
        if (me != ms) {
          while (q < e && is_lws(b[q])) q++;
          if (q == e) {
            int m = intern_method(b, ms, me);
            if (m < 0) return 0;
            o[O_CSEQ_SEQ] = (int32_t)(uint32_t)seq;
            o[O_CSEQ_METHOD] = m;
          }
        }
      }
    }
  }
  /* a BYE transaction: the rest of the header lines too, for a quality report's header (1 / 0);
     -1 for other messages (not looked for) */
  o[O_RTP_STAT] = -1;
  if ((o[O_REQUEST] == 1 ? o[O_METHOD] : o[O_CSEQ_METHOD]) == M_BYE) {
    for (long q = scan; q >= 0 && q < n && !rtp_stat;) {
      uint8_t c = b[q];
      if (c == CR || c == LF) break;
      long next = line(b, q, n, &le);
      if (c != SP && c != HT) {
        long r = q;
        while (r < le && b[r] != ':') r++;
        if (r < le && r - q >= 8 && rtp_stat_name(b, q, r)) rtp_stat = 1;
      }
      q = next;
    }
    o[O_RTP_STAT] = rtp_stat;
  }
  tag(b, pos[4], pos[5], o + O_FTAG_S);
  tag(b, pos[6], pos[7], o + O_TTAG_S);
  o[O_BRANCH_S] = o[O_BRANCH_E] = -1;
  long vs, ve;
  if (pos[8] >= 0 && find_param(b, pos[8], pos[9], "branch", 6, 1, &vs, &ve) && ve > vs) {
    o[O_BRANCH_S] = (int32_t)vs;
    o[O_BRANCH_E] = (int32_t)ve;
  }
  return 1;
}

/* The HEP3 frame b[0, size) (hep/decode.ts decodeHep): 1 when it and its SIP payload were indexed. */
static int index_frame(int32_t *o, const uint8_t *b, size_t size) {
  if (size < 6 || size > 0x7fffffff || u32(b, 0) != 0x48455033) return 0;
  long total = (long)u16(b, 4);
  if (total < 6 || total > (long)size) return 0;
  int fam = 0;
  long src4 = -1, dst4 = -1, pay_s = -1, pay_e = -1;
  o[O_PROTOCOL] = 0;
  o[O_SRC_PORT] = o[O_DST_PORT] = 0;
  o[O_TS_SEC] = o[O_TS_USEC] = 0;
  o[O_PROTO_TYPE] = 0;
  o[O_CAPTURE_ID] = 0;
  o[O_AUTH_S] = o[O_AUTH_E] = o[O_CORR_S] = o[O_CORR_E] = o[O_NODE_S] = o[O_NODE_E] = -1;
  long off = 6;
  while (off < total) {
    if (total - off < 6) return 0;
    uint32_t vendor = u16(b, off), type = u16(b, off + 2);
    long len = (long)u16(b, off + 4);
    if (len < 6 || off + len > total) return 0;
    long v = off + 6;
    if (vendor == 0) {
      switch (type) {
        case 0x01: if (len != 7) return 0; fam = b[v]; break;
        case 0x02: if (len != 7) return 0; o[O_PROTOCOL] = b[v]; break;
        case 0x03: if (len != 10) return 0; src4 = v; break;
        case 0x04: if (len != 10) return 0; dst4 = v; break;
        case 0x05: case 0x06: return 0; /* IPv6: JavaScript */
        case 0x07: if (len != 8) return 0; o[O_SRC_PORT] = (int32_t)u16(b, v); break;
        case 0x08: if (len != 8) return 0; o[O_DST_PORT] = (int32_t)u16(b, v); break;
        case 0x09: if (len != 10) return 0; o[O_TS_SEC] = (int32_t)u32(b, v); break;
        case 0x0a: if (len != 10) return 0; o[O_TS_USEC] = (int32_t)u32(b, v); break;
        case 0x0b: if (len != 7) return 0; o[O_PROTO_TYPE] = b[v]; break;
        case 0x0c: if (len != 10) return 0; o[O_CAPTURE_ID] = (int32_t)u32(b, v); break;
        case 0x0e: o[O_AUTH_S] = (int32_t)v; o[O_AUTH_E] = (int32_t)(off + len); break;
        case 0x0f: pay_s = v; pay_e = off + len; break;
        case 0x11: o[O_CORR_S] = (int32_t)v; o[O_CORR_E] = (int32_t)(off + len); break;
        case 0x13: o[O_NODE_S] = (int32_t)v; o[O_NODE_E] = (int32_t)(off + len); break;
        default: break; /* (0x10, a compressed payload, only counts without a plain one: below) */
      }
    }
    off += len;
  }
  /* no plain payload (a compressed one, or none), an IPv6 family, not SIP: JavaScript */
  if (pay_s < 0 || (fam != 0 && fam != 2) || o[O_PROTO_TYPE] != 1) return 0;
  o[O_FAMILY] = fam != 0 ? fam : src4 >= 0 || dst4 >= 0 ? 2 : 0;
  o[O_ADDRS] = (src4 >= 0 ? 1 : 0) | (dst4 >= 0 ? 2 : 0);
  o[O_SRC4] = src4 >= 0 ? (int32_t)u32(b, src4) : 0;
  o[O_DST4] = dst4 >= 0 ? (int32_t)u32(b, dst4) : 0;
  o[O_PAY_S] = (int32_t)pay_s;
  o[O_PAY_E] = (int32_t)pay_e;
  return index_sip(o, b, pay_s, pay_e);
}

static napi_value js_set_out(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_typedarray_type t;
  size_t len;
  void *data;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &t, &len, &data, NULL, NULL) != napi_ok || t != napi_int32_array || len < O_SIZE) {
    napi_throw_type_error(env, NULL, "setOut(Int32Array of IX_SIZE numbers at least)");
    return NULL;
  }
  Env *e = NULL;
  napi_get_instance_data(env, (void **)&e);
  if (e->ref != NULL) napi_delete_reference(env, e->ref);
  napi_create_reference(env, argv[0], 1, &e->ref); /* kept alive: out points into it */
  e->out = data;
  return NULL;
}

/* The calling isolate's output, its OK slot cleared, and the bytes of argv[0] (a Buffer): NULL when
   there is no output yet or argv[0] is no Buffer (the answer is then 0, or nothing to write). */
static int32_t *call_out(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, void **data, size_t *len) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  Env *e = NULL;
  napi_get_instance_data(env, (void **)&e);
  if (e == NULL || e->out == NULL) return NULL;
  e->out[O_OK] = 0;
  if (*argc < 1 || napi_get_buffer_info(env, argv[0], data, len) != napi_ok) return NULL;
  return e->out;
}

static napi_value js_index(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value argv[1];
  void *data;
  int32_t *out = call_out(env, info, &argc, argv, &data, &len);
  if (out != NULL) out[O_OK] = index_frame(out, data, len);
  return NULL;
}

static napi_value js_index_sip(napi_env env, napi_callback_info info) {
  size_t argc = 3, len;
  napi_value argv[3];
  void *data;
  int64_t start, end;
  int32_t *out = call_out(env, info, &argc, argv, &data, &len);
  if (out == NULL || argc < 3 || napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok)
    return NULL;
  if (start < 0 || end < start || (uint64_t)end > len || end > 0x7fffffff) return NULL;
  out[O_PAY_S] = (int32_t)start;
  out[O_PAY_E] = (int32_t)end;
  out[O_OK] = index_sip(out, data, (long)start, (long)end);
  return NULL;
}

static void free_env(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data); /* (its reference goes with the environment) */
}

static napi_value init(napi_env env, napi_value exports) {
  Env *e = calloc(1, sizeof(Env));
  if (e == NULL || napi_set_instance_data(env, e, free_env, NULL) != napi_ok) {
    free(e);
    napi_throw_error(env, NULL, "sip-index: no memory for its state");
    return NULL;
  }
  for (int c = '0'; c <= '9'; c++) TOKEN[c] = 1;
  for (int c = 'A'; c <= 'Z'; c++) TOKEN[c] = 1;
  for (int c = 'a'; c <= 'z'; c++) TOKEN[c] = 1;
  for (const char *s = "-.!%*_+`'~"; *s; s++) TOKEN[(uint8_t)*s] = 1;
  napi_value layout, size, methods;
  napi_create_uint32(env, IX_LAYOUT, &layout);
  napi_create_uint32(env, O_SIZE, &size);
  char list[256] = "";
  for (int i = 0; i < N_METHODS; i++) {
    if (i > 0) strcat(list, ",");
    strcat(list, METHODS[i]);
  }
  napi_create_string_utf8(env, list, NAPI_AUTO_LENGTH, &methods);
  napi_property_descriptor d[] = {
      {"setOut", NULL, js_set_out, NULL, NULL, NULL, napi_default, NULL},
      {"index", NULL, js_index, NULL, NULL, NULL, napi_default, NULL},
      {"indexSip", NULL, js_index_sip, NULL, NULL, NULL, napi_default, NULL},
      {"layout", NULL, NULL, NULL, NULL, layout, napi_enumerable, NULL},
      {"size", NULL, NULL, NULL, NULL, size, napi_enumerable, NULL},
      {"methods", NULL, NULL, NULL, NULL, methods, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 6, d);
  return exports;
}

NAPI_MODULE(sip_index, init)
