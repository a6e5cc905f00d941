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

struct mdl_sim {
  const mdl_scenario *s;
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
  double clock_offset; /* real time = workload time + clock_offset */
  double stall_ns;
  uint64_t accesses;                      /* applied so far */
  uint64_t delay_hist[SIM_HIST_BUCKETS];  /* delayed accesses (sim_hist.h) */
  int stopped;         /* vCPUs stopped (switchover) */
  int blocked;         /* waiting for a post-copy page */
  double fault_time, req_arrival, fault_page_arrival;
  uint64_t fault_page;
  int req_pending;     /* request not yet served by the source */
  int pages_remote;    /* guest runs on the destination (post-copy) */

  /* Migration thread. */
  mdl__phase phase;
  double t, limit;
  uint64_t cursor;
  double window_start;
  uint64_t window_bytes, budget;
  double bw_est, threshold, expected_downtime_ns;
  double link_free;
  mdl__flight *fl;          /* flights not known to have ended (ring) */
  size_t fl_head, fl_tail, fl_mask;
  uint64_t fl_bytes;        /* their bytes */
  int start_postcopy, return_path;
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

  int error;
};
typedef struct mdl_sim mdl__sim;

/* A driver: the source's migration thread for one kind of hypervisor. */
typedef struct {
  mdl_driver id;        /* the profile's `driver` */
  const char *name;     /* its value in a profile file */
  int postcopy;         /* can run post-copy and hybrid */
  sim_handler thread;   /* scheduled at time 0; runs until mdl__finish */
} mdl__driver;

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
/* Writes `bytes` that the destination only reads after `cpu_ns` of work;
 * `ram` counts them as RAM bytes. */
void mdl__put(mdl__sim *S, uint64_t bytes, double cpu_ns, int ram);
/* Sends one dirty page and moves the cursor past it. */
void mdl__send_page(mdl__sim *S, uint64_t page);
/* Sends the cursor's dirty-bitmap word at once when nothing can interleave
 * (returns pages sent, 0: take the page path). */
uint64_t mdl__send_word(mdl__sim *S, double step_end, int guest_can_run);
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
