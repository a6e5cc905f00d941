/* wl_stats: one-pass trace statistics (see wl_stats.h for the contract).
 *
 * The working-set curve uses a single stamp per page for every window
 * length: stamp[p] = (quantum of p's last write) + 1, 0 = never written,
 * where a quantum is the shortest window w0. Window lengths are w0·2^k, so
 * every window boundary is a quantum boundary and the windows nest: the
 * current window of level k starts at or before that of level k-1. A write
 * to p is the first in the current level-k window exactly when p's previous
 * write came before that window's start; because the starts only move
 * earlier as k grows, the levels in which the write is new form a prefix
 * 0..j-1, and the inner loop stops at the first level where it is not new.
 * One 4-byte stamp per page thus serves all (up to 33) window lengths,
 * instead of one "last window id" array per length. */
#include "wl_stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"

/* Levels k = 0..32 cover every window a uint32 stamp can tell apart. */
#define WL__WS_MAX_LEVELS 33
/* Bucket 0 is "never written", bucket b >= 1 holds counts in
 * [2^(b-1), 2^b - 1]; a uint32 counter needs buckets up to 32. */
#define WL__HIST_BUCKETS 33
/* A guard against traces whose timestamps would make the dirty-rate output
 * absurdly long (a corrupt timestamp far in the future, or a tiny --bin). */
#define WL__MAX_BINS 100000000ull
#define WL__BATCH 4096

typedef struct {
  uint64_t start_q;  /* first quantum of the current window */
  uint64_t count;    /* distinct pages written in the current window */
  uint64_t sum;      /* over complete windows closed so far */
  uint64_t max;
} wl__ws_level;

struct wl_stats {
  unsigned what;
  uint64_t pages;
  uint32_t page_size;
  uint64_t meta_duration_ns;
  int meta_has_duration;
  uint64_t nonzero_pages;
  size_t words; /* 64-bit words per page bitmap */

  /* Summary. */
  uint64_t events, writes, reads;
  uint64_t first_ns, last_ns;
  uint64_t *written_bits;
  uint64_t *read_bits;

  /* Dirty-rate bins. The per-bin bitmap is cleared through the list of words
   * that became non-zero in the bin, so closing a bin costs O(words
   * touched), not O(pages). */
  uint64_t bin_ns;
  wl_stats_bin_fn on_bin;
  void *on_bin_ctx;
  uint64_t *bin_bits;
  size_t *bin_touched;
  size_t bin_touched_count;
  uint64_t bin_index;
  uint64_t bin_end_ns;
  uint64_t bin_writes, bin_reads, bin_distinct;

  /* Working set. */
  uint64_t w0;
  unsigned levels;
  uint32_t *stamp;
  uint64_t cur_q;    /* quantum of the latest event */
  uint64_t q_end_ns; /* end of that quantum (saturating) */
  wl__ws_level lv[WL__WS_MAX_LEVELS];
  uint64_t distinct_so_far;
  unsigned fs_next;     /* next level whose from-start value is pending */
  uint64_t fs_next_ns;  /* its window length (UINT64_MAX when none) */
  uint64_t from_start[WL__WS_MAX_LEVELS];

  /* Histogram. */
  uint32_t *writes_per_page;

  /* Results. */
  int finished;
  wl_stats_info info;
  wl_stats_ws_point ws[WL__WS_MAX_LEVELS + 1];
  size_t ws_count;
  wl_stats_hist_bucket hist[WL__HIST_BUCKETS];
  size_t hist_count;
};

static void *wl__calloc_array(size_t count, size_t size) {
  if (count == 0) count = 1;
  return calloc(count, size);
}

static int wl__too_many_bins(const wl_stats *st, uint64_t t);

int wl_stats_new(const wl_meta *meta, const wl_stats_opts *opts,
                 wl_stats **out) {
  static const wl_stats_opts defaults = {0, 0, 0, NULL, NULL};
  if (!opts) opts = &defaults;
  if (opts->what & ~(unsigned)WL_STATS_ALL)
    return sim_errorf(SIM_EINVAL, "trace statistics: unknown output flags 0x%x",
                      opts->what);
  if ((opts->what & WL_STATS_DIRTY_RATE) && !opts->on_bin)
    return sim_errorf(SIM_EINVAL, "trace statistics: the dirty rate needs a bin callback");
  if (meta->pages == 0 || meta->pages > WL_MAX_PAGES)
    return sim_errorf(SIM_ERANGE, "trace statistics: pages=%" PRIu64 " is outside 1..%llu",
                      meta->pages, (unsigned long long)WL_MAX_PAGES);

  wl_stats *st = calloc(1, sizeof *st);
  if (!st) return sim_errorf(SIM_ENOMEM, "out of memory for trace statistics");
  st->what = opts->what;
  st->pages = meta->pages;
  st->page_size = meta->page_size ? meta->page_size : WL_DEFAULT_PAGE_SIZE;
  st->meta_duration_ns = meta->duration_ns;
  st->meta_has_duration = meta->duration_ns > 0;
  st->nonzero_pages = wl_meta_nonzero_pages(meta);
  st->words = (size_t)((meta->pages + 63) / 64);
  st->bin_ns = opts->bin_ns ? opts->bin_ns : WL_STATS_DEFAULT_BIN_NS;
  /* A span the bins cannot cover is refused now, not after reading the
   * whole trace. */
  if ((opts->what & WL_STATS_DIRTY_RATE) && meta->duration_ns / st->bin_ns >= WL__MAX_BINS) {
    int rc = wl__too_many_bins(st, meta->duration_ns);
    free(st);
    return rc;
  }
  st->bin_end_ns = st->bin_ns;
  st->on_bin = opts->on_bin;
  st->on_bin_ctx = opts->on_bin_ctx;
  st->w0 = opts->min_window_ns ? opts->min_window_ns : WL_STATS_DEFAULT_MIN_WINDOW_NS;

  st->written_bits = wl__calloc_array(st->words, sizeof *st->written_bits);
  st->read_bits = wl__calloc_array(st->words, sizeof *st->read_bits);
  if (!st->written_bits || !st->read_bits) goto nomem;
  if (st->what & WL_STATS_DIRTY_RATE) {
    st->bin_bits = wl__calloc_array(st->words, sizeof *st->bin_bits);
    st->bin_touched = wl__calloc_array(st->words, sizeof *st->bin_touched);
    if (!st->bin_bits || !st->bin_touched) goto nomem;
  }
  if (st->what & WL_STATS_WORKING_SET) {
    st->stamp = wl__calloc_array((size_t)st->pages, sizeof *st->stamp);
    if (!st->stamp) goto nomem;
    /* Keep w0·2^k representable with room for one more window. */
    unsigned levels = 0;
    while (levels < WL__WS_MAX_LEVELS && st->w0 <= (UINT64_MAX / 4) >> levels) levels++;
    if (levels == 0)
      goto toolong;
    st->levels = levels;
    st->q_end_ns = st->w0;
    st->fs_next_ns = st->w0;
  }
  if (st->what & WL_STATS_HISTOGRAM) {
    st->writes_per_page = wl__calloc_array((size_t)st->pages, sizeof *st->writes_per_page);
    if (!st->writes_per_page) goto nomem;
  }
  *out = st;
  return 0;
nomem:
  wl_stats_free(st);
  return sim_errorf(SIM_ENOMEM, "out of memory for trace statistics of %" PRIu64 " pages",
                    meta->pages);
toolong:
  wl_stats_free(st);
  return sim_errorf(SIM_ERANGE, "trace statistics: minimum window %" PRIu64 " ns is too long",
                    opts->min_window_ns);
}

void wl_stats_free(wl_stats *st) {
  if (!st) return;
  free(st->written_bits);
  free(st->read_bits);
  free(st->bin_bits);
  free(st->bin_touched);
  free(st->stamp);
  free(st->writes_per_page);
  free(st);
}

size_t wl_stats_memory_bytes(const wl_stats *st) {
  size_t bytes = sizeof *st + 2 * st->words * sizeof(uint64_t);
  if (st->bin_bits) bytes += st->words * (sizeof(uint64_t) + sizeof(size_t));
  if (st->stamp) bytes += (size_t)st->pages * sizeof(uint32_t);
  if (st->writes_per_page) bytes += (size_t)st->pages * sizeof(uint32_t);
  return bytes;
}

/* ----------------------------------------------------------------- bins */

static double wl__per_s(uint64_t count, uint64_t ns) {
  return ns ? (double)count * 1e9 / (double)ns : 0.0;
}

static double wl__mib_per_s(double pages_per_s, uint32_t page_size) {
  return pages_per_s * (double)page_size / 1048576.0;
}

static int wl__too_many_bins(const wl_stats *st, uint64_t t) {
  return sim_errorf(SIM_ERANGE,
                    "trace statistics: time %" PRIu64 " ns needs more than %llu dirty-rate bins of %" PRIu64
                    " ns (a corrupt timestamp, or choose a wider bin)",
                    t, (unsigned long long)WL__MAX_BINS, st->bin_ns);
}

/* Hands the open bin, ending at end_ns, to the callback and starts the next
 * one. Clears only the bitmap words the bin touched. */
static int wl__bin_emit(wl_stats *st, uint64_t end_ns) {
  wl_stats_bin bin;
  bin.index = st->bin_index;
  bin.t_start_ns = st->bin_index * st->bin_ns;
  bin.t_end_ns = end_ns;
  bin.writes = st->bin_writes;
  bin.reads = st->bin_reads;
  bin.distinct_pages_written = st->bin_distinct;
  bin.write_rate_pages_per_s = wl__per_s(bin.writes, end_ns - bin.t_start_ns);
  bin.write_rate_mib_per_s = wl__mib_per_s(bin.write_rate_pages_per_s, st->page_size);
  for (size_t i = 0; i < st->bin_touched_count; i++) st->bin_bits[st->bin_touched[i]] = 0;
  st->bin_touched_count = 0;
  st->bin_writes = st->bin_reads = st->bin_distinct = 0;
  st->bin_index++;
  /* Callers keep bin_index below WL__MAX_BINS, so this only overflows for
   * absurd bin widths; saturate so that wl__bin_advance still ends. */
  st->bin_end_ns = st->bin_end_ns > UINT64_MAX - st->bin_ns ? UINT64_MAX
                                                              : st->bin_end_ns + st->bin_ns;
  return st->on_bin(st->on_bin_ctx, &bin);
}

/* Closes every bin that ends at or before t (all complete: t <= D). Checks
 * the bin count first, so a corrupt timestamp fails at once instead of
 * after emitting millions of empty bins. */
static int wl__bin_advance(wl_stats *st, uint64_t t) {
  if (t / st->bin_ns >= WL__MAX_BINS) return wl__too_many_bins(st, t);
  while (t >= st->bin_end_ns && st->bin_end_ns != UINT64_MAX) {
    int rc = wl__bin_emit(st, st->bin_end_ns);
    if (rc) return rc;
  }
  return 0;
}

/* ---------------------------------------------------------- working set */

/* Moves to the quantum holding t: closes, level by level, the windows that
 * ended. Nesting means that once a level's window is unchanged, every longer
 * one is too. Called once per quantum change, O(levels) at most. */
static int wl__ws_advance(wl_stats *st, uint64_t t) {
  uint64_t q = t / st->w0;
  if (q > (uint64_t)UINT32_MAX - 1)
    return sim_errorf(SIM_ERANGE,
                      "trace statistics: event at %" PRIu64
                      " ns is more than 2^32-1 minimum windows of %" PRIu64
                      " ns from the start (choose a longer minimum window)",
                      t, st->w0);
  st->cur_q = q;
  st->q_end_ns = q + 1 > UINT64_MAX / st->w0 ? UINT64_MAX : (q + 1) * st->w0;
  for (unsigned k = 0; k < st->levels; k++) {
    wl__ws_level *lv = &st->lv[k];
    uint64_t start = (q >> k) << k;
    if (start == lv->start_q) break;
    lv->sum += lv->count;
    if (lv->count > lv->max) lv->max = lv->count;
    lv->count = 0;
    lv->start_q = start;
  }
  return 0;
}

/* Records the from-start values of every level whose window [0, w) ends
 * at or before t. */
static void wl__ws_from_start(wl_stats *st, uint64_t t) {
  while (st->fs_next < st->levels && t >= st->fs_next_ns) {
    st->from_start[st->fs_next++] = st->distinct_so_far;
    st->fs_next_ns = st->fs_next < st->levels ? st->w0 << st->fs_next : UINT64_MAX;
  }
  if (st->fs_next >= st->levels) st->fs_next_ns = UINT64_MAX;
}

/* ------------------------------------------------------------ the pass */

int wl_stats_add(wl_stats *st, const wl_event *events, size_t n) {
  const unsigned what = st->what;
  for (size_t i = 0; i < n; i++) {
    const uint64_t t = events[i].time_ns, pfn = events[i].pfn;
    if (t < st->last_ns)
      return sim_errorf(SIM_EORDER,
                        "event %" PRIu64 ": time %" PRIu64 " ns is before the previous event's %" PRIu64 " ns",
                        st->events + 1, t, st->last_ns);
    if (pfn >= st->pages)
      return sim_errorf(SIM_ERANGE, "event %" PRIu64 ": page %" PRIu64 " is outside pages=%" PRIu64,
                        st->events + 1, pfn, st->pages);
    if (events[i].op != WL_OP_WRITE && events[i].op != WL_OP_READ)
      return sim_errorf(SIM_EFORMAT, "event %" PRIu64 ": unknown op %u", st->events + 1,
                        (unsigned)events[i].op);
    if (st->events == 0) st->first_ns = t;
    st->last_ns = t;
    st->events++;
    const size_t word = (size_t)(pfn >> 6);
    const uint64_t bit = 1ull << (pfn & 63);
    int rc;
    if ((what & WL_STATS_DIRTY_RATE) && t >= st->bin_end_ns && (rc = wl__bin_advance(st, t)))
      return rc;
    if (what & WL_STATS_WORKING_SET) {
      if (t >= st->q_end_ns && (rc = wl__ws_advance(st, t))) return rc;
      if (t >= st->fs_next_ns) wl__ws_from_start(st, t);
    }

    if (events[i].op == WL_OP_READ) {
      st->reads++;
      st->read_bits[word] |= bit;
      st->bin_reads++;
      continue;
    }
    st->writes++;
    st->written_bits[word] |= bit;
    if (what & WL_STATS_DIRTY_RATE) {
      st->bin_writes++;
      uint64_t w = st->bin_bits[word];
      if (!(w & bit)) {
        if (!w) st->bin_touched[st->bin_touched_count++] = word;
        st->bin_bits[word] = w | bit;
        st->bin_distinct++;
      }
    }
    if (what & WL_STATS_WORKING_SET) {
      const uint32_t prev = st->stamp[pfn];
      if (prev == 0) st->distinct_so_far++;
      st->stamp[pfn] = (uint32_t)(st->cur_q + 1);
      /* New in level k iff the previous write's quantum (prev - 1) lies
       * before the window's start; a prefix of levels (see the top). */
      for (unsigned k = 0; k < st->levels && prev <= st->lv[k].start_q; k++) st->lv[k].count++;
    }
    if ((what & WL_STATS_HISTOGRAM) && st->writes_per_page[pfn] != UINT32_MAX)
      st->writes_per_page[pfn]++;
  }
  return 0;
}

static uint64_t wl__popcount(const uint64_t *bits, size_t words) {
  uint64_t n = 0;
  for (size_t i = 0; i < words; i++) n += (uint64_t)__builtin_popcountll(bits[i]);
  return n;
}

/* Emits the open bin and the empty ones after it up to D. */
static int wl__bins_finish(wl_stats *st, uint64_t d) {
  uint64_t bins = d / st->bin_ns + (d % st->bin_ns != 0);
  if (bins > WL__MAX_BINS) return wl__too_many_bins(st, d);
  /* Events at exactly t = D on a bin boundary (or D = 0) sit in a bin of
   * zero length: report it with the full width (see wl_stats.h). */
  if (bins <= st->bin_index) bins = st->bin_index + 1;
  while (st->bin_index < bins) {
    uint64_t start = st->bin_index * st->bin_ns;
    uint64_t end = st->bin_end_ns < d ? st->bin_end_ns : d;
    if (end <= start) end = st->bin_end_ns;
    int rc = wl__bin_emit(st, end);
    if (rc) return rc;
  }
  return 0;
}

static void wl__ws_finish(wl_stats *st, uint64_t d) {
  wl__ws_from_start(st, UINT64_MAX);
  for (unsigned k = 0; k < st->levels; k++) {
    const uint64_t w = st->w0 << k;
    if (w > d) break;
    wl__ws_level *lv = &st->lv[k];
    /* The window open at the end counts only if it is complete. */
    if (lv->start_q * st->w0 <= d - w) {
      lv->sum += lv->count;
      if (lv->count > lv->max) lv->max = lv->count;
    }
    wl_stats_ws_point *p = &st->ws[st->ws_count++];
    p->window_ns = w;
    p->windows = d / w;
    p->mean_distinct_pages = (double)lv->sum / (double)p->windows;
    p->max_distinct_pages = lv->max;
    p->from_start_distinct_pages = st->from_start[k];
  }
  /* The whole trace as the last point, unless a level already ends at D. */
  if (d > 0 && (st->ws_count == 0 || st->ws[st->ws_count - 1].window_ns != d)) {
    wl_stats_ws_point *p = &st->ws[st->ws_count++];
    p->window_ns = d;
    p->windows = 1;
    p->mean_distinct_pages = (double)st->distinct_so_far;
    p->max_distinct_pages = st->distinct_so_far;
    p->from_start_distinct_pages = st->distinct_so_far;
  }
}

/* O(pages): buckets every page's saturated write count. */
static void wl__hist_finish(wl_stats *st) {
  uint64_t pages[WL__HIST_BUCKETS] = {0}, writes[WL__HIST_BUCKETS] = {0}, total = 0;
  for (uint64_t p = 0; p < st->pages; p++) {
    uint32_t c = st->writes_per_page[p];
    unsigned b = c ? (unsigned)(32 - __builtin_clz(c)) : 0;
    pages[b]++;
    writes[b] += c;
    total += c;
  }
  size_t top = 0;
  for (size_t b = 0; b < WL__HIST_BUCKETS; b++)
    if (pages[b]) top = b;
  for (size_t b = 0; b <= top; b++) {
    wl_stats_hist_bucket *h = &st->hist[b];
    h->min_writes = b ? 1ull << (b - 1) : 0;
    h->max_writes = b ? (1ull << b) - 1 : 0;
    h->pages = pages[b];
    h->writes = writes[b];
    h->share_of_writes = total ? (double)writes[b] / (double)total : 0.0;
  }
  st->hist_count = top + 1;
}

int wl_stats_finish(wl_stats *st, uint64_t disk_bytes) {
  if (st->finished) return sim_errorf(SIM_EINVAL, "trace statistics finished twice");
  st->finished = 1;
  const uint64_t d = st->meta_duration_ns > st->last_ns ? st->meta_duration_ns : st->last_ns;
  int rc;
  if (st->what & WL_STATS_DIRTY_RATE) {
    /* Bins that ended before D but after the last event are still open. */
    if (d > 0 && (rc = wl__bin_advance(st, d - 1))) return rc;
    if ((rc = wl__bins_finish(st, d))) return rc;
  }
  if (st->what & WL_STATS_WORKING_SET) wl__ws_finish(st, d);
  if (st->what & WL_STATS_HISTOGRAM) wl__hist_finish(st);

  wl_stats_info *in = &st->info;
  in->pages = st->pages;
  in->page_size = st->page_size;
  in->duration_ns = d;
  in->duration_from_meta = st->meta_has_duration && st->meta_duration_ns >= st->last_ns;
  in->events = st->events;
  in->writes = st->writes;
  in->reads = st->reads;
  in->first_event_ns = st->first_ns;
  in->last_event_ns = st->last_ns;
  in->distinct_pages_written = wl__popcount(st->written_bits, st->words);
  in->distinct_pages_read = wl__popcount(st->read_bits, st->words);
  in->nonzero_pages = st->nonzero_pages;
  in->write_rate_pages_per_s = wl__per_s(st->writes, d);
  in->write_rate_mib_per_s = wl__mib_per_s(in->write_rate_pages_per_s, st->page_size);
  in->distinct_pages_per_s = wl__per_s(in->distinct_pages_written, d);
  in->disk_bytes = disk_bytes;
  in->disk_bytes_per_event =
      disk_bytes && st->events ? (double)disk_bytes / (double)st->events : 0.0;
  return 0;
}

const wl_stats_info *wl_stats_get_info(const wl_stats *st) { return &st->info; }

const wl_stats_ws_point *wl_stats_get_working_set(const wl_stats *st, size_t *count) {
  *count = st->ws_count;
  return st->ws;
}

const wl_stats_hist_bucket *wl_stats_get_histogram(const wl_stats *st, size_t *count) {
  *count = st->hist_count;
  return st->hist;
}

int wl_stats_run(wl_source *src, const wl_stats_opts *opts, wl_stats **out) {
  wl_stats *st = NULL;
  int rc = wl_stats_new(wl_source_meta(src), opts, &st);
  if (rc) return rc;
  wl_event *buf = malloc(WL__BATCH * sizeof *buf);
  if (!buf) {
    wl_stats_free(st);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  for (;;) {
    long n = wl_source_read(src, buf, WL__BATCH);
    if (n < 0) {
      rc = (int)n;
      break;
    }
    if (n == 0) break;
    if ((rc = wl_stats_add(st, buf, (size_t)n))) break;
  }
  free(buf);
  if (!rc) rc = wl_stats_finish(st, wl_source_disk_bytes(src));
  if (rc) {
    wl_stats_free(st);
    return rc;
  }
  *out = st;
  return 0;
}
