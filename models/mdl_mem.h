/* mdl_mem: guest memory state as word bitmaps.
 *
 * Three bits per guest page: `dirty` (the migration bitmap: still to send),
 * `log` (the hypervisor's dirty log: written since the log was last
 * cleared) and `nonzero` (page content is non-zero; zero pages are cheap on
 * the wire). The three words covering the same 64 pages sit side by side
 * (one mdl_word), so a guest write that sets `log` and `nonzero` touches
 * one cache line: on a large guest with scattered writes that halves the
 * cache misses of the hottest path. Everything is scanned a word at a time. */
#ifndef MDL_MEM_H
#define MDL_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t dirty;
  uint64_t log;
  uint64_t nonzero;
} mdl_word;

typedef struct {
  uint64_t pages;
  uint64_t words;
  mdl_word *w;
  uint64_t dirty_count; /* popcount of every dirty word, kept incrementally */
  size_t mapped_bytes;  /* > 0 when w is an mmap (huge pages), else malloc */
} mdl_mem;

/* Allocates the zeroed words for `pages` pages. 0 or SIM_ENOMEM. */
int mdl_mem_init(mdl_mem *m, uint64_t pages);
void mdl_mem_free(mdl_mem *m);

/* The word holding page p, and p's bit in it. */
static inline mdl_word *mdl_word_of(const mdl_mem *m, uint64_t p) { return &m->w[p >> 6]; }
static inline uint64_t mdl_mask(uint64_t p) { return 1ull << (p & 63); }

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
