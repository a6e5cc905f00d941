/* kvr_integrity: does the destination hold what the source held?
 *
 * Both guests are stopped. The trace region is dumped from each side with
 * QMP pmemsave in 16 MiB chunks (so a 3 GiB guest needs 32 MiB of scratch
 * disk, not 6 GiB) and compared page by page. After a pre-copy migration
 * the destination never ran (-S), so any difference is a lost or corrupted
 * page. After post-copy the destination guest ran on: a page it wrote
 * after switchover carries a stamp whose seq is at least the source's
 * writes_done, and is accepted when the rest of the page matches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvr_abi.h"
#include "kvr_internal.h"
#include "sim_err.h"

#define KVR_CHUNK_PAGES 4096u
#define KVR_DUMP_TIMEOUT_NS (60ull * 1000000000ull)

static int kvr_pmemsave(kvr_qmp *q, uint64_t addr, uint64_t size, const char *path) {
  json_t *args = json_pack("{s:I, s:I, s:s}", "val", (json_int_t)addr, "size", (json_int_t)size,
                           "filename", path);
  if (!args) return sim_errorf(SIM_ENOMEM, "out of memory");
  int rc = kvr__qmp_exec(q, "pmemsave", args, KVR_DUMP_TIMEOUT_NS, NULL);
  json_decref(args);
  return rc;
}

static int kvr_read_file(const char *path, unsigned char *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) return sim_errorf(SIM_EIO, "cannot open dump %s: %s", path, strerror(errno));
  size_t n = fread(buf, 1, size, f);
  fclose(f);
  if (n != size) return sim_errorf(SIM_ETRUNCATED, "dump %s has %zu of %zu bytes", path, n, size);
  return 0;
}

static uint32_t kvr_get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The seq of a page's stamp, or UINT64_MAX when it carries none. */
static uint64_t kvr_stamp_seq(const unsigned char *page) {
  uint32_t w[4];
  for (int i = 0; i < 4; i++) w[i] = kvr_get32(page + 4 * i);
  uint64_t seq;
  return kvr_stamp_decode(w, &seq) ? UINT64_MAX : seq;
}

/* A destination page that only differs by a write made after the switch:
 * its stamp, and the fill of bytes [16, write_bytes) that write made. */
static int kvr_written_after(const unsigned char *src, const unsigned char *dst, uint64_t writes_done,
                             uint32_t write_bytes) {
  uint64_t seq = kvr_stamp_seq(dst);
  if (seq == UINT64_MAX || seq < writes_done) return 0;
  uint32_t rest = KVR_STAMP_BYTES, key = kvr_get32(dst);
  for (; rest + 4 <= write_bytes; rest += 4)
    if (kvr_get32(dst + rest) != KVR_FILL_WORD(key, rest)) return 0;
  return memcmp(src + rest, dst + rest, KVR_PAGE_SIZE - rest) == 0;
}

int kvr__integrity_check(kvr_qmp *src, kvr_qmp *dst, const char *dir, uint64_t base_addr, uint32_t write_bytes,
                         uint64_t pages, uint64_t writes_done, kvr_integrity *out) {
  memset(out, 0, sizeof *out);
  out->first_differing = out->first_src_seq = out->first_dst_seq = UINT64_MAX;
  size_t chunk_bytes = (size_t)KVR_CHUNK_PAGES * KVR_PAGE_SIZE;
  unsigned char *a = malloc(chunk_bytes), *b = malloc(chunk_bytes);
  char pa[512], pb[512];
  snprintf(pa, sizeof pa, "%s/dump-src.bin", dir);
  snprintf(pb, sizeof pb, "%s/dump-dst.bin", dir);
  int rc = 0;
  if (!a || !b) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory for the integrity check");
    goto out;
  }
  for (uint64_t first = 0; first < pages; first += KVR_CHUNK_PAGES) {
    uint64_t n = pages - first < KVR_CHUNK_PAGES ? pages - first : KVR_CHUNK_PAGES;
    uint64_t addr = base_addr + first * KVR_PAGE_SIZE, size = n * KVR_PAGE_SIZE;
    if ((rc = kvr_pmemsave(src, addr, size, pa))) goto out;
    if ((rc = kvr_pmemsave(dst, addr, size, pb))) goto out;
    if ((rc = kvr_read_file(pa, a, (size_t)size))) goto out;
    if ((rc = kvr_read_file(pb, b, (size_t)size))) goto out;
    for (uint64_t i = 0; i < n; i++) {
      const unsigned char *ps = a + i * KVR_PAGE_SIZE, *pd = b + i * KVR_PAGE_SIZE;
      out->pages_compared++;
      if (memcmp(ps, pd, KVR_PAGE_SIZE) == 0) continue;
      if (kvr_written_after(ps, pd, writes_done, write_bytes)) {
        out->written_after++;
        continue;
      }
      out->differing++;
      if (out->first_differing == UINT64_MAX) {
        out->first_differing = first + i;
        out->first_src_seq = kvr_stamp_seq(ps);
        out->first_dst_seq = kvr_stamp_seq(pd);
      }
    }
  }
out:
  unlink(pa);
  unlink(pb);
  free(a);
  free(b);
  return rc;
}

int kvr__read_status(kvr_qmp *q, const char *dir, const char *name, uint32_t addr,
                     unsigned char *block) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int rc = kvr_pmemsave(q, addr, KVR_STATUS_SIZE, path);
  if (!rc) rc = kvr_read_file(path, block, KVR_STATUS_SIZE);
  if (!rc && kvr_get32(block + KVR_ST_MAGIC) != KVR_STATUS_MAGIC)
    rc = sim_errorf(SIM_EFORMAT, "guest status block at 0x%x has a bad magic", addr);
  unlink(path);
  return rc;
}
