/* wl_record: records the memory writes of a running Linux process as a
 * dirty-page trace (docs/design.md "Concepts"; docs/recording.md).
 *
 * A recorder scans the target's writable mappings once per interval and
 * reports the pages whose contents changed since the previous scan. The
 * first scan is the baseline: it fixes the initial image (which pages are
 * non-zero) and emits no events. Every later scan appends the pages it found
 * dirty, in ascending pfn order, all stamped with the start time of the
 * interval they were written in (a coarse trace: one timestamp per epoch).
 *
 * Virtual pages map onto a dense pfn space in blocks of 16 virtually
 * contiguous pages: the first scan that finds a page of a block in use
 * (resident, or in a file-backed or shared mapping) gives the block the
 * next 16 free pfns. A page keeps its pfn for the whole recording, also
 * when its mapping shrinks, vanishes or reappears; memory never used gets
 * no pfns, however large its mapping.
 *
 * Events are kept in a compact temporary file (about one byte per event)
 * until wl_recorder_write(), because the trace header (pages) is only known
 * once the recording has ended.
 *
 * Three backends, as const descriptors chosen by name:
 *   uffd-wp     registers the target's writable mappings for asynchronous
 *               userfaultfd write protection (a userfaultfd created inside
 *               the target through ptrace) and each scan asks PAGEMAP_SCAN
 *               for the pages written since the last one, protecting them
 *               again in the same call. Exact (a rewrite of identical bytes
 *               is a write), cost per scan independent of resident memory
 *               for unwritten pages. Needs Linux 6.7+, x86-64, ptrace rights.
 *   hash        reads every resident page with process_vm_readv and compares
 *               a 64-bit hash with the previous scan's. Needs ptrace rights
 *               over the target. Cannot see a page rewritten with identical
 *               bytes (its contents did not change).
 *   soft-dirty  clears the kernel's soft-dirty bits (/proc/PID/clear_refs)
 *               each scan and reads them back from /proc/PID/pagemap. Exact
 *               write tracking, but needs CONFIG_MEM_SOFT_DIRTY. */
#ifndef WL_RECORD_H
#define WL_RECORD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wl_trace.h"

typedef struct wl_recorder wl_recorder;
typedef struct wl_record_backend wl_record_backend;

extern const wl_record_backend wl_record_hash;
extern const wl_record_backend wl_record_soft_dirty;
extern const wl_record_backend wl_record_uffd_wp;

/* The backend called `name` ("uffd-wp", "soft-dirty" or "hash"), or NULL. */
const wl_record_backend *wl_record_backend_find(const char *name);
/* The backend's name. Never NULL. */
const char *wl_record_backend_name(const wl_record_backend *backend);

/* Checks whether soft-dirty tracking works on this kernel with a self-test
 * on the calling process (write a page, clear the bits, check that the page
 * reads clean, write it again, check that it reads dirty). Returns 0, or
 * SIM_EUNSUPPORTED with a message saying what failed. Clears the calling
 * process's own soft-dirty bits (harmless: nothing else reads them).
 * Cost: a few syscalls and one page. */
int wl_record_soft_dirty_probe(void);

/* Checks whether the uffd-wp backend works here with a self-test on a
 * forked copy of the calling process: a userfaultfd is made inside it by
 * ptrace (as for a real target), a private and a shared mapping are
 * registered and protected, the copy rewrites one page of each with the
 * bytes it already held, and PAGEMAP_SCAN must report exactly those two.
 * Returns 0, or SIM_EUNSUPPORTED with a message saying what failed.
 * Cost: a fork and a few milliseconds. */
int wl_record_uffd_wp_probe(void);

typedef struct {
  uint64_t interval_ns; /* scan period (wl_recorder_run); > 0 */
  int exclude_shared;   /* leave writable shared mappings out (by default
                           they are recorded: a program's writes to its
                           shared memory, e.g. PostgreSQL's shared buffers
                           or a VM's memfd RAM, are its writes) */
} wl_record_opts;

/* Opens a recorder on process `pid`. Checks that the process exists
 * (SIM_ENOTFOUND "process N does not exist") and that its memory can be
 * read (SIM_EUNSUPPORTED naming the missing right); does not scan yet.
 * Owns nothing of the caller's; free with wl_recorder_free(). */
int wl_recorder_open(pid_t pid, const wl_record_backend *backend,
                     const wl_record_opts *opts, wl_recorder **out);

/* Scans the process once. The first call is the baseline (initial image);
 * each later call appends the pages dirtied since the previous scan as
 * events at `time_ns`, which must not decrease from one call to the next.
 * When the process has exited (or is a zombie) nothing is appended and
 * wl_recorder_exited() turns true; that is not an error. A scan cut short
 * by the exit is discarded whole. When the process has exec'd another
 * program since the last scan, the recording restarts: everything recorded
 * so far is dropped, this scan becomes the new baseline (time 0), and
 * stats.execs grows by one. Returns 0 or a negative code.
 * Cost: hash backend O(resident bytes) reads and hashing, plus 8 bytes of
 * pagemap per mapped page; soft-dirty O(mapped pages) pagemap reads. No
 * allocation per page: buffers grow only when new mappings appear. */
int wl_recorder_scan(wl_recorder *r, uint64_t time_ns);

/* True once a scan found the process gone. */
int wl_recorder_exited(const wl_recorder *r);

/* True when the last wl_recorder_scan() found that the process had exec'd
 * and restarted the recording (that scan was the new baseline, time 0). */
int wl_recorder_restarted(const wl_recorder *r);

/* The pfns the last scan found dirty, ascending (empty after the baseline).
 * Points into the recorder: valid until the next scan or free. */
const uint64_t *wl_recorder_dirty(const wl_recorder *r, size_t *count);

/* The baseline's non-zero pages as sorted, coalesced ranges (empty before
 * the baseline). Points into the recorder: valid until free. */
const wl_range *wl_recorder_initial_image(const wl_recorder *r, size_t *count);

/* The pfn of the page holding virtual address `vaddr` of the target, as
 * assigned by the scans so far. 0, or SIM_ENOTFOUND when no scan has seen
 * that address in a scanned mapping. O(log mappings). */
int wl_recorder_pfn_of(const wl_recorder *r, uint64_t vaddr, uint64_t *pfn);

/* What the recording cost and saw so far. Times are wall-clock. */
typedef struct {
  uint64_t scans;           /* including the baseline */
  uint64_t overruns;        /* scans that ran past the next deadline */
  uint64_t events;          /* page writes appended */
  uint64_t pages;           /* size of the pfn space so far */
  uint64_t initial_nonzero; /* non-zero pages at the baseline */
  uint64_t scan_ns_total;   /* all scans but the baseline */
  uint64_t scan_ns_max;     /* likewise */
  uint64_t resident_bytes_total; /* resident writable bytes covered, summed
                                    over the same scans */
  uint64_t last_time_ns;    /* time_ns of the last successful scan */
  uint64_t execs;           /* times the process exec'd: each one restarts
                               the recording (all other counters restart) */
  uint64_t unprotected_maps; /* uffd-wp: mappings that could not be
                                registered (and so were not recorded) */
} wl_record_stats;

void wl_recorder_stats(const wl_recorder *r, wl_record_stats *stats);

/* Records until `duration_ns` has passed (0: no limit), the process exits,
 * or *stop becomes non-zero (stop may be NULL), scanning every
 * opts.interval_ns on an absolute schedule. A scan that ends after the next
 * deadline is an overrun: it is counted, the deadlines it missed are
 * skipped, and the next window's events carry the time of the window's
 * start. `on_scan` (may be NULL) is called after every scan, e.g. to report
 * the first overrun. The baseline scan happens first if not done yet.
 * Returns 0 (also when the process exited after the baseline), SIM_ENOTFOUND
 * when it had no memory even for the baseline, or a negative code. */
typedef void (*wl_record_scan_cb)(void *arg, const wl_record_stats *stats,
                                  uint64_t scan_ns, int overran);
int wl_recorder_run(wl_recorder *r, uint64_t duration_ns,
                    const volatile sig_atomic_t *stop, wl_record_scan_cb on_scan,
                    void *arg);

/* Writes the trace: pages, page_size, duration_ns (the time of the last
 * scan), nonzero (the baseline's non-zero pages), then every line of
 * `extra` (may be NULL) in order, then the recorder's own keys: backend,
 * interval_ns, scans, overruns, scan_ms_mean, scan_ms_max,
 * scan_ms_per_gib, resident_mib_mean. The file appears at `path` only when
 * everything succeeded (wl_writer_abort otherwise). The recorder stays
 * usable. Cost: one pass over the temporary event file. */
int wl_recorder_write(wl_recorder *r, const char *path, wl_format format,
                      const wl_meta *extra);

/* True when wl_recorder_write() sets metadata key `key` itself (pages,
 * backend, overruns, ...): callers must not pass it in `extra`. */
int wl_record_key_reserved(const char *key);

/* Frees the recorder and its temporary file. NULL is a no-op. Does not
 * touch the target process. */
void wl_recorder_free(wl_recorder *r);

/* ------------------------------------------------------------------ */
/* Child processes for `trace record -- CMD ARGS...`.                 */

/* Starts argv[0] (searched in PATH) with argv in its own process group and
 * returns once exec has succeeded, so that the first scan sees the new
 * program and not a copy of the caller. SIM_ECHILD with the exec error
 * ("cannot run 'x': No such file or directory") otherwise; the failed
 * child is reaped. */
int wl_record_spawn(char *const argv[], pid_t *pid);

/* Ends and reaps a child started by wl_record_spawn: SIGTERM to its process
 * group, then SIGKILL after `grace_ns`. *status gets the wait status (may
 * be NULL). Safe when the child has already exited. 0 or SIM_ECHILD. */
int wl_record_reap(pid_t pid, uint64_t grace_ns, int *status);

#endif
