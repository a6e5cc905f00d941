/* wl_trace: the dirty-page trace model shared by every part of migsim.
 *
 * A trace is metadata (pages, page size, initial image, free-form keys) plus
 * a time-ordered stream of page events (write or read). Recorded traces
 * (CSV or the binary format) and generators are both *sources*: the same
 * wl_source API yields their events in batches, so every consumer (info,
 * stats, the simulator, kvmreplay) accepts either. Sources are streamed:
 * nothing here loads a whole trace into memory. */
#ifndef WL_TRACE_H
#define WL_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { WL_OP_WRITE = 0, WL_OP_READ = 1 } wl_op;

typedef struct {
  uint64_t time_ns; /* since trace start; non-decreasing within a source */
  uint64_t pfn;     /* in [0, pages) */
  uint8_t op;       /* wl_op */
} wl_event;

/* An inclusive page range [first, last]. */
typedef struct {
  uint64_t first;
  uint64_t last;
} wl_range;

/* One metadata line, as in the CSV header: "key=value", or a bare comment
 * (value == NULL). Kept in order so CSV -> binary -> CSV is byte-identical. */
typedef struct {
  char *key;
  char *value;
} wl_kv;

/* Trace metadata. Embedded by value; own it with wl_meta_init/_free.
 * The typed fields mirror the key/value list; change both through
 * wl_meta_set() so they never disagree. */
typedef struct {
  uint64_t pages;       /* required, > 0 */
  uint32_t page_size;   /* default 4096 */
  uint64_t duration_ns; /* loop period; 0 = unknown (see wl_meta_period) */
  wl_range *nonzero;    /* sorted, disjoint, coalesced */
  size_t nonzero_count;
  wl_kv *kv; /* every metadata line in file order, "migsim-trace" excluded */
  size_t kv_count;
  int has_op_column; /* CSV had an `op` column (kept for exact round trip) */
} wl_meta;

#define WL_DEFAULT_PAGE_SIZE 4096u
/* Sanity bounds that reject absurd headers before any allocation. */
#define WL_MAX_PAGES (1ull << 40)     /* 4 PiB of 4 KiB pages */
#define WL_MAX_PAGE_SIZE (1u << 30)
#define WL_MAX_KV 4096u
/* Events sharing one timestamp are buffered to spread them over their
 * epoch (wl_player.h): at most this many (48 MiB of buffer). */
#define WL_MAX_EVENTS_PER_INSTANT (1u << 21)
#define WL_MAX_NONZERO_RANGES (1ull << 32)

void wl_meta_init(wl_meta *m);
void wl_meta_free(wl_meta *m);
/* Sets key=value, replacing the first line with that key or appending one,
 * and updates the typed fields for the keys pages, page_size, duration_ns
 * and nonzero (parsing the value; SIM_EFORMAT/SIM_ERANGE on bad values).
 * value == NULL adds a bare comment line `key`. */
int wl_meta_set(wl_meta *m, const char *key, const char *value);
/* The value of the first line with this key, or NULL. */
const char *wl_meta_get(const wl_meta *m, const char *key);

/* Parses "0-65535,70000-70010,90000" into sorted, coalesced ranges, each
 * inside [0, pages). The caller frees *ranges. */
int wl_ranges_parse(const char *text, uint64_t pages, wl_range **ranges,
                    size_t *count);
/* Sorts r[0..n) and merges overlapping or adjacent ranges in place;
 * returns the new count. O(n log n). */
size_t wl_ranges_normalize(wl_range *r, size_t n);
/* Writes ranges in the same syntax into a malloc'd string (*out). */
int wl_ranges_format(const wl_range *ranges, size_t count, char **out);
/* Replaces m's nonzero ranges (and the `nonzero` line). */
int wl_meta_set_nonzero(wl_meta *m, const wl_range *ranges, size_t count);
/* Number of pages covered by the nonzero ranges. O(ranges). */
uint64_t wl_meta_nonzero_pages(const wl_meta *m);

/* Checks the header as a whole: pages > 0 and every nonzero range inside
 * [0, pages). Readers call it after the last metadata line. */
int wl_meta_validate(const wl_meta *m);

/* The period after which a looping consumer restarts the trace:
 * duration_ns when set, otherwise last_event_ns + 1 (so a trace whose
 * events are all at t=0 still advances). */
uint64_t wl_meta_period(const wl_meta *m, uint64_t last_event_ns);

/* ------------------------------------------------------------------ */
/* Sources: trace files and generators behind one interface.          */

typedef struct wl_source wl_source;

/* What a source needs when `spec` is a generator rather than a file. */
typedef struct {
  uint64_t pages;       /* guest pages (required for generators) */
  uint32_t page_size;   /* 0 = 4096 */
  uint64_t seed;        /* generator seed */
  uint64_t duration_ns; /* 0 = endless generator */
} wl_open_opts;

/* Opens `spec`: a path to a binary or CSV trace (detected by content), or a
 * generator spec "name:key=value,..." (see wl_gen.h). For files, opts may be
 * NULL. Returns 0 and *out, or a negative code with a message. */
int wl_source_open(const char *spec, const wl_open_opts *opts,
                   wl_source **out);

/* Metadata of the source (valid until close). */
const wl_meta *wl_source_meta(const wl_source *s);

/* Fills up to `max` events. Returns the count (0 = end of stream) or a
 * negative code; after an error the source stays in error. Events come in
 * non-decreasing time order; a file source checks this and pfn < pages. */
long wl_source_read(wl_source *s, wl_event *buf, size_t max);

/* Restarts the stream at its first event (used to loop a trace). */
int wl_source_rewind(wl_source *s);

/* Positions the stream at the first event with time >= time_ns, using the
 * binary format's time index where present (otherwise by reading forward).
 */
int wl_source_seek(wl_source *s, uint64_t time_ns);

/* Bytes the source occupies on disk, or 0 for generators. */
uint64_t wl_source_disk_bytes(const wl_source *s);

/* Closes and frees. NULL is a no-op. */
void wl_source_close(wl_source *s);

/* Implementation interface: each kind of source provides these. `self` is
 * the wl_source allocated by wl__source_new with `state` inside it. */
typedef struct {
  const char *name;
  long (*read)(void *state, wl_event *buf, size_t max);
  int (*rewind)(void *state);
  int (*seek)(void *state, uint64_t time_ns); /* NULL: read forward */
  void (*close)(void *state);
} wl_source_ops;

/* Wraps an implementation. Takes ownership of `state` (closed via
 * ops->close) and of `meta` (moved: *meta is reset to empty). */
int wl__source_new(const wl_source_ops *ops, void *state, wl_meta *meta,
                   uint64_t disk_bytes, wl_source **out);

/* ------------------------------------------------------------------ */
/* Writers.                                                           */

typedef enum { WL_FORMAT_BINARY, WL_FORMAT_CSV } wl_format;

/* wl_format for an output path: CSV when it ends in ".csv", else binary. */
wl_format wl_format_for_path(const char *path);

typedef struct wl_writer wl_writer;

/* Opens a trace writer. The file is written under a temporary name and
 * appears at `path` only when wl_writer_close() succeeds. */
int wl_writer_open(const char *path, wl_format format, const wl_meta *meta,
                   wl_writer **out);
/* Appends events (time order and pfn range are checked). */
int wl_writer_write(wl_writer *w, const wl_event *events, size_t n);
/* Finishes the file (index, trailer), renames it into place, frees w. */
int wl_writer_close(wl_writer *w);
/* Discards the partial output and frees w. NULL is a no-op. */
void wl_writer_abort(wl_writer *w);

/* Copies every event of `src` to a new trace at `path` with src's metadata
 * and closes the writer (the source stays open). Used by import, export
 * and gen. */
int wl_copy(wl_source *src, const char *path, wl_format format);

#endif
