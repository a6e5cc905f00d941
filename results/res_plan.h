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

typedef struct {
  uint64_t deadline_ns;       /* plan deadline; 0 = none */
  uint64_t downtime_limit_ns; /* default per-VM limit (inventory may override) */
  uint64_t timeout_ns;        /* per migration; 0 = the deadline, else 1 h */
  res_policy policy;
  uint32_t max_parallel;      /* parallel limits (0 = none); Watcher: 6 */
  uint32_t max_per_host;      /* Watcher: 2 */
  /* Optional progress: stage text, done, total. */
  void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
  void *progress_ctx;
} res_plan_opts;

/* Defaults: no deadline, 300 ms, policy optimise, 6 at once, 2 per host. */
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
 * status (mdl_status), algorithm used (mdl_algo). 0, or SIM_ERANGE. */
typedef struct {
  const char *name;
  uint32_t src_host, dst_host;
  double start_s, end_s, downtime_ms;
  int status, algo, fallback, late, over_downtime;
} res_plan_vm_outcome;
size_t res_plan_vm_count(const res_plan *p);
int res_plan_vm(const res_plan *p, size_t i, res_plan_vm_outcome *out);

void res_plan_free(res_plan *p);

#endif
