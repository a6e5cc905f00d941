/* mdl_mem: word-bitmap guest memory. */
#include "mdl_mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim_err.h"

/* Large state goes in its own mapping with transparent huge pages: scattered
 * guest writes on a big guest otherwise miss the TLB on nearly every
 * access (96 MiB of state for 1 TiB is 24576 small pages). */
#define MDL__HUGE (2u << 20)

uint64_t mdl_mem_bytes(uint64_t pages) {
  uint64_t words = (pages + 63) / 64;
  return (words * sizeof(uint64_t) + 63) / 64 * 64 + words * sizeof(mdl_lognz);
}

int mdl_mem_init(mdl_mem *m, uint64_t pages) {
  memset(m, 0, sizeof *m);
  m->pages = pages;
  m->words = (pages + 63) / 64;
  size_t words = m->words ? (size_t)m->words : 1;
  /* dirty first, then the pairs at a 64-byte boundary. */
  size_t dirty_bytes = (words * sizeof(uint64_t) + 63) / 64 * 64;
  size_t bytes = dirty_bytes + words * sizeof(mdl_lognz);
  void *base = NULL;
  if (bytes >= MDL__HUGE) {
    size_t mapped = (bytes + MDL__HUGE - 1) / MDL__HUGE * MDL__HUGE;
    void *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      madvise(p, mapped, MADV_HUGEPAGE); /* advice only: fine if refused */
      base = p;                          /* zero-filled by the kernel */
      m->mapped_bytes = mapped;
    }
  }
  if (!base && posix_memalign(&base, 64, bytes) == 0) memset(base, 0, bytes);
  if (!base)
    return sim_errorf(SIM_ENOMEM, "out of memory for the bitmaps of %llu pages",
                      (unsigned long long)pages);
  m->mapping = base;
  m->dirty = base;
  m->lz = (mdl_lognz *)(void *)((char *)base + dirty_bytes);
  return 0;
}

void mdl_mem_free(mdl_mem *m) {
  if (m->mapped_bytes)
    munmap(m->mapping, m->mapped_bytes);
  else
    free(m->mapping);
  memset(m, 0, sizeof *m);
}

/* Mask of bits [lo, hi] within one word (0 <= lo <= hi <= 63). */
static uint64_t mdl__span(uint64_t lo, uint64_t hi) {
  return (~0ull << lo) & (~0ull >> (63 - hi));
}

void mdl_mem_set_nonzero(mdl_mem *m, uint64_t first, uint64_t last) {
  uint64_t w0 = first >> 6, w1 = last >> 6;
  for (uint64_t w = w0; w <= w1; w++)
    m->lz[w].nonzero |= mdl__span(w == w0 ? first & 63 : 0, w == w1 ? last & 63 : 63);
}

void mdl_mem_mark_all_dirty(mdl_mem *m) {
  if (m->pages == 0) return;
  for (uint64_t w = 0; w < m->words; w++) m->dirty[w] = ~0ull;
  if (m->pages & 63) m->dirty[m->words - 1] = mdl__span(0, (m->pages - 1) & 63);
  m->dirty_count = m->pages;
}

uint64_t mdl_mem_sync(mdl_mem *m, uint64_t w0, uint64_t w1, int clear_log) {
  uint64_t added = 0;
  for (uint64_t w = w0; w < w1; w++) {
    uint64_t l = m->lz[w].log;
    if (!l) continue;
    added += (uint64_t)__builtin_popcountll(l & ~m->dirty[w]);
    m->dirty[w] |= l;
    if (clear_log) m->lz[w].log = 0;
  }
  m->dirty_count += added;
  return added;
}

void mdl_mem_clear_log(mdl_mem *m, uint64_t w0, uint64_t w1) {
  for (uint64_t w = w0; w < w1; w++) m->lz[w].log = 0;
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

uint64_t mdl_mem_count_log(const mdl_mem *m) {
  uint64_t n = 0;
  for (uint64_t w = 0; w < m->words; w++) n += (uint64_t)__builtin_popcountll(m->lz[w].log);
  return n;
}

uint64_t mdl_mem_count_dirty_or_log(const mdl_mem *m) {
  uint64_t n = 0;
  for (uint64_t w = 0; w < m->words; w++)
    n += (uint64_t)__builtin_popcountll(m->dirty[w] | m->lz[w].log);
  return n;
}

uint64_t mdl_mem_dirty_runs(const mdl_mem *m) {
  uint64_t runs = 0, carry = 0;
  for (uint64_t w = 0; w < m->words; w++) {
    uint64_t d = m->dirty[w];
    /* A run starts at each set bit whose lower neighbour is clear. */
    runs += (uint64_t)__builtin_popcountll(d & ~((d << 1) | carry));
    carry = d >> 63;
  }
  return runs;
}
