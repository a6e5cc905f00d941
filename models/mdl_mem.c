/* mdl_mem: word-bitmap guest memory. */
#include "mdl_mem.h"

#include <stdlib.h>
#include <string.h>

#include "sim_err.h"

int mdl_mem_init(mdl_mem *m, uint64_t pages) {
  memset(m, 0, sizeof *m);
  m->pages = pages;
  m->words = (pages + 63) / 64;
  m->dirty = calloc(m->words, sizeof(uint64_t));
  m->log = calloc(m->words, sizeof(uint64_t));
  m->nonzero = calloc(m->words, sizeof(uint64_t));
  if (!m->dirty || !m->log || !m->nonzero) {
    mdl_mem_free(m);
    return sim_errorf(SIM_ENOMEM, "out of memory for the bitmaps of %llu pages",
                      (unsigned long long)pages);
  }
  return 0;
}

void mdl_mem_free(mdl_mem *m) {
  free(m->dirty);
  free(m->log);
  free(m->nonzero);
  m->dirty = m->log = m->nonzero = NULL;
}

void mdl_bits_set_range(uint64_t *bm, uint64_t first, uint64_t last) {
  uint64_t w0 = first >> 6, w1 = last >> 6;
  uint64_t head = ~0ull << (first & 63), tail = ~0ull >> (63 - (last & 63));
  if (w0 == w1) {
    bm[w0] |= head & tail;
    return;
  }
  bm[w0] |= head;
  for (uint64_t w = w0 + 1; w < w1; w++) bm[w] = ~0ull;
  bm[w1] |= tail;
}

void mdl_mem_mark_all_dirty(mdl_mem *m) {
  if (m->pages == 0) return;
  memset(m->dirty, 0, m->words * sizeof(uint64_t));
  mdl_bits_set_range(m->dirty, 0, m->pages - 1);
  m->dirty_count = m->pages;
}

uint64_t mdl_mem_sync(mdl_mem *m, uint64_t w0, uint64_t w1, int clear_log) {
  uint64_t added = 0;
  for (uint64_t w = w0; w < w1; w++) {
    uint64_t l = m->log[w];
    if (!l) continue;
    uint64_t fresh = l & ~m->dirty[w];
    added += (uint64_t)__builtin_popcountll(fresh);
    m->dirty[w] |= l;
    if (clear_log) m->log[w] = 0;
  }
  m->dirty_count += added;
  return added;
}

uint64_t mdl_mem_next_dirty(const mdl_mem *m, uint64_t from) {
  if (m->dirty_count == 0) return UINT64_MAX;
  if (from >= m->pages) from = 0;
  uint64_t w = from >> 6;
  uint64_t bits = m->dirty[w] & (~0ull << (from & 63));
  for (uint64_t scanned = 0; scanned <= m->words; scanned++) {
    if (bits) return (w << 6) + (uint64_t)__builtin_ctzll(bits);
    if (++w == m->words) w = 0;
    bits = m->dirty[w];
  }
  return UINT64_MAX; /* defensive: dirty_count said otherwise */
}

uint64_t mdl_mem_dirty_runs(const mdl_mem *m) {
  uint64_t runs = 0, carry = 0;
  for (uint64_t w = 0; w < m->words; w++) {
    uint64_t d = m->dirty[w];
    /* A run starts at each set bit whose lower neighbour is clear. */
    uint64_t starts = d & ~((d << 1) | carry);
    runs += (uint64_t)__builtin_popcountll(starts);
    carry = d >> 63;
  }
  return runs;
}
