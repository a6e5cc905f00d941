/* kvr_zcost: what compressing the replay guest's pages costs this host,
 * for the profile keys zlib_page_ns (multifd) and compress_page_ns (QEMU
 * 7.2's legacy compress threads); printed by `migsim bench --compress`.
 * docs/features.md, "compress", explains why the two differ. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "kvr_abi.h"
#include "kvr.h"
#include "kvr_internal.h"
#include "sim_err.h"

enum { KVR__ZC_PAGES = 1024, KVR__ZC_PACKET = 128 };

static double kvr__zc_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per page over `pages`: per_page 1 resets the stream before every page
 * and finishes it (QEMU 7.2's qemu_compress_data: deflateReset, deflate
 * Z_FINISH); 0 keeps one stream and flushes it after every packet of 128
 * pages (multifd's zlib: Z_SYNC_FLUSH per packet). */
static int kvr__zc_time(z_stream *zs, const uint8_t *pages, int per_page, double *ns, double *bytes) {
  static unsigned char out[2 * KVR_PAGE_SIZE * KVR__ZC_PACKET];
  if (deflateReset(zs) != Z_OK) return -1;
  uint64_t written = 0;
  double t0 = kvr__zc_now();
  for (uint32_t i = 0; i < KVR__ZC_PAGES; i++) {
    if (per_page && deflateReset(zs) != Z_OK) return -1;
    zs->next_in = (Bytef *)(uintptr_t)(pages + (size_t)i * KVR_PAGE_SIZE);
    zs->avail_in = KVR_PAGE_SIZE;
    zs->next_out = out;
    zs->avail_out = sizeof out;
    int flush = per_page ? Z_FINISH : (i % KVR__ZC_PACKET == KVR__ZC_PACKET - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    int rc = deflate(zs, flush);
    if (rc != Z_OK && rc != Z_STREAM_END) return -1;
    written += sizeof out - zs->avail_out;
  }
  *ns = (kvr__zc_now() - t0) / KVR__ZC_PAGES;
  *bytes = (double)written / KVR__ZC_PAGES;
  return 0;
}

int kvr_zlib_costs(double ratio, uint32_t rounds, kvr_zlib_cost *c) {
  if (!(ratio > 0 && ratio <= 2)) return sim_errorf(SIM_EINVAL, "compress ratio %g: expected above 0 and at most 2", ratio);
  if (rounds == 0) rounds = 1;
  memset(c, 0, sizeof *c);
  c->ratio = ratio;
  c->random_bytes = kvr__random_bytes_for(ratio);
  uint8_t *pages = malloc((size_t)KVR__ZC_PAGES * KVR_PAGE_SIZE);
  if (!pages) return sim_errorf(SIM_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < KVR__ZC_PAGES; i++)
    kvr_page_content((volatile uint32_t *)(void *)(pages + (size_t)i * KVR_PAGE_SIZE), i * 7919u, c->random_bytes,
                     0xa5a5a5a5u);
  int rc = 0;
  for (int level = 0; level < 10 && !rc; level++) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit(&zs, level) != Z_OK) {
      rc = sim_errorf(SIM_ENOMEM, "zlib: deflateInit failed at level %d", level);
      break;
    }
    /* The fastest of `rounds` passes: the host's cost without the noise of
     * other work. */
    c->packet_ns[level] = c->page_ns[level] = 1e18;
    for (uint32_t r = 0; r < rounds && !rc; r++) {
      double a, b;
      if (kvr__zc_time(&zs, pages, 0, &a, &c->packet_bytes[level]) ||
          kvr__zc_time(&zs, pages, 1, &b, &c->page_bytes[level])) {
        rc = sim_errorf(SIM_EIO, "zlib: deflate failed at level %d", level);
        break;
      }
      if (a < c->packet_ns[level]) c->packet_ns[level] = a;
      if (b < c->page_ns[level]) c->page_ns[level] = b;
    }
    deflateEnd(&zs);
  }
  free(pages);
  return rc;
}
