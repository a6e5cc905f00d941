/* mdl_fleet: many page-exact migrations on one event engine, sharing
 * links max-min fairly, started by a list schedule.
 *
 * Each migration is an mdl_sim (its own driver, guest and socket) on the
 * fleet's engine. It crosses a path of links (source NIC, destination NIC,
 * uplinks); whenever a migration starts, ends or changes the rate it asks
 * for (mdl_sim_demand: its rate limit in pre-copy, none in stop-and-copy,
 * post-copy's own), the fleet recomputes every active migration's rate as
 * min(its demand, its max-min fair share of every link on its path)
 * (progressive filling) and hands it to mdl_sim_set_link_rate. Writes
 * already in the socket keep the rate they were sent at: the share applies
 * to writes made after the change (docs/planning.md, "Sharing").
 *
 * Schedule: jobs are taken in the caller's order; at time 0 and whenever a
 * migration ends, every job not yet started whose start keeps the limits
 * (migrations in total, migrations touching one host as source or
 * destination) starts, in that order (a job blocked by a host limit lets
 * later jobs pass). Memory: one scenario and one result per running
 * migration; the caller sees each finished result once, through a
 * callback, so a plan of 10,000 VMs holds only the running ones. */
#ifndef MDL_FLEET_H
#define MDL_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "mdl_profile.h"
#include "mdl_scenario.h"

enum { MDL_FLEET_MAX_PATH = 6 };
/* With other migrations running, a migration's thread runs at most this
 * far ahead of the engine (mdl_sim_set_quantum): a share changes at most
 * this late. QEMU's rate-limit window. */
#define MDL_FLEET_QUANTUM_NS 100000000ull

/* One migration to schedule. */
typedef struct {
  uint32_t src_host, dst_host;             /* for the per-host limit */
  uint32_t links[MDL_FLEET_MAX_PATH];      /* link indexes on its path */
  uint32_t nlinks;
} mdl_fleet_job;

typedef struct {
  uint32_t max_total;    /* migrations at once; 0 = no limit */
  uint32_t max_per_host; /* migrations at once touching one host; 0 = no limit */
} mdl_fleet_limits;

typedef struct {
  /* Fills *s (already mdl_scenario_defaults) and *profile for job `job`
   * when it starts; the profile pointer must stay valid until the job
   * ends. 0, or a negative code (the run stops with it). */
  int (*prepare)(void *ctx, size_t job, mdl_scenario *s, const mdl_profile **profile);
  /* Job `job` ended: started at start_ns (fleet time), its result (times
   * are its own, from 0). `r` is freed after the call. */
  void (*finished)(void *ctx, size_t job, uint64_t start_ns, const mdl_result *r);
  /* Optional: the links' allocated rates (bytes/s, nlinks of them) from
   * fleet time t_ns on, after every recomputation. */
  void (*rates)(void *ctx, uint64_t t_ns, const double *link_load, size_t nlinks);
  void *ctx;
} mdl_fleet_callbacks;

/* Max-min fair rates (progressive filling): flow f asks for at most
 * demand[f] (INFINITY = no cap) and crosses path[f][0..plen[f]) of links
 * with capacity cap[0..nlinks). Writes rate[f]; `work` needs
 * 2 * nlinks + nflows doubles. O((flows + links) * flows * path). */
void mdl_fleet_maxmin(size_t nflows, const double *demand, const uint32_t (*path)[MDL_FLEET_MAX_PATH],
                      const uint32_t *plen, size_t nlinks, const double *cap, double *rate,
                      double *work);

/* Runs jobs[order[0..norder)] on links of capacity cap[0..nlinks)
 * (bytes/s) under `limits`. Returns 0 when every job ran (completed or
 * not), or the first error (from prepare or a migration), with its
 * message; *makespan_ns when not NULL. Deterministic. */
int mdl_fleet_run(const mdl_fleet_job *jobs, const size_t *order, size_t norder, const double *cap,
                  size_t nlinks, const mdl_fleet_limits *limits, const mdl_fleet_callbacks *cb,
                  uint64_t *makespan_ns);

#endif
