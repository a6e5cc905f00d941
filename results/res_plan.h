/* res_plan: capacity planning. An inventory of VMs (CSV) and a topology
 * (INI) in; a schedule (order, concurrency, per-VM fallbacks) simulated
 * page-exact on one engine (mdl_fleet) out, with per-VM verdicts, the
 * changes that would fix each VM breaking a limit, a Gantt chart and link
 * utilisation. Formats and the model's approximations: docs/planning.md.
 *
 * Policies: serial; parallel (k at once in total and per host); shortest
 * first and largest dirty rate last (each with parallel's limits); and
 * optimise, which searches orders and limits with a fluid estimate (the
 * page-exact engine is too slow to run hundreds of candidates) and runs
 * only the chosen plan page-exact. */
#ifndef RES_PLAN_H
#define RES_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "mdl_scenario.h"

typedef enum {
  RES_POLICY_SERIAL,
  RES_POLICY_PARALLEL,
  RES_POLICY_SHORTEST_FIRST,
  RES_POLICY_DIRTY_LAST,
  RES_POLICY_OPTIMISE,
  RES_POLICY_COUNT
} res_policy;

const char *res_policy_name(res_policy p);
/* 0, or SIM_EINVAL naming the choices. */
int res_policy_parse(const char *name, res_policy *out);

/* The fallback ladder of a pre-copy VM that would not converge or would
 * break its downtime limit (optimise only): the rungs run in this order,
 * a set of these bits chooses which exist. */
enum {
  RES_FALLBACK_AUTO_CONVERGE = 1, /* pre-copy with auto-converge (the guest is throttled) */
  RES_FALLBACK_HYBRID = 2,
  RES_FALLBACK_POSTCOPY = 4,
  RES_FALLBACK_ALL = 7
};
/* "auto-converge,hybrid,postcopy" (any subset, any order) or "none" into
 * bits; 0, or SIM_EINVAL with one line naming the valid names. */
int res_fallbacks_parse(const char *list, unsigned *out);

typedef struct {
  uint64_t deadline_ns;       /* plan deadline; 0 = none */
  uint64_t downtime_limit_ns; /* default per-VM limit (inventory may override) */
  uint64_t timeout_ns;        /* per migration; 0 = the deadline, else 1 h */
  res_policy policy;
  uint32_t max_parallel;      /* parallel limits (0 = none); Watcher: 6 */
  uint32_t max_per_host;      /* Watcher: 2 */
  double nic_bytes_per_s;     /* what-if: every host's NIC at this speed (0: the topology's) */
  unsigned fallbacks;         /* RES_FALLBACK_* bits (default all; 0 = none) */
  /* Optional: called on every VM's scenario, after the plan filled it and
   * before it is simulated (migsim plan --real gives the simulator the
   * replay guest's whole memory this way: kvr_sim_layout). 0, or a
   * negative code that stops the run. */
  int (*adjust)(void *ctx, mdl_scenario *s);
  void *adjust_ctx;
  /* Optional progress: stage text, done, total. */
  void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
  void *progress_ctx;
} res_plan_opts;

/* Defaults: no deadline, 300 ms, policy optimise, 6 at once, 2 per host,
 * every fallback. */
void res_plan_opts_defaults(res_plan_opts *o);

typedef struct res_plan res_plan;

/* Reads and checks both files (every row, before anything runs): errors
 * are one line, "FILE:LINE: ..." naming the column. Opens each VM's
 * workload once to check it and to read what the estimate needs. 0 and
 * *out, or a negative code. */
int res_plan_load(const char *inventory, const char *topology, const res_plan_opts *o, res_plan **out);

/* Chooses the schedule (policy) and simulates it page-exact. 0 or a
 * negative code. */
int res_plan_run(res_plan *p);

/* Figures of a plan that has run. */
typedef struct {
  size_t vms;
  double makespan_s;
  double estimated_makespan_s; /* the fluid estimate of the chosen schedule */
  size_t completed, not_converged, over_downtime, late, fallbacks;
  size_t candidates;           /* schedules the optimiser estimated */
  char schedule[160];          /* chosen order and limits, in words */
} res_plan_summary;
void res_plan_summarise(const res_plan *p, res_plan_summary *s);

/* Writes vms.csv, links.csv, gantt.png, links.png, report.md and a
 * self-contained report.html (images embedded) into `dir` (created).
 * 0 or a negative code. */
int res_plan_write(const res_plan *p, const char *dir);

/* Per-VM outcome, for tests: start and end (s), downtime (ms, -1 none),
 * status (mdl_status), algorithm used (mdl_algo), whether it ran with
 * auto-converge and the throttle that caused (highest %, guest time lost,
 * ms; 0 without). 0, or SIM_ERANGE. */
typedef struct {
  const char *name;
  uint32_t src_host, dst_host;
  double start_s, end_s, downtime_ms;
  uint64_t transferred_bytes;
  int status, algo, fallback, late, over_downtime;
  int auto_converge;
  uint64_t cpu_throttle_pct;
  double guest_throttle_ms;
} res_plan_vm_outcome;
size_t res_plan_vm_count(const res_plan *p);
int res_plan_vm(const res_plan *p, size_t i, res_plan_vm_outcome *out);

/* VM i's scenario as the plan migrates it (algorithm after fallbacks,
 * rate limit, downtime limit, timeout, latency), before opts.adjust: what a
 * real run of the plan runs. 0, or SIM_ERANGE. */
int res_plan_vm_scenario(const res_plan *p, size_t i, mdl_scenario *s);

/* The one link a real run of the plan can reproduce: every VM must take
 * the same path (one source host, one destination host). *rate: the
 * path's slowest link (bytes/s); *latency_ns: its latency. 0, or
 * SIM_EUNSUPPORTED with one line naming the first VM on another path. */
int res_plan_one_link(const res_plan *p, double *rate, uint64_t *latency_ns);

/* ------------------------------------------------ real versus plan */

/* One VM of the plan as it ran on real QEMU (kvr_fleet_run). */
typedef struct {
  double start_s, end_s;  /* since the common start; -1 when it never started */
  double downtime_ms;     /* -1 when it did not complete */
  uint64_t transferred_bytes;
  int status;             /* mdl_status */
  char integrity[64];     /* "ok", "N differing pages", "" */
  char failure[256];      /* why it failed, or "" */
} res_plan_real_vm;

/* Errors of the plan against the real run: absolute errors of the plan
 * relative to the real value, over the VMs that completed on both sides. */
typedef struct {
  size_t compared;                     /* VMs completed both ways */
  double total_median_pct, total_p90_pct;
  double bytes_median_pct, bytes_p90_pct;
  double downtime_median_ms, downtime_p90_ms; /* absolute, ms */
  double makespan_sim_s, makespan_real_s, makespan_pct;
} res_plan_real_summary;

/* Writes into dir (created): vms.csv (the real runs in the plan's
 * schema: start, end, total time, downtime, status, verdict; fix empty),
 * comparison.csv (per VM: simulated, real and error of total time, bytes
 * and downtime, then a makespan row) and comparison.md (the same as a
 * table, with medians and 90th percentiles). real[0..vm count). Fills *sum
 * when not NULL. 0 or a negative code. */
int res_plan_write_real(const res_plan *p, const res_plan_real_vm *real, double real_makespan_s, const char *dir,
                        res_plan_real_summary *sum);

void res_plan_free(res_plan *p);

#endif
