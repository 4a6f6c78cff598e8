/*
 * udp-pace: the benches' load generator. Sends HEP frames to 127.0.0.1:PORT at RATE datagrams per
 * second, CALLS times a call's frames, with sendmmsg(2) in small batches, so that the sender takes
 * little of a 2-core machine's CPU (a Node sender spends ~15 us per datagram, as much as the
 * receiver it measures). Built by bench/lib.ts with the system's C compiler.
 *
 *   udp-pace PORT RATE CALLS TEMPLATE
 *
 * TEMPLATE (written by bench/lib.ts, little endian u32s): nframes, then per frame: len, len bytes,
 * npatches, then per patch: offset, width, modulus, addend, kind. Datagram k is frame k % nframes
 * with every patch set to x = (k / nframes) % modulus + addend (modulus 0: no modulus), written as
 * `width` decimal digits (kind 0) or `width` bytes big-endian (kind 1); kind 2 writes the wall
 * clock's Unix seconds (a HEP capture time) as `width` bytes big-endian.
 * Prints "sent N in S s" on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAX_FRAMES 64
#define MAX_PATCHES 8

struct patch { uint32_t at, width, mod, add, kind; };
struct frame { uint32_t len, npatch; uint8_t *bytes; struct patch p[MAX_PATCHES]; };

static uint32_t rd(FILE *f) {
  uint8_t b[4];
  if (fread(b, 1, 4, f) != 4) { fprintf(stderr, "udp-pace: template truncated\n"); exit(2); }
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: udp-pace PORT RATE CALLS TEMPLATE\n"); return 2; }
  int port = atoi(argv[1]);
  double rate = atof(argv[2]);
  uint64_t calls = strtoull(argv[3], NULL, 10);
  FILE *tf = fopen(argv[4], "rb");
  if (!tf) { perror("udp-pace: template"); return 2; }
  uint32_t nf = rd(tf);
  if (nf == 0 || nf > MAX_FRAMES) { fprintf(stderr, "udp-pace: bad frame count %u\n", nf); return 2; }
  struct frame fr[MAX_FRAMES];
  for (uint32_t i = 0; i < nf; i++) {
    fr[i].len = rd(tf);
    if (fr[i].len > 65507) { fprintf(stderr, "udp-pace: frame %u too long\n", i); return 2; }
    fr[i].bytes = malloc(fr[i].len);
    if (fread(fr[i].bytes, 1, fr[i].len, tf) != fr[i].len) { fprintf(stderr, "udp-pace: template truncated\n"); return 2; }
    fr[i].npatch = rd(tf);
    if (fr[i].npatch > MAX_PATCHES) { fprintf(stderr, "udp-pace: too many patches\n"); return 2; }
    for (uint32_t j = 0; j < fr[i].npatch; j++) {
      fr[i].p[j].at = rd(tf);
      fr[i].p[j].width = rd(tf);
      fr[i].p[j].mod = rd(tf);
      fr[i].p[j].add = rd(tf);
      fr[i].p[j].kind = rd(tf);
      if (fr[i].p[j].kind > 2 || (fr[i].p[j].kind > 0 && fr[i].p[j].width > 8)) { fprintf(stderr, "udp-pace: bad patch in frame %u\n", i); return 2; }
      if (fr[i].p[j].at + fr[i].p[j].width > fr[i].len) { fprintf(stderr, "udp-pace: patch outside frame %u\n", i); return 2; }
    }
  }
  fclose(tf);

  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (connect(s, (struct sockaddr *)&to, sizeof to) != 0) { perror("udp-pace: connect"); return 2; }

  static uint8_t buf[BATCH][65536];
  struct iovec iov[BATCH];
  struct mmsghdr msg[BATCH];
  memset(msg, 0, sizeof msg);
  uint64_t total = calls * nf, sent = 0;
  double t0 = now();
  while (sent < total) {
    uint64_t due = (uint64_t)((now() - t0) * rate) + 1;
    if (due > total) due = total;
    if (due <= sent) { usleep(50); continue; }
    uint64_t n = due - sent;
    if (n > BATCH) n = BATCH;
    for (uint64_t k = 0; k < n; k++) {
      uint64_t idx = sent + k;
      struct frame *f = &fr[idx % nf];
      uint64_t call = idx / nf;
      memcpy(buf[k], f->bytes, f->len);
      for (uint32_t j = 0; j < f->npatch; j++) {
        const struct patch *p = &f->p[j];
        uint64_t x = (p->mod ? call % p->mod : call) + p->add;
        if (p->kind == 2) x = (uint64_t)time(NULL);
        if (p->kind == 0) for (uint32_t d = p->width; d-- > 0;) { buf[k][p->at + d] = (uint8_t)('0' + x % 10); x /= 10; }
        else for (uint32_t d = p->width; d-- > 0;) { buf[k][p->at + d] = (uint8_t)(x & 0xff); x >>= 8; }
      }
      iov[k].iov_base = buf[k];
      iov[k].iov_len = f->len;
      msg[k].msg_hdr.msg_iov = &iov[k];
      msg[k].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(s, msg, (unsigned)n, 0);
    if (r < 0) { perror("udp-pace: sendmmsg"); usleep(100); continue; }
    sent += (uint64_t)r;
  }
  printf("sent %llu in %.3f s\n", (unsigned long long)sent, now() - t0);
  return 0;
}
