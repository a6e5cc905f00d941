/* mdl_sim_internal: the simulator's state and the driver-neutral core that
 * the drivers (mdl_drv_qemu.c, mdl_drv_xen.c) call. Not a public
 * interface: only models/mdl_sim*.c and models/mdl_drv_*.c include it.
 *
 * The split (docs/extending.md, "A driver"): mdl_sim.c holds what every
 * hypervisor shares (the guest and its post-copy faults, the socket and
 * the receiver, sending a page, rounds, the switch to post-copy,
 * completion, setup); a driver holds the migration thread's policy (when
 * to send, sync, throttle, stop) and is chosen through the descriptor
 * table in mdl_sim.c by the profile's `driver`. */
#ifndef MDL_SIM_INTERNAL_H
#define MDL_SIM_INTERNAL_H

#include <stdint.h>

#include "mdl_mem.h"
#include "mdl_profile.h"
#include "mdl_scenario.h"
#include "mdl_sim.h"
#include "sim_engine.h"
#include "sim_hist.h"
#include "wl_player.h"

enum { MDL__EVENT_BATCH = 4096 };
enum { MDL__PRIO_CONTROL = 0, MDL__PRIO_THREAD = 10 };
typedef enum { PH_SETUP, PH_PRECOPY, PH_POSTCOPY, PH_DONE } mdl__phase;
extern const char *const mdl__phase_names[];

/* A write in the socket: when the destination is done with it, its size. */
typedef struct {
  double end;
  uint64_t bytes;
} mdl__flight;

/* A post-copy page on the main stream: when the destination has placed it. */
typedef struct {
  double arrival;
  uint64_t page;
} mdl__landing;

typedef struct mdl__driver mdl__driver;

struct mdl_sim {
  const mdl_scenario *s;
  const mdl__driver *drv;
  const mdl_profile *p;
  mdl_result *r;
  sim_engine *e;
  /* The engine may be shared (mdl_fleet): this migration's time 0 is the
   * engine's t0_ns, and every time below is this migration's own. */
  uint64_t t0_ns;
  uint64_t thread_event, timeout_event, switch_event; /* queued ids, for mdl_sim_close */
  mdl_sim_notify_fn notify;
  void *notify_ctx;
  double own_link_bw;       /* the scenario's link, before any share */
  uint64_t quantum_ns;      /* 0: run up to the engine's next event (alone) */
  wl_source *src;
  wl_player *player;
  mdl_mem mem;
  uint64_t offset; /* guest page of trace page 0 */

  /* Constants derived once. */
  uint64_t normal_bytes, zero_bytes;
  double link_bw, latency_ns, max_bw;

  /* Guest. */
  wl_event *ev;
  size_t ev_len, ev_pos;
  int ev_end;
  /* The workload clock: while the guest runs, workload time is
   * clock_w0 + (real - clock_r0) * clock_speed; a pause (downtime, a
   * post-copy fault) moves clock_r0 on by its length, a CPU throttle
   * (auto-converge) lowers clock_speed to the share of time the vCPUs run
   * (docs/features.md). */
  double clock_r0, clock_w0, clock_speed;
  double throttle_lost_ns; /* workload time lost to the throttle */
  double stall_ns;
  uint64_t accesses;                      /* applied so far */
  uint64_t delay_hist[SIM_HIST_BUCKETS];  /* delayed accesses (sim_hist.h) */
  int stopped;         /* vCPUs stopped (switchover) */
  int blocked;         /* waiting for a post-copy page */
  double fault_time, req_arrival;
  /* The return path's TCP state (mdl__rp_send): when the source received
   * the last page request, and when its delayed-ACK timer last fired. */
  double rp_last, rp_timer;
  uint64_t fault_page;
  int req_pending;     /* request not yet served by the source */
  int pages_remote;    /* guest runs on the destination (post-copy) */

  /* Migration thread. */
  mdl__phase phase;
  double t, limit;
  uint64_t cursor;
  double window_start;
  uint64_t window_bytes, budget;
  /* rate_at_flush (QEMU 10.0): bytes queued in the QEMUFile and not yet
   * flushed, which the window does not count yet; its iovec entries and
   * buffered bytes decide when it flushes (mdl__queue). */
  uint64_t q_bytes, q_buffered;
  uint32_t q_iov;
  int q_last_buffered;
  double bw_est, threshold, expected_downtime_ns;
  double link_free;
  mdl__flight *fl;          /* flights not known to have ended (ring) */
  double burst_lo[2], burst_hi[2]; /* the main stream's last two busy
                                      periods, [0] the latest (its links
                                      back to back) */
  size_t fl_head, fl_tail, fl_mask;
  uint64_t fl_bytes;        /* their bytes */
  /* Post-copy: pages written on the main stream that the destination has
   * not placed yet (docs/postcopy-faults.md, "Faults on pages in
   * flight"): a bit per page, and the pages with their arrival in send
   * order (a ring), dropped once the guest's clock passes the arrival. */
  uint64_t *inflight;
  mdl__landing *land;
  size_t land_head, land_tail, land_mask;
  int start_postcopy, return_path;
  /* The hybrid switch rule fired at a sync: migrate-start-postcopy reaches
   * QEMU during the pass that follows, so the driver sets start_postcopy
   * after that pass (docs/simulator.md, "Hybrid switch"). */
  int switch_decided;
  double downtime_start;
  uint8_t *chunk_needs_clear;
  uint64_t chunks;
  uint8_t *region_loaded;   /* destination huge pages allocated (bitmap) */

  /* Round (dirty sync) bookkeeping. */
  mdl_round round;
  int round_open;
  uint64_t round_pages0, round_bytes0;
  uint64_t pages_sent;
  /* dirty-pages-rate (QEMU: computed at syncs at least 1 s apart) */
  double rate_period_start;
  uint64_t rate_period_pages;
  double dirty_pages_rate;
  int dirty_rate_known;        /* a period has ended: the rate is measured */
  uint64_t rate_period_bytes0; /* transferred at the period's start */

  /* Page content: bytes of a page one write changes (the workload's
   * write_bytes, else the page size). */
  uint64_t write_bytes;
  int wrapped; /* the cursor has completed its first pass */
  /* xbzrle (mdl_drv_qemu.c): QEMU's page cache, direct-mapped; per slot the
   * page it holds (UINT64_MAX: empty) and its age (a dirty_sync_count). */
  uint64_t *xbz_page, *xbz_age;
  uint64_t xbz_mask;
  /* xbzrle: pages written since their content was last cached (bitmap);
   * a page sent again without a write since (its log bit was set by a
   * write before the send) encodes to nothing. */
  uint64_t *written;

  /* A second socket for requested pages (postcopy-preempt): when it and
   * the destination thread behind it are free again. */
  double aside_free;

  /* multifd and compress (mdl_drv_qemu.c): worker threads on the source,
   * `workers` of them (multifd channels or compress threads; 0: none).
   * Per worker: when its thread is free again (worker_free) and when the
   * destination is done with its last write (worker_end); compress: the
   * result not yet copied into the main stream (worker_bytes, 0: none),
   * whether it is a zero page, and its page. */
  uint32_t workers;
  double *worker_free, *worker_end;
  uint64_t *worker_bytes, *worker_page;
  uint8_t *worker_zero;
  double *worker_cpu_end;         /* ... when its thread's CPU work ends
                                     (profile worker_cpus: the busy ones
                                     share the cores, mdl__worker_run) */
  uint32_t next_channel;          /* multifd: round-robin start */
  uint64_t *mfd_held;             /* multifd, profile multifd_count_on_wait:
                                     per channel, bytes of its packet not yet
                                     seen by the rate limit (0: none) */
  uint64_t mfd_normal, mfd_zero;  /* multifd: pages in the packet being filled */
  uint64_t mfd_first;             /* ... its first page (destination huge page) */
  uint64_t packet_len;            /* multifd: header + offsets of one packet */
  double wire_free;               /* multifd: the link, as the channels share it */
  double stopped_bw;              /* profile stopped_link on loopback (0: none) */
  double channel_bw;              /* multifd: each channel's own loopback
                                     (profile multifd_link; 0: wire_free) */
  double compress_ratio;          /* the workload's (compressed / raw, non-zero page) */
  double comp_ns, comp_dest_ns;   /* CPU per page to compress / decompress */
  int comp_new_block;             /* compress: the next page starts a block */
  uint64_t comp_pages0, comp_size0; /* compress: at the last rate period */

  /* auto-converge (mdl_drv_qemu.c): QEMU's throttle and trigger count. */
  uint32_t throttle_pct;
  int dirty_rate_high_cnt;

  int error;
};
typedef struct mdl_sim mdl__sim;

/* A driver: the source's migration thread for one kind of hypervisor. */
struct mdl__driver {
  mdl_driver id;        /* the profile's `driver` */
  const char *name;     /* its value in a profile file */
  int postcopy;         /* can run post-copy and hybrid */
  sim_handler thread;   /* scheduled at time 0; runs until mdl__finish */
  /* Called by mdl__sync when a sync ends a dirty-rate period (QEMU: more
   * than 1 s since the last one) with the bytes dirtied and transferred in
   * it, before the round opens; NULL: nothing to do. */
  void (*sync_period)(mdl__sim *S, uint64_t dirty_bytes, uint64_t xfer_bytes);
  /* Called by mdl__send_page for every page before it is sent: returns
   * MDL__PAGE_PLAIN to send it as usual (normal or zero page), or
   * MDL__PAGE_ENCODED with its wire bytes and CPU cost in *bytes and *cpu_ns,
   * or MDL__PAGE_SKIPPED when nothing is sent; NULL: always plain. */
  int (*encode_page)(mdl__sim *S, uint64_t page, int nonzero, uint64_t *bytes, double *cpu_ns);
  /* Called by mdl__serve_request for a requested page still to send: 1
   * when the driver sent it itself (and set *arrival, when the guest has
   * it), 0 to send it on the main stream; NULL: always the main stream. */
  int (*send_requested)(mdl__sim *S, uint64_t page, double *arrival);
  /* Called by the core when the guest faults, with the request's fields
   * set (fault_page, fault_time, req_arrival): it may resolve the fault at
   * once (mdl__resolve_fault) instead of leaving it to the migration
   * thread; NULL: never. */
  void (*fault_urgent)(mdl__sim *S);
  /* Called by the core when the cursor wraps to the first RAM block (a
   * new pass, a block change); NULL: nothing to do. */
  void (*wrap)(mdl__sim *S);
  /* Called by mdl__completion after the last page, before the end marker
   * (ram_save_complete's own work); NULL: nothing. */
  void (*complete)(mdl__sim *S);
};
/* MDL__PAGE_TAKEN: the driver sent the page itself (worker threads),
 * counters and the thread's clock included; the core only moves on. */
enum { MDL__PAGE_PLAIN, MDL__PAGE_ENCODED, MDL__PAGE_SKIPPED, MDL__PAGE_TAKEN };

extern const mdl__driver mdl__driver_qemu;
extern const mdl__driver mdl__driver_xen;

/* ---- the core (mdl_sim.c), in the order the migration uses it ---- */

/* This migration's clock: the engine's now, and its next queued event
 * (INFINITY when none), in the migration's own time. */
double mdl__now(const mdl__sim *S);
double mdl__next_event(const mdl__sim *S);
/* Queues fn at the migration's time `at_ns`; the id goes to *id (for
 * mdl_sim_close). 0, or SIM_ENOMEM. */
int mdl__schedule(mdl__sim *S, uint64_t at_ns, int priority, sim_handler fn, uint64_t *id);

/* Runs the guest's accesses up to real time `until` (lazy evaluation). */
void mdl__guest_advance(mdl__sim *S, double until);
/* From S->t on, the guest's workload runs at `speed` (0 < speed <= 1) of
 * real time: a vCPU throttled by x % runs 1 - x/100 of the time. */
void mdl__guest_set_speed(mdl__sim *S, double speed);
/* Writes `bytes` that the destination only reads after `cpu_ns` of work;
 * `ram` counts them as RAM bytes. */
void mdl__put(mdl__sim *S, uint64_t bytes, double cpu_ns, int ram);
/* rate_at_flush: hands the queued bytes to the window (qemu_fflush; QEMU
 * flushes at the end of every iteration step). No-op otherwise. */
void mdl__flush(mdl__sim *S);
/* Bytes written outside the main stream's socket (the multifd channels):
 * counted at once in the rate-limit window and as RAM bytes by phase. */
void mdl__count_ram(mdl__sim *S, uint64_t bytes);
/* ... in the totals only: the rate-limit window sees them later. */
void mdl__count_ram_unlimited(mdl__sim *S, uint64_t bytes);
/* Writes `bytes` on the main stream as one flight the destination needs
 * `recv_ns` for, after `cpu_ns` of work; RAM bytes (a compressed page). */
void mdl__put_page_bytes(mdl__sim *S, uint64_t bytes, double cpu_ns, double recv_ns, uint64_t page);
/* Sends one dirty page and moves the cursor past it. */
void mdl__send_page(mdl__sim *S, uint64_t page);
/* Sends the cursor's dirty-bitmap word at once when nothing can interleave
 * (returns pages sent, 0: take the page path). */
uint64_t mdl__send_word(mdl__sim *S, double step_end, int guest_can_run);
/* Sends one dirty page on a second socket and destination thread of its
 * own (free again at S->aside_free), not behind the main stream's backlog,
 * by the thread whose clock is *clock (advanced by the page's CPU cost):
 * counted as RAM bytes, not in the rate-limit window. Returns when the
 * destination has placed it, latency included. */
double mdl__send_page_aside(mdl__sim *S, uint64_t page, double *clock);
/* The page the guest faulted on is there at `arrival`: the guest runs
 * again after the profile's fault_resume_ns (plus fault_resume_busy_ns
 * while the main stream is still sending). */
void mdl__resolve_fault(mdl__sim *S, double arrival);
/* Opens a round at S->t (closing the previous one). */
void mdl__open_round(mdl__sim *S);
/* One dirty-bitmap sync (QEMU's migration_bitmap_sync): its pause, the
 * bitmap, a round, the 1 s rate period, the hybrid switch rule. */
void mdl__sync(mdl__sim *S);
/* Closes the bandwidth-estimation window when it is over. */
void mdl__update_counters(mdl__sim *S);
/* A post-copy request that has reached the source, and serving it. */
int mdl__request_ready(const mdl__sim *S);
void mdl__serve_request(mdl__sim *S);
/* The switch to post-copy (downtime, discard list, device state). */
void mdl__postcopy_start(mdl__sim *S);
/* Stop and copy (pre-copy) or the end of post-copy; then mdl__finish. */
void mdl__completion(mdl__sim *S);
/* Ends the run at `end` and stops the engine. */
void mdl__finish(mdl__sim *S, double end);

#endif
