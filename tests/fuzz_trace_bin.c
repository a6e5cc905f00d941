/* libFuzzer target: the binary trace reader (workloads/wl_binfmt.c).
 *
 * Each input is read twice: as it is (exercising the size, CRC and
 * truncation checks) and with every CRC recomputed (so that mutations reach
 * the chunk decoder, which a random byte flip would otherwise never pass
 * the checksums to). The reader must never crash, never allocate on the
 * strength of an unchecked size, and only deliver events that keep its
 * promises (non-decreasing time, pfn < pages, op w or r). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sim_err.h"
#include "wl_internal.h"
#include "wl_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t crc(uint32_t c, const uint8_t *p, size_t n) { return (uint32_t)crc32(c, p, (uInt)n); }

/* Recomputes the header, chunk, index and trailer CRCs wherever the layout
 * (docs/trace-format.md) can be followed. */
static void fix_crcs(uint8_t *d, size_t size) {
  if (size < 60) return;
  size_t header_len = rd32(d + 12);
  if (header_len >= 60 && header_len <= size)
    wr32(d + header_len - 4, crc(0, d, header_len - 4));
  size_t pos = header_len;
  for (int i = 0; i < 1000 && header_len >= 60 && pos <= size && size - pos >= 48; i++) {
    if (memcmp(d + pos, "MTCK", 4) != 0) break;
    size_t payload = rd32(d + pos + 24);
    if (payload > size - pos - 48) break;
    wr32(d + pos + 44, crc(crc(0, d + pos, 44), d + pos + 48, payload));
    pos += 48 + payload;
  }
  uint8_t *t = d + size - 48;
  uint64_t index_offset = rd64(t), chunks = rd64(t + 8);
  if (index_offset <= size - 48 && chunks <= (size - 48 - index_offset) / 24)
    wr32(t + 32, crc(0, d + index_offset, (size_t)chunks * 24));
  wr32(t + 36, crc(0, t, 36));
}

static void run(uint8_t *data, size_t size) {
  FILE *f = fmemopen(data, size, "rb");
  if (!f) return;
  wl_source *src = NULL;
  if (wl__bin_open("fuzz.mtr", f, &src) != 0) return;
  const wl_meta *m = wl_source_meta(src);
  wl_event buf[101];
  uint64_t prev = 0, first = UINT64_MAX;
  long n;
  long long total = 0;
  while ((n = wl_source_read(src, buf, sizeof buf / sizeof buf[0])) > 0) {
    for (long i = 0; i < n; i++) {
      if (buf[i].time_ns < prev || buf[i].pfn >= m->pages || buf[i].op > WL_OP_READ) abort();
      prev = buf[i].time_ns;
      if (first == UINT64_MAX) first = prev;
    }
    total += n;
  }
  /* Seek (by the index) must land on an event >= the target, or at the end. */
  if (n == 0 && total > 0) {
    uint64_t target = first + (prev - first) / 2;
    if (wl_source_seek(src, target) == 0) {
      n = wl_source_read(src, buf, 1);
      if (n < 0 || (n == 1 && buf[0].time_ns < target)) abort();
    }
  }
  wl_source_close(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t *copy = malloc(size);
  if (!copy) return 0;
  memcpy(copy, data, size);
  run(copy, size);
  if (size >= WL_BIN_MAGIC_LEN && memcmp(data, WL_BIN_MAGIC, WL_BIN_MAGIC_LEN) == 0) {
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    run(copy, size);
  }
  free(copy);
  return 0;
}
