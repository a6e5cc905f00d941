/* res_output: summary.csv, rounds.csv and timeline.csv for every run. */
#include "res_output.h"

#include <stdlib.h>
#include <string.h>

#include "res_csv.h"
#include "sim_err.h"
#include "sim_file.h"

/* Column lists: the scenario's parameters first, then the metrics
 * (docs/design.md, "Metrics"). */
static const char *const res__summary_cols[] = {
    "run_id", "source", "name", "workload", "pages", "page_size", "memory_bytes", "algo",
    "profile", "max_bandwidth", "downtime_limit_ms", "link_bandwidth", "latency_ms",
    "postcopy_bandwidth", "switch_policy", "switch_after", "switch_time_s", "timeout_s",
    "trace_offset_s", "seed",
    /* metrics */
    "status", "total_time_ms", "downtime_ms", "setup_time_ms", "transferred_bytes",
    "precopy_bytes", "postcopy_bytes", "normal_pages", "zero_pages", "dirty_sync_count",
    "postcopy_requests", "guest_stall_ms", "delayed_share", "delay_p50_ms", "delay_p99_ms",
    "expected_downtime_ms", "switch_time_ms",
    /* real runs */
    "integrity", "accel", "qemu_version", "replay_lag_ms", "replay_on_time", "failure"};

static const char *const res__round_cols[] = {
    "run_id", "source", "name", "algo", "round", "start_ms", "end_ms", "pages_sent",
    "bytes_sent", "dirty_pages_at_sync", "bandwidth_est"};

static const char *const res__timeline_cols[] = {
    "run_id", "source", "name", "algo", "t_ms", "transferred_bytes", "dirty_pages",
    "bandwidth_est", "threshold_bytes", "dirty_sync_count", "phase"};

#define RES__N(a) (sizeof(a) / sizeof((a)[0]))

static void res__cells_id(res_csv *c, const char *run_id, const mdl_scenario *s, const mdl_result *r) {
  res_csv_str(c, run_id);
  res_csv_str(c, r->source);
  res_csv_str(c, s->name);
}

/* Negative values mark "not measured" (e.g. no switch): an empty cell. */
static void res__opt(res_csv *c, double v) {
  if (v < 0)
    res_csv_empty(c);
  else
    res_csv_double(c, v);
}

static int res__summary(const char *path, const char *run_id, const mdl_scenario *s,
                        const mdl_result *r) {
  res_csv *c;
  int rc = res_csv_append(path, res__summary_cols, RES__N(res__summary_cols), &c);
  if (rc) return rc;
  res__cells_id(c, run_id, s, r);
  res_csv_str(c, s->workload);
  res_csv_u64(c, s->pages);
  res_csv_u64(c, s->page_size);
  res_csv_u64(c, s->pages * s->page_size);
  res_csv_str(c, mdl_algo_name(s->algo));
  res_csv_str(c, s->profile);
  res_csv_double(c, s->max_bandwidth);
  res_csv_double(c, (double)s->downtime_limit_ns / 1e6);
  res_csv_double(c, s->link_bandwidth);
  res_csv_double(c, (double)s->latency_ns / 1e6);
  res_csv_double(c, s->postcopy_bandwidth);
  res_csv_str(c, s->algo == MDL_ALGO_HYBRID ? mdl_switch_policy_name(s->switch_policy) : "");
  res_csv_u64(c, s->switch_after);
  res_csv_double(c, (double)s->switch_time_ns / 1e9);
  res_csv_double(c, (double)s->timeout_ns / 1e9);
  res_csv_double(c, (double)s->trace_offset_ns / 1e9);
  res_csv_u64(c, s->seed);
  res_csv_str(c, mdl_status_name(r->status));
  res_csv_double(c, r->total_time_ms);
  res_csv_double(c, r->downtime_ms);
  res_csv_double(c, r->setup_time_ms);
  res_csv_u64(c, r->transferred_bytes);
  res_csv_u64(c, r->precopy_bytes);
  res_csv_u64(c, r->postcopy_bytes);
  res_csv_u64(c, r->normal_pages);
  res_csv_u64(c, r->zero_pages);
  res_csv_u64(c, r->dirty_sync_count);
  res_csv_u64(c, r->postcopy_requests);
  res_csv_double(c, r->guest_stall_ms);
  res__opt(c, r->delayed_share);
  res__opt(c, r->delay_p50_ms);
  res__opt(c, r->delay_p99_ms);
  res_csv_double(c, r->expected_downtime_ms);
  res__opt(c, r->switch_time_ms);
  res_csv_str(c, r->integrity);
  res_csv_str(c, r->accel);
  res_csv_str(c, r->qemu_version);
  res__opt(c, r->replay_lag_ms);
  res__opt(c, r->replay_on_time);
  res_csv_str(c, r->failure);
  rc = res_csv_end_row(c);
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

static int res__rounds(const char *path, const char *run_id, const mdl_scenario *s,
                       const mdl_result *r) {
  if (r->round_count == 0) return 0;
  res_csv *c;
  int rc = res_csv_append(path, res__round_cols, RES__N(res__round_cols), &c);
  if (rc) return rc;
  for (size_t i = 0; i < r->round_count && !rc; i++) {
    const mdl_round *d = &r->rounds[i];
    res__cells_id(c, run_id, s, r);
    res_csv_str(c, mdl_algo_name(s->algo));
    res_csv_u64(c, d->round);
    res_csv_double(c, d->start_ms);
    res_csv_double(c, d->end_ms);
    res_csv_u64(c, d->pages_sent);
    res_csv_u64(c, d->bytes_sent);
    res_csv_u64(c, d->dirty_pages_at_sync);
    res_csv_double(c, d->bandwidth_est);
    rc = res_csv_end_row(c);
  }
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

static int res__timeline(const char *path, const char *run_id, const mdl_scenario *s,
                         const mdl_result *r) {
  if (r->sample_count == 0) return 0;
  res_csv *c;
  int rc = res_csv_append(path, res__timeline_cols, RES__N(res__timeline_cols), &c);
  if (rc) return rc;
  for (size_t i = 0; i < r->sample_count && !rc; i++) {
    const mdl_sample *m = &r->samples[i];
    res__cells_id(c, run_id, s, r);
    res_csv_str(c, mdl_algo_name(s->algo));
    res_csv_double(c, m->t_ms);
    res_csv_u64(c, m->transferred_bytes);
    res_csv_u64(c, m->dirty_pages);
    res_csv_double(c, m->bandwidth_est);
    res_csv_double(c, m->threshold_bytes);
    res_csv_u64(c, m->dirty_sync_count);
    res_csv_str(c, m->phase);
    rc = res_csv_end_row(c);
  }
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

int res_write_run(const char *dir, const char *run_id, const mdl_scenario *s,
                  const mdl_result *r) {
  int rc = sim_mkdir_p(dir);
  if (rc) return rc;
  size_t n = strlen(dir) + 32;
  char *path = malloc(n);
  if (!path) return sim_errorf(SIM_ENOMEM, "out of memory");
  /* Rounds and timeline first: a summary row is the marker that a run is
   * complete (sweeps resume from summary.csv). */
  snprintf(path, n, "%s/rounds.csv", dir);
  rc = res__rounds(path, run_id, s, r);
  if (!rc) {
    snprintf(path, n, "%s/timeline.csv", dir);
    rc = res__timeline(path, run_id, s, r);
  }
  if (!rc) {
    snprintf(path, n, "%s/summary.csv", dir);
    rc = res__summary(path, run_id, s, r);
  }
  free(path);
  return rc;
}

void res_print_header(FILE *out) {
  fprintf(out, "%-22s %-9s %-13s %10s %9s %11s %6s %8s %9s\n", "scenario", "algo", "status",
          "total_ms", "down_ms", "MiB_sent", "syncs", "requests", "stall_ms");
}

void res_print_row(FILE *out, const mdl_scenario *s, const mdl_result *r) {
  fprintf(out, "%-22.22s %-9s %-13s %10.1f %9.2f %11.1f %6llu %8llu %9.1f\n", s->name,
          mdl_algo_name(s->algo), mdl_status_name(r->status), r->total_time_ms, r->downtime_ms,
          (double)r->transferred_bytes / 1048576.0, (unsigned long long)r->dirty_sync_count,
          (unsigned long long)r->postcopy_requests, r->guest_stall_ms);
}
