/* res_plan_real: a plan against the same plan run on real QEMU
 * (res_plan_write_real; `migsim plan --real`, docs/planning.md, "Checked
 * on a real network"). The real rows are written in the plan's own vms.csv
 * schema, then each VM's total time, bytes and downtime and the makespan
 * are compared: error = |simulated - real| / real for times and bytes,
 * |simulated - real| in ms for downtime (a few ms against tens would make
 * a percentage meaningless). */
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_algo.h"
#include "res_plan.h"
#include "res_plan_internal.h"
#include "sim_err.h"
#include "sim_file.h"

/* The variant a VM of the plan ran ("precopy+auto-converge"); the
 * buffer is static: single-threaded writers, and one VM per statement. */
static const char *res__variant_name(const res__vm *v) {
  static char buf[64];
  snprintf(buf, sizeof buf, "%s%s", mdl_algo_name((mdl_algo)v->algo_used), v->auto_converge ? "+auto-converge" : "");
  return buf;
}


static double res__pct(double sim, double real) { return real > 0 ? 100.0 * fabs(sim - real) / real : NAN; }

/* Median and 90th percentile of v[0..n) (sorted in place); NaN when empty. */
static void res__q(double *v, size_t n, double *median, double *p90) {
  if (!n) {
    *median = *p90 = NAN;
    return;
  }
  gsl_sort(v, 1, n);
  *median = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.5);
  *p90 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.9);
}

/* The real run's verdict under the plan's limits (no fix is proposed for a
 * measured run). */
static const char *res__real_verdict(const res_plan *P, const res__vm *v, const res_plan_real_vm *x) {
  if (x->status == MDL_STATUS_FAILED) return "failed";
  if (x->status != MDL_STATUS_COMPLETED) return "not_converged";
  if (x->downtime_ms >= 0 && x->downtime_ms * 1e6 > (double)v->downtime_ns) return "over_downtime";
  uint64_t deadline = v->deadline_ns ? v->deadline_ns : P->o.deadline_ns;
  if (deadline && x->end_s * 1e9 > (double)deadline) return "late";
  return "ok";
}

static int res__write_real_vms(const res_plan *P, const res_plan_real_vm *real, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/vms.csv", dir);
  sim_file *f;
  int rc = sim_file_open(path, &f);
  if (rc) return rc;
  FILE *out = sim_file_stream(f);
  fputs("name,host,dest,memory_bytes,algo,fallback,start_s,end_s,total_s,downtime_ms,status,verdict,fix\n", out);
  for (size_t i = 0; i < P->nvms; i++) {
    const res__vm *v = &P->vms[i];
    const res_plan_real_vm *x = &real[i];
    res__plan_csv_cell(out, v->name);
    fputc(',', out);
    res__plan_csv_cell(out, P->hosts[v->src].name);
    fputc(',', out);
    res__plan_csv_cell(out, P->hosts[v->dst].name);
    fprintf(out, ",%llu,%s,%s,", (unsigned long long)v->pages * 4096, res__variant_name(v),
            v->fallback ? res__variant_name(v) : "");
    if (x->start_s >= 0)
      fprintf(out, "%.3f,%.3f,%.3f,", x->start_s, x->end_s, x->end_s - x->start_s);
    else
      fputs(",,,", out);
    if (x->downtime_ms >= 0) fprintf(out, "%.3f", x->downtime_ms);
    fprintf(out, ",%s,%s,\n", mdl_status_name((mdl_status)x->status), res__real_verdict(P, v, x));
  }
  return sim_file_commit(f);
}

static void res__num(char *buf, size_t len, const char *fmt, double v) {
  if (isnan(v))
    snprintf(buf, len, "–");
  else
    snprintf(buf, len, fmt, v);
}

int res_plan_write_real(const res_plan *P, const res_plan_real_vm *real, double real_makespan_s, const char *dir,
                        res_plan_real_summary *sum) {
  int rc = sim_mkdir_p(dir);
  if (rc) return rc;
  if ((rc = res__write_real_vms(P, real, dir))) return rc;
  size_t n = P->nvms;
  double *et = calloc(n + 1, sizeof *et), *eb = calloc(n + 1, sizeof *eb), *ed = calloc(n + 1, sizeof *ed);
  if (!et || !eb || !ed) {
    free(et), free(eb), free(ed);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  res_plan_real_summary s;
  memset(&s, 0, sizeof s);
  size_t nd = 0;
  char path[4096];
  sim_file *csv = NULL, *md = NULL;
  snprintf(path, sizeof path, "%s/comparison.csv", dir);
  rc = sim_file_open(path, &csv);
  snprintf(path, sizeof path, "%s/comparison.md", dir);
  if (!rc) rc = sim_file_open(path, &md);
  if (rc) goto out;
  FILE *c = sim_file_stream(csv), *m = sim_file_stream(md);
  fputs("name,algo,sim_status,real_status,sim_start_s,real_start_s,sim_total_s,real_total_s,total_err_pct,"
        "sim_bytes,real_bytes,bytes_err_pct,sim_downtime_ms,real_downtime_ms,downtime_err_ms,integrity\n",
        c);
  fprintf(m, "# Plan versus real run\n\n%zu VMs from %s over %s; %s.\n\n", n, P->inventory, P->topology,
          P->schedule);
  fputs("| VM | algo | status (sim / real) | start (s) | total sim (s) | total real (s) | error | MiB sim | "
        "MiB real | error | downtime sim (ms) | downtime real (ms) | error (ms) | integrity |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        m);
  for (size_t i = 0; i < n; i++) {
    const res__vm *v = &P->vms[i];
    const res_plan_real_vm *x = &real[i];
    int both = v->status == MDL_STATUS_COMPLETED && x->status == MDL_STATUS_COMPLETED;
    double st = v->end_s - v->start_s, rt = x->start_s >= 0 ? x->end_s - x->start_s : NAN;
    /* Errors only where both completed: a failed run's partial figures
     * say nothing about the model. */
    double tp = both ? res__pct(st, rt) : NAN;
    double bp = both ? res__pct((double)v->transferred, (double)x->transferred_bytes) : NAN;
    double dd = both && v->downtime_ms >= 0 && x->downtime_ms >= 0 ? fabs(v->downtime_ms - x->downtime_ms) : NAN;
    if (both) {
      et[s.compared] = tp;
      eb[s.compared] = bp;
      s.compared++;
      if (!isnan(dd)) ed[nd++] = dd;
    }
    res__plan_csv_cell(c, v->name);
    char tps[32] = "", bps[32] = "", rts[32] = "";
    if (!isnan(tp)) snprintf(tps, sizeof tps, "%.2f", tp);
    if (!isnan(bp)) snprintf(bps, sizeof bps, "%.2f", bp);
    if (!isnan(rt)) snprintf(rts, sizeof rts, "%.3f", rt);
    fprintf(c, ",%s,%s,%s,%.3f,%.3f,%.3f,%s,%s,%llu,%llu,%s,", res__variant_name(v),
            mdl_status_name((mdl_status)v->status), mdl_status_name((mdl_status)x->status), v->start_s, x->start_s,
            st, rts, tps, (unsigned long long)v->transferred, (unsigned long long)x->transferred_bytes, bps);
    if (v->downtime_ms >= 0) fprintf(c, "%.3f", v->downtime_ms);
    fputc(',', c);
    if (x->downtime_ms >= 0) fprintf(c, "%.3f", x->downtime_ms);
    fputc(',', c);
    if (!isnan(dd)) fprintf(c, "%.3f", dd);
    fputc(',', c);
    res__plan_csv_cell(c, x->failure[0] ? x->failure : x->integrity);
    fputc('\n', c);
    char a[32], b[32], e1[32], f1[32], g1[32], e2[32], d1[32], d2[32], e3[32];
    res__num(a, sizeof a, "%.2f", st);
    res__num(b, sizeof b, "%.2f", rt);
    res__num(e1, sizeof e1, "%.1f %%", tp);
    res__num(f1, sizeof f1, "%.1f", (double)v->transferred / 1048576.0);
    res__num(g1, sizeof g1, "%.1f", (double)x->transferred_bytes / 1048576.0);
    res__num(e2, sizeof e2, "%.1f %%", bp);
    res__num(d1, sizeof d1, "%.0f", v->downtime_ms >= 0 ? v->downtime_ms : NAN);
    res__num(d2, sizeof d2, "%.0f", x->downtime_ms >= 0 ? x->downtime_ms : NAN);
    res__num(e3, sizeof e3, "%.0f", dd);
    fprintf(m, "| %s | %s | %s / %s | %.2f / %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v->name,
            res__variant_name(v), mdl_status_name((mdl_status)v->status),
            mdl_status_name((mdl_status)x->status), v->start_s, x->start_s, a, b, e1, f1, g1, e2, d1, d2, e3,
            x->failure[0] ? x->failure : x->integrity);
  }
  s.makespan_sim_s = P->makespan_s;
  s.makespan_real_s = real_makespan_s;
  s.makespan_pct = res__pct(P->makespan_s, real_makespan_s);
  fprintf(c, "makespan,,,,,,%.3f,%.3f,%.2f,,,,,,,\n", P->makespan_s, real_makespan_s, s.makespan_pct);
  res__q(et, s.compared, &s.total_median_pct, &s.total_p90_pct);
  res__q(eb, s.compared, &s.bytes_median_pct, &s.bytes_p90_pct);
  res__q(ed, nd, &s.downtime_median_ms, &s.downtime_p90_ms);
  char m1[32], m2[32], m3[32], m4[32], m5[32], m6[32];
  res__num(m1, sizeof m1, "%.1f %%", s.total_median_pct);
  res__num(m2, sizeof m2, "%.1f %%", s.total_p90_pct);
  res__num(m3, sizeof m3, "%.1f %%", s.bytes_median_pct);
  res__num(m4, sizeof m4, "%.1f %%", s.bytes_p90_pct);
  res__num(m5, sizeof m5, "%.0f ms", s.downtime_median_ms);
  res__num(m6, sizeof m6, "%.0f ms", s.downtime_p90_ms);
  fprintf(m,
          "\nMakespan: simulated %.2f s, real %.2f s, error %.1f %%.\n\n"
          "| error over the %zu VMs completed both ways | median | p90 |\n|---|---:|---:|\n"
          "| total time (relative to real) | %s | %s |\n| bytes (relative to real) | %s | %s |\n"
          "| downtime (absolute) | %s | %s |\n",
          P->makespan_s, real_makespan_s, s.makespan_pct, s.compared, m1, m2, m3, m4, m5, m6);
  rc = sim_file_commit(csv);
  csv = NULL;
  if (!rc) rc = sim_file_commit(md);
  md = NULL;
out:
  if (csv) sim_file_abort(csv);
  if (md) sim_file_abort(md);
  free(et);
  free(eb);
  free(ed);
  if (!rc && sum) *sum = s;
  return rc;
}
