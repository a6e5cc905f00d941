/* kvr: run a migsim scenario on real QEMU guests and measure it.
 *
 * kvr_run() builds the replay guest's module from the scenario's workload
 * (through wl_player, so the guest replays exactly the accesses the
 * simulator plays), starts a source and a destination qemu-system-x86_64
 * in their own process groups, drives the migration over QMP with the
 * scenario's algorithm and limits, records one mdl_round per dirty sync
 * and the final query-migrate metrics into an mdl_result with source
 * "kvmreplay", checks destination memory against the source, and always
 * kills and reaps both QEMUs. See docs/kvmreplay.md. */
#ifndef KVR_H
#define KVR_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "mdl_scenario.h"

/* What the test hook sees at each query-migrate poll. */
typedef struct {
  double t_ms;               /* since `migrate` was issued */
  const char *status;        /* query-migrate status */
  uint64_t dirty_sync_count;
  uint64_t transferred_bytes;
  pid_t source_pid, dest_pid;
} kvr_progress;

/* One QEMU calc-dirty-rate measurement on the source guest. */
typedef struct {
  uint32_t period_s;       /* calc-time asked for */
  char mode[16];           /* as QEMU reports it */
  uint64_t sample_pages;   /* sampled pages per GiB (page-sampling), else 0 */
  double start_ms;         /* when calc-dirty-rate was issued, since "go" */
  double dirty_rate_mib_s; /* query-dirty-rate's dirty-rate */
  double dirty_pages;      /* distinct pages dirtied in the period, whole
                              guest: (dirty-rate + 1/2) x calc-time x 2^20 /
                              4096 (wl_dirty_result_parse) */
} kvr_dirty_measure;

/* A sequence of calc-dirty-rate measurements, one after another, while the
 * guest plays the workload (no migration): see docs/kvmreplay.md. */
typedef struct {
  const uint32_t *periods_s; /* calc-time of each, 1..60 s (QEMU's range) */
  size_t count;
  const char *mode;          /* "page-sampling" (NULL) or "dirty-bitmap"
                                (KVM only: QEMU 7.2 crashes on it without
                                KVM, so it is refused there) */
  uint64_t sample_pages;     /* page-sampling: pages per GiB, 128..16384;
                                0 = QEMU's default (512) */
  kvr_dirty_measure *out;    /* count entries, filled in order */
  size_t done;               /* how many were filled */
} kvr_dirtyrate_plan;

typedef struct {
  const char *qemu;     /* binary name or path; NULL = qemu-system-x86_64 */
  const char *accel;    /* "auto" (NULL), "tcg", "kvm", "kvm:tcg": auto is
                           kvm:tcg unless /dev/kvm is the software kvm_pvm
                           module, which is far slower than TCG here */
  const char *guest;    /* guest ELF; NULL = $MIGSIM_KVR_GUEST or the built one */
  const char *tmp_dir;  /* parent of the private 0700 run directory;
                           NULL = $TMPDIR or /tmp */
  int keep_dir;         /* keep the run directory (logs, module, consoles) */
  uint64_t poll_ns;     /* query-migrate interval; 0 = 10 ms; at most 20 ms */
  uint64_t report_ns;   /* guest progress line interval; 0 = 100 ms */
  uint64_t late_ns;     /* a write later than this is late; 0 = 1 ms */
  int nice;             /* added to both QEMUs' nice value (negative needs
                           root): keeps replay pacing and migration timing
                           steadier on a loaded machine; 0 = unchanged */
  int vcpu_nice;        /* the nice value of the guest's vCPU threads only
                           (source and destination; negative needs root):
                           lets the vCPU win against the migration's own
                           threads and other load, as a vCPU with a core of
                           its own would; 0 = unchanged */
  int spin;             /* the guest busy-waits between events instead of
                           halting in longer gaps */
  uint64_t halt_min_ns; /* gaps longer than this are halted through (hlt +
                           APIC timer, waking min(300 us, half of it)
                           early); 0 = 200 us */
  int pin_vcpu;         /* give the guest's vCPU thread (source, and the
                           destination's after a post-copy switch) a CPU of
                           its own and keep every other QEMU thread off it;
                           needs >= 2 usable CPUs */
  kvr_dirtyrate_plan *dirtyrate; /* non-NULL: start only the source, and
                           instead of migrating run these calc-dirty-rate
                           measurements while the guest plays the
                           workload; the result is "completed" when all
                           were taken (no rounds, no integrity check) */
  const char *qemu_trace; /* comma-separated QEMU trace-event patterns
                           (`-trace enable=P` each, e.g. "postcopy_*");
                           the events go to each QEMU's log in the run
                           directory (keep it with keep_dir); NULL = none */
  const char *dest_netns; /* run the destination QEMU in this network
                           namespace (/var/run/netns/NAME, e.g. a
                           kvr_net's); NULL = the harness's own */
  const char *dest_addr;  /* IPv4 address the destination listens on and
                           the source connects to; NULL = 127.0.0.1 */
  /* Optional: called once both guests are ready and the migration is
   * configured, right before "go" and `migrate`; the migration starts when
   * it returns 0 (kvr_fleet_run holds concurrent runs here to start them
   * together or on a schedule). A negative code fails the run with it. */
  int (*gate)(void *gate_ctx);
  void *gate_ctx;
  FILE *log;            /* progress lines, or NULL */
  /* Called after every poll (tests use it to kill a QEMU mid-run). */
  void (*on_poll)(void *ctx, const kvr_progress *p);
  void *ctx;
} kvr_options;

/* Details of a real run beyond the shared result schema. */
typedef struct {
  char dir[256];             /* the private run directory (removed unless kept) */
  uint32_t base_page;        /* trace page p is guest-physical page base_page + p */
  uint64_t trace_pages;
  uint64_t ram_bytes;        /* -m given to both QEMUs */
  uint64_t ram_total_bytes;  /* query-migrate ram.total (all RAM blocks) */
  uint64_t module_bytes, module_events;
  uint64_t guest_writes, guest_reads, guest_late_writes;
  double guest_mean_lag_ms;
  uint64_t pages_compared, pages_differing, pages_written_after_switch;
  char note[160];            /* a QEMU quirk corrected in the result, or "" */
  uint64_t polls;
  double max_poll_gap_ms;    /* longest interval between query-migrate answers */
  uint64_t migrate_ns;       /* CLOCK_MONOTONIC when `migrate` was sent; 0 if never */
} kvr_info;

/* Fills defaults (all zero / NULL). */
void kvr_options_init(kvr_options *o);

/* Runs scenario s on QEMU and fills r (initialised here with source
 * "kvmreplay") and, if given, info.
 *
 * Returns 0 when a migration was attempted: r->status then says how it
 * went (completed, not_converged after migrate_cancel at the scenario's
 * timeout, or failed with r->failure, e.g. a QEMU died), and the rounds
 * seen before a failure are kept. Returns a negative code, with a one-line
 * message, when the run could not start (invalid scenario, unreadable
 * workload, QEMU not installed, post-copy without userfaultfd, ...), and
 * SIM_EINTERRUPTED after SIGINT/SIGTERM/SIGHUP (r is then a failed result).
 * Either way both QEMUs are gone when it returns; r must be freed with
 * mdl_result_free. Wall-clock cost: the migration plus guest boot (about
 * 1 s + 25 ms per MiB of non-zero initial image under TCG). */
int kvr_run(const mdl_scenario *s, const kvr_options *o, mdl_result *r, kvr_info *info);

/* The scenario as the simulator should see the replay guest: a copy of s
 * with guest-offset, guest-extra-pages and guest-nonzero describing where
 * the trace sits in the replay guest's RAM (kernel and module below it, a
 * margin above). Builds the module in a temporary file to know its size.
 * 0 or a negative code with a message. */
int kvr_sim_layout(const mdl_scenario *s, mdl_scenario *sim);

/* Checks that post-copy can work here: the userfaultfd syscall is usable
 * by this process. 0 or SIM_EUNSUPPORTED with a one-line explanation. */
/* What zlib costs this host per page of the replay guest's content at
 * compress ratio `ratio` (kvr_page_content), levels 0..9, the fastest of
 * `rounds` passes over 1024 pages: as a multifd channel compresses (one
 * stream, a sync flush per 128-page packet) and as QEMU 7.2's legacy
 * compress threads do (a new stream per page). For the profile keys
 * zlib_page_ns and compress_page_ns (`migsim bench --compress`). */
typedef struct {
  double ratio;
  uint32_t random_bytes; /* the page's random prefix for that ratio */
  double packet_ns[10];  /* multifd: ns per page */
  double page_ns[10];    /* legacy compress: ns per page */
  double packet_bytes[10], page_bytes[10]; /* compressed bytes per page, the same two ways */
} kvr_zlib_cost;
int kvr_zlib_costs(double ratio, uint32_t rounds, kvr_zlib_cost *c);

int kvr_check_userfaultfd(void);

/* This machine's CPU model name, the first "model name" of /proc/cpuinfo
 * (what a profile's `host` is matched against). SIM_ENOTFOUND without one. */
int kvr_host_cpu_model(char *buf, size_t len);

/* Resolves the QEMU binary into buf: a path, a name searched in PATH, or
 * a short version name (7.2: qemu-system-x86_64 in PATH; 10.0 or
 * qemu-10.0: the one scripts/deps.sh unpacks into /opt/migsim/qemu-10.0,
 * or $MIGSIM_QEMU10_PREFIX). SIM_ENOTFOUND with a one-line explanation
 * when missing or when a version-like name is unknown. */
int kvr_find_qemu(const char *name, char *buf, size_t len);

/* The version a short QEMU name ("10.0", "qemu-10.0") stands for, as the
 * prefix its query-version must match ("10.0."), or NULL for a path or a
 * program name (no version promised). */
const char *kvr_qemu_expected_version(const char *name);

/* ------------------------------------------------------ shaped link */

/* A real link for concurrent migrations: a network namespace for the
 * destinations, joined to the harness's namespace by a veth pair whose
 * harness end is shaped with tc (a token bucket, one FIFO) so that every
 * migration stream crosses one link of a known rate (docs/planning.md,
 * "Checked on a real network"). Root only; uses iproute2 (`ip`, `tc`). */
typedef struct {
  const char *name;    /* namespace NAME, interfaces NAME-s / NAME-d; at
                          most 12 of a-z 0-9 '-'; NULL = "migsim" */
  double rate;         /* migration payload bytes/s the link carries */
  uint64_t latency_ns; /* one-way; 0 = none (needs the netem qdisc) */
  FILE *log;           /* each ip/tc command, or NULL */
} kvr_net_opts;

typedef struct {
  char netns[16];             /* for kvr_options.dest_netns */
  char dev_src[16], dev_dst[16];
  char src_addr[16], dst_addr[16]; /* dst_addr for kvr_options.dest_addr */
  double rate;                /* payload bytes/s asked for */
  double tc_rate;             /* bytes/s given to tc: rate plus the frame
                                 headers of full 1500-byte frames */
  uint64_t latency_ns;
  FILE *log;
} kvr_net;

/* 0 when a shaped link can be made here: running as root with
 * CAP_NET_ADMIN and CAP_SYS_ADMIN, `ip` and `tc` installed; else one line
 * saying what is missing. */
int kvr_net_check(void);

/* Creates the link (removing first what an interrupted run left under the
 * same name). 0, or a negative code with one line; on failure nothing is
 * left behind. */
int kvr_net_up(const kvr_net_opts *o, kvr_net *n);

/* Removes the namespace and the veth pair; idempotent, never fails
 * (what cannot be removed is logged). n may be NULL. */
void kvr_net_down(const kvr_net *n);

/* ------------------------------------------------- concurrent runs */

typedef struct {
  const mdl_scenario *s;
  uint64_t start_ns;   /* migrate this long after the common start */
} kvr_fleet_job;

typedef struct {
  int rc;              /* kvr_run's return code */
  mdl_result r;        /* as kvr_run fills it (free with mdl_result_free) */
  kvr_info info;
  double start_s;      /* `migrate` sent, since the common start; -1 never */
  double end_s;        /* start_s + QEMU's total time; -1 never */
} kvr_fleet_outcome;

/* Runs the n jobs at once, one thread (and QEMU pair) each, with options
 * o (shared: QEMU, accelerator, dest_netns/dest_addr, ...; o->gate is
 * replaced). Every guest boots first; once all are ready (or failed
 * before), the common start is taken and each migration starts at its
 * start_ns from it. out[0..n) is filled. Returns 0 when every run was
 * attempted (each outcome's r.status says how it went), SIM_EINTERRUPTED
 * after SIGINT/SIGTERM/SIGHUP, or the first run's error that stopped a
 * run from starting (QEMU missing, ...). *makespan_s, if given: the last
 * end_s. All QEMUs are gone when it returns. */
int kvr_fleet_run(const kvr_fleet_job *jobs, size_t n, const kvr_options *o, kvr_fleet_outcome *out,
                  double *makespan_s);

#endif
