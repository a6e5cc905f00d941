/* res_plan_internal: the plan's state, shared by res_plan.c (inputs,
 * search, simulation) and res_plan_report.c (outputs). Not public. */
#ifndef RES_PLAN_INTERNAL_H
#define RES_PLAN_INTERNAL_H

#include <stdio.h>
#include <stdint.h>

#include "mdl_fleet.h"
#include "mdl_profile.h"
#include "res_plan.h"

typedef struct {
  char name[64];
  double nic;          /* bytes/s, each direction */
  uint64_t latency_ns; /* added to the topology's */
  int rack;            /* -1: none */
  int target;          /* may receive VMs */
  unsigned line;
} res__host;

typedef struct {
  char name[64];
  double uplink; /* bytes/s each direction; 0 = not a constraint */
} res__rack;

typedef struct {
  char *name, *workload;
  unsigned long line;
  uint32_t src, dst;
  uint64_t pages;          /* guest pages */
  uint32_t profile;        /* index in plan->profiles */
  int algo;                /* mdl_algo asked for */
  double max_bw;           /* 0 = the path's NIC speed */
  uint64_t downtime_ns, deadline_ns;
  int priority;
  /* What the estimate knows of the workload. */
  double first_pass_bytes; /* the first pass's bytes on the wire */
  double write_rate;       /* page writes per second */
  double wss;              /* pages the writes spread over */
  /* The plan. */
  int algo_used, fallback;
  int auto_converge;       /* algo_used is pre-copy with auto-converge */
  double est_s;            /* estimated time alone on its path */
  /* Outcome (page-exact). */
  double start_s, end_s, downtime_ms;
  uint64_t transferred;
  uint64_t cpu_throttle_pct;  /* auto-converge: highest throttle, % */
  double guest_throttle_ms;   /* auto-converge: guest time lost */
  int status, done;
} res__vm;

/* Utilisation of one link, time-averaged over fixed bins. */
enum { RES__BINS = 400 };

struct res_plan {
  res_plan_opts o;
  char *inventory, *topology;
  res__host *hosts;
  size_t nhosts;
  res__rack *racks;
  size_t nracks;
  double uplink;           /* switch capacity, 0 = none */
  uint64_t latency_ns;
  mdl_profile *profiles;
  size_t nprofiles;
  res__vm *vms;
  size_t nvms;
  /* Links: host h sends on 2h, receives on 2h+1; then the switch; then
   * rack r's uplink out and in. */
  double *cap;
  char (*link_name)[80];
  size_t nlinks;
  mdl_fleet_job *jobs;
  /* The chosen schedule. */
  size_t *order;
  mdl_fleet_limits limits;
  char schedule[160];
  size_t candidates;
  double est_makespan_s;
  /* Outcome. */
  double makespan_s;
  double bin_s;            /* width of a utilisation bin */
  double *util;            /* nlinks x RES__BINS: byte-seconds per bin */
  double *load_now;        /* the links' current allocated rates */
  double load_since_s;
  int ran;
};

/* Writes one CSV cell, quoted when it holds a comma, a quote or a line
 * break (res_plan_report.c); the plan's CSVs and --real's share it. */
void res__plan_csv_cell(FILE *out, const char *text);

#endif
