/* wl_stats: streaming statistics of a dirty-page trace, in one pass.
 *
 * What it computes (column meanings are in docs/trace-stats.md):
 *   - a summary (wl_stats_info): events, writes, reads, distinct pages
 *     written and read, mean dirty rate, on-disk bytes per event;
 *   - the dirty rate over time, one wl_stats_bin per fixed-width time bin,
 *     handed to a callback as soon as the bin is complete (never stored, so
 *     a long trace with small bins costs no memory);
 *   - the working-set curve: for window lengths w = w0, 2·w0, 4·w0, ... up
 *     to the trace duration (and the duration itself), the mean and maximum
 *     number of distinct pages written in tumbling windows of length w, and
 *     the number written in [0, w) from the start (what QEMU's
 *     calc-dirty-rate reports for a measurement of length w);
 *   - the page write-frequency histogram: how many pages were written
 *     0, 1, 2-3, 4-7, ... times, and the share of all writes they took.
 *
 * Memory is bounded by the guest size, never by the number of events:
 *   always               2 bits/page  (written and read bitmaps)
 *   WL_STATS_DIRTY_RATE  2 bits/page  (per-bin bitmap + its touched-word list)
 *   WL_STATS_WORKING_SET 4 bytes/page (last-write stamp, see below)
 *   WL_STATS_HISTOGRAM   4 bytes/page (saturating write counter)
 * i.e. about 8.5 bytes per page with everything on (2.2 MiB for a 1 GiB
 * guest of 4 KiB pages), 0.25 bytes per page for the summary alone.
 * wl_stats_memory_bytes() reports the exact figure.
 *
 * Time conventions (D = the trace duration, see wl_stats_info):
 *   - bins are [i·bin, (i+1)·bin) clipped to D; the last bin also holds
 *     events at exactly t = D. If that last bin would have zero length
 *     (events sit exactly on D and D is a multiple of bin, or D = 0) it is
 *     reported with the full bin width instead, so rates stay finite.
 *   - tumbling windows are [i·w, (i+1)·w); only complete windows (end <= D)
 *     count towards the mean and the maximum, so a trailing partial window
 *     does not drag the mean down.
 *   - "from start" counts writes with t < w, i.e. it is the first tumbling
 *     window's count; the last point (w = D, the whole trace) counts every
 *     write, including those at exactly t = D.
 *
 * The accumulator is not thread-safe; use one per thread. */
#ifndef WL_STATS_H
#define WL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "wl_trace.h"

#define WL_STATS_DEFAULT_BIN_NS 1000000000ull      /* 1 s */
#define WL_STATS_DEFAULT_MIN_WINDOW_NS 10000000ull /* 10 ms */

/* Which optional outputs to compute (the summary is always computed). */
enum {
  WL_STATS_DIRTY_RATE = 1u << 0,
  WL_STATS_WORKING_SET = 1u << 1,
  WL_STATS_HISTOGRAM = 1u << 2,
  WL_STATS_ALL = WL_STATS_DIRTY_RATE | WL_STATS_WORKING_SET | WL_STATS_HISTOGRAM
};

/* One dirty-rate bin. Rates are per second of the bin's own length. */
typedef struct {
  uint64_t index;      /* 0, 1, 2, ... */
  uint64_t t_start_ns; /* = index * bin_ns */
  uint64_t t_end_ns;   /* t_start_ns + bin_ns, or D for the last bin */
  uint64_t writes;
  uint64_t reads;
  uint64_t distinct_pages_written;
  double write_rate_pages_per_s;
  double write_rate_mib_per_s;
} wl_stats_bin;

/* Receives each completed bin, in time order, including empty ones. A
 * non-zero return stops the pass and is returned by wl_stats_add() or
 * wl_stats_finish() (return a negative sim_err code). */
typedef int (*wl_stats_bin_fn)(void *ctx, const wl_stats_bin *bin);

typedef struct {
  unsigned what;             /* WL_STATS_* flags; 0 = summary only */
  uint64_t bin_ns;           /* dirty-rate bin width; 0 = 1 s */
  uint64_t min_window_ns;    /* shortest working-set window; 0 = 10 ms */
  wl_stats_bin_fn on_bin;    /* needed with WL_STATS_DIRTY_RATE */
  void *on_bin_ctx;
} wl_stats_opts;

/* The summary. Rates are 0 when the duration is 0. */
typedef struct {
  uint64_t pages;
  uint32_t page_size;
  /* D: max(metadata duration_ns, time of the last event). A trace without
   * duration_ns therefore ends at its last event. */
  uint64_t duration_ns;
  int duration_from_meta; /* 1 when duration_ns came from the metadata */
  uint64_t events;
  uint64_t writes;
  uint64_t reads;
  uint64_t first_event_ns; /* 0 when there are no events */
  uint64_t last_event_ns;
  uint64_t distinct_pages_written;
  uint64_t distinct_pages_read;
  uint64_t nonzero_pages; /* non-zero at time 0 (wl_meta_nonzero_pages) */
  double write_rate_pages_per_s;  /* writes / D */
  double write_rate_mib_per_s;    /* the same in MiB/s of page data */
  double distinct_pages_per_s;    /* distinct_pages_written / D */
  uint64_t disk_bytes;            /* 0 for generators */
  double disk_bytes_per_event;    /* disk_bytes / events; 0 when unknown */
} wl_stats_info;

/* One point of the working-set curve. */
typedef struct {
  uint64_t window_ns;
  uint64_t windows;              /* complete tumbling windows in [0, D] */
  double mean_distinct_pages;    /* mean over those windows */
  uint64_t max_distinct_pages;   /* max over those windows */
  uint64_t from_start_distinct_pages; /* written at t in [0, window_ns) */
} wl_stats_ws_point;

/* One histogram bucket: pages written between min_writes and max_writes
 * times (inclusive). Bucket 0 is [0, 0] (never written), then [1, 1],
 * [2, 3], [4, 7], ... up to [2^31, 2^32-1]; per-page counters saturate at
 * 2^32-1, so a page written more often than that lands in the last bucket
 * and its excess writes are not counted in `writes`. */
typedef struct {
  uint64_t min_writes;
  uint64_t max_writes;
  uint64_t pages;
  uint64_t writes;        /* sum of the (saturated) counts of these pages */
  double share_of_writes; /* writes / sum over all buckets; 0 if none */
} wl_stats_hist_bucket;

typedef struct wl_stats wl_stats;

/* Allocates an accumulator for a trace with metadata `meta` (copied as
 * needed: meta need not outlive it). opts may be NULL (summary only).
 * Cost: the per-page arrays listed above, zero-filled (calloc, so untouched
 * pages of a huge guest cost no RSS until written).
 * Returns 0 and *out, or SIM_EINVAL (bad options, e.g. DIRTY_RATE without
 * on_bin), SIM_ERANGE (guest too large to index) or SIM_ENOMEM. */
int wl_stats_new(const wl_meta *meta, const wl_stats_opts *opts,
                 wl_stats **out);

/* Adds events in time order. O(1) per event for the summary, bins and
 * histogram; the working set adds O(number of window lengths in which the
 * page is first written), amortised small. Returns 0, SIM_EORDER (time
 * went backwards), SIM_ERANGE (pfn >= pages, or a trace longer than
 * 2^32-2 minimum windows), or the callback's code. After an error the
 * accumulator must only be freed. */
int wl_stats_add(wl_stats *st, const wl_event *events, size_t n);

/* Ends the pass: emits the remaining bins up to D and computes the curve and
 * the histogram (O(pages) for the histogram). `disk_bytes` is the source's
 * size on disk (0 for generators). Returns 0 or the callback's code. Call
 * once; afterwards only the getters and wl_stats_free() are allowed. */
int wl_stats_finish(wl_stats *st, uint64_t disk_bytes);

/* Results, valid after a successful wl_stats_finish() until wl_stats_free().
 */
const wl_stats_info *wl_stats_get_info(const wl_stats *st);
/* The working-set curve, shortest window first; *count may be 0 (no
 * WL_STATS_WORKING_SET, or D shorter than the minimum window). */
const wl_stats_ws_point *wl_stats_get_working_set(const wl_stats *st,
                                                  size_t *count);
/* Histogram buckets from [0,0] up to the highest non-empty one (empty ones
 * in between included); *count is 0 without WL_STATS_HISTOGRAM. */
const wl_stats_hist_bucket *wl_stats_get_histogram(const wl_stats *st,
                                                   size_t *count);

/* Bytes the accumulator holds (per-page arrays and tables). */
size_t wl_stats_memory_bytes(const wl_stats *st);

/* NULL is a no-op. */
void wl_stats_free(wl_stats *st);

/* Convenience: one pass over `src` from its current position to its end
 * (new + add in batches of 4096 events + finish). On success *out holds the
 * finished accumulator (free it with wl_stats_free); on failure nothing is
 * allocated and the source's error code (or the callback's) is returned.
 * An endless generator never ends: open generators with a duration. */
int wl_stats_run(wl_source *src, const wl_stats_opts *opts, wl_stats **out);

#endif
