/* mdl_mem: guest memory state as word bitmaps.
 *
 * Three bits per guest page: `dirty` (the migration bitmap: still to send),
 * `log` (the hypervisor's dirty log: written since the log was last
 * cleared) and `nonzero` (page content is non-zero; zero pages are cheap on
 * the wire). Everything is scanned a 64-bit word at a time. */
#ifndef MDL_MEM_H
#define MDL_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t pages;
  uint64_t words;
  uint64_t *dirty;
  uint64_t *log;
  uint64_t *nonzero;
  uint64_t dirty_count; /* popcount of dirty, maintained incrementally */
} mdl_mem;

/* Allocates three zeroed bitmaps of `pages` bits. 0 or SIM_ENOMEM. */
int mdl_mem_init(mdl_mem *m, uint64_t pages);
void mdl_mem_free(mdl_mem *m);

static inline int mdl_bit_test(const uint64_t *bm, uint64_t p) {
  return (int)((bm[p >> 6] >> (p & 63)) & 1u);
}
static inline void mdl_bit_set(uint64_t *bm, uint64_t p) { bm[p >> 6] |= 1ull << (p & 63); }
static inline void mdl_bit_clear(uint64_t *bm, uint64_t p) { bm[p >> 6] &= ~(1ull << (p & 63)); }

/* Sets bits [first, last] of bm. O(range / 64). */
void mdl_bits_set_range(uint64_t *bm, uint64_t first, uint64_t last);

/* Marks every page dirty (the setup sync). */
void mdl_mem_mark_all_dirty(mdl_mem *m);

/* dirty |= log over words [w0, w1); returns pages newly made dirty. When
 * clear_log, the log words are zeroed as they are read. */
uint64_t mdl_mem_sync(mdl_mem *m, uint64_t w0, uint64_t w1, int clear_log);

/* First dirty page at or after `from`, wrapping once past the end;
 * UINT64_MAX when no page is dirty. Word scan. */
uint64_t mdl_mem_next_dirty(const mdl_mem *m, uint64_t from);

/* Number of maximal runs of consecutive dirty pages. O(words). */
uint64_t mdl_mem_dirty_runs(const mdl_mem *m);

#endif
