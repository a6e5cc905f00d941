/* mdl_mem: guest memory state as word bitmaps.
 *
 * Three bits per guest page: `dirty` (the migration bitmap: still to send),
 * `log` (the hypervisor's dirty log: written since the log was last
 * cleared) and `nonzero` (page content is non-zero; zero pages are cheap on
 * the wire). A guest write sets `log` and `nonzero` of one page, so those
 * two words of each 64 pages sit side by side in one 16-byte, 16-aligned
 * pair (one cache line per write, never two): on a large guest with
 * scattered writes that is the hottest path. `dirty` is a plain array, read
 * sequentially by the sender. Everything is scanned a word at a time. */
#ifndef MDL_MEM_H
#define MDL_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t log;
  uint64_t nonzero;
} mdl_lognz;

typedef struct {
  uint64_t pages;
  uint64_t words;
  uint64_t *dirty;      /* words entries */
  mdl_lognz *lz;        /* words entries */
  uint64_t dirty_count; /* popcount of every dirty word, kept incrementally */
  void *mapping;        /* one allocation holding both arrays */
  size_t mapped_bytes;  /* > 0 when it is an mmap (huge pages), else malloc */
} mdl_mem;

/* Bytes mdl_mem_init allocates for `pages` (before rounding a large
 * mapping up to huge pages). O(1). */
uint64_t mdl_mem_bytes(uint64_t pages);

/* Allocates the zeroed bitmaps for `pages` pages. 0 or SIM_ENOMEM. */
int mdl_mem_init(mdl_mem *m, uint64_t pages);
void mdl_mem_free(mdl_mem *m);

/* Page p's bit in its word, and its word index. */
static inline uint64_t mdl_mask(uint64_t p) { return 1ull << (p & 63); }
static inline int mdl_is_dirty(const mdl_mem *m, uint64_t p) { return (m->dirty[p >> 6] & mdl_mask(p)) != 0; }
static inline int mdl_is_nonzero(const mdl_mem *m, uint64_t p) { return (m->lz[p >> 6].nonzero & mdl_mask(p)) != 0; }
static inline int mdl_is_logged(const mdl_mem *m, uint64_t p) { return (m->lz[p >> 6].log & mdl_mask(p)) != 0; }

/* Marks pages [first, last] non-zero. O(range / 64). */
void mdl_mem_set_nonzero(mdl_mem *m, uint64_t first, uint64_t last);

/* Marks every page dirty (the setup sync). */
void mdl_mem_mark_all_dirty(mdl_mem *m);

/* dirty |= log over words [w0, w1); returns pages newly made dirty. When
 * clear_log, the log words are zeroed as they are read. */
uint64_t mdl_mem_sync(mdl_mem *m, uint64_t w0, uint64_t w1, int clear_log);

/* Zeroes the log of words [w0, w1). */
void mdl_mem_clear_log(mdl_mem *m, uint64_t w0, uint64_t w1);

/* First dirty page at or after `from`, wrapping once past the end;
 * UINT64_MAX when no page is dirty. Word scan. */
uint64_t mdl_mem_next_dirty(const mdl_mem *m, uint64_t from);

/* Pages whose log bit is set, and pages dirty or logged. O(words). */
uint64_t mdl_mem_count_log(const mdl_mem *m);
uint64_t mdl_mem_count_dirty_or_log(const mdl_mem *m);

/* Number of maximal runs of consecutive dirty pages. O(words). */
uint64_t mdl_mem_dirty_runs(const mdl_mem *m);

#endif
