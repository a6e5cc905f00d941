/* res_plan_report: a plan's outputs (res_plan_write): per-VM and per-link
 * CSVs, a Gantt chart and link utilisation (PLplot), report.md and a
 * self-contained report.html with the images embedded as base64. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_algo.h"
#include "mdl_scenario.h"
#include "res_plan.h"
#include "res_plan_internal.h"
#include "res_plot.h"
#include "sim_err.h"
#include "sim_file.h"

/* The VM's verdict and the change that would fix it ("" when none). */
static const char *res__verdict(const res_plan *P, const res__vm *v, char *fix, size_t len) {
  res_plan_vm_outcome o;
  res_plan_vm(P, (size_t)(v - P->vms), &o);
  fix[0] = '\0';
  double path = P->hosts[v->src].nic < P->hosts[v->dst].nic ? P->hosts[v->src].nic : P->hosts[v->dst].nic;
  if (o.status != MDL_STATUS_COMPLETED) {
    if (v->algo_used == MDL_ALGO_PRECOPY)
      snprintf(fix, len, "post-copy or hybrid: pre-copy does not converge at its share of the %.3g Gbit/s path",
               path * 8 / 1e9);
    else
      snprintf(fix, len, "a longer timeout (%.0f s) or more bandwidth than its share of %.3g Gbit/s",
               (double)P->o.timeout_ns / 1e9, path * 8 / 1e9);
    return "not_converged";
  }
  if (o.over_downtime) {
    snprintf(fix, len, "post-copy (downtime of a switch: a few ms), or a downtime limit of %.0f ms", ceil(o.downtime_ms));
    return "over_downtime";
  }
  if (o.late) {
    double left = (double)v->deadline_ns / 1e9 - v->start_s;
    if (left > 0)
      snprintf(fix, len, "a higher priority (started at %.1f s), or %.3g Gbit/s for it from its start", v->start_s,
               (double)v->transferred * 8 / left / 1e9);
    else
      snprintf(fix, len, "a slot before the deadline: a higher priority (it started at %.1f s)", v->start_s);
    return "late";
  }
  return "ok";
}

/* The variant the VM ran: its algorithm, "+auto-converge" when on. */
static const char *res__variant(const res__vm *v, char *buf, size_t len) {
  snprintf(buf, len, "%s%s", mdl_algo_name((mdl_algo)v->algo_used), v->auto_converge ? "+auto-converge" : "");
  return buf;
}

/* Whether any VM ran with auto-converge: only then do the outputs carry
 * the throttle (so plans without it keep their bytes). */
static int res__any_auto_converge(const res_plan *P) {
  for (size_t i = 0; i < P->nvms; i++)
    if (P->vms[i].auto_converge) return 1;
  return 0;
}

static int res__open(const char *dir, const char *name, sim_file **f, char *path, size_t len) {
  snprintf(path, len, "%s/%s", dir, name);
  return sim_file_open(path, f);
}

/* A CSV cell: quoted when it holds a comma, a quote or a line break
 * (res_plan_internal.h). */
void res__plan_csv_cell(FILE *out, const char *text) {
  if (!strpbrk(text, ",\"\r\n")) {
    fputs(text, out);
    return;
  }
  fputc('"', out);
  for (; *text; text++) {
    if (*text == '"') fputc('"', out);
    fputc(*text, out);
  }
  fputc('"', out);
}

static int res__write_vms(const res_plan *P, const char *dir) {
  char path[4096], fix[512], variant[64];
  sim_file *f;
  int rc = res__open(dir, "vms.csv", &f, path, sizeof path);
  if (rc) return rc;
  FILE *out = sim_file_stream(f);
  int throttle = res__any_auto_converge(P);
  fputs("name,host,dest,memory_bytes,algo,fallback,start_s,end_s,total_s,downtime_ms,status,verdict,fix", out);
  fputs(throttle ? ",cpu_throttle_percentage,guest_throttle_ms\n" : "\n", out);
  for (size_t i = 0; i < P->nvms; i++) {
    const res__vm *v = &P->vms[i];
    const char *verdict = res__verdict(P, v, fix, sizeof fix);
    res__plan_csv_cell(out, v->name);
    fputc(',', out);
    res__plan_csv_cell(out, P->hosts[v->src].name);
    fputc(',', out);
    res__plan_csv_cell(out, P->hosts[v->dst].name);
    res__variant(v, variant, sizeof variant);
    fprintf(out, ",%llu,%s,%s,%.3f,%.3f,%.3f,", (unsigned long long)v->pages * 4096, variant,
            v->fallback ? variant : "", v->start_s, v->end_s, v->end_s - v->start_s);
    if (v->downtime_ms >= 0) fprintf(out, "%.3f", v->downtime_ms);
    fprintf(out, ",%s,%s,", mdl_status_name((mdl_status)v->status), verdict);
    res__plan_csv_cell(out, fix);
    if (throttle && v->auto_converge) fprintf(out, ",%llu,%.3f", (unsigned long long)v->cpu_throttle_pct, v->guest_throttle_ms);
    else if (throttle) fputs(",,", out);
    fputc('\n', out);
  }
  return sim_file_commit(f);
}

/* Links that carried anything, busiest (peak bin) first. */
static size_t res__busy_links(const res_plan *P, size_t *idx, double *peak) {
  size_t n = 0;
  for (size_t l = 0; l < P->nlinks; l++) {
    double pk = 0;
    for (size_t b = 0; b < RES__BINS; b++) {
      double u = P->util[l * RES__BINS + b] / P->bin_s / P->cap[l];
      if (u > pk) pk = u;
    }
    peak[l] = pk;
    if (pk > 0 && isfinite(P->cap[l])) idx[n++] = l;
  }
  for (size_t i = 1; i < n; i++) /* insertion sort, stable: file order on ties */
    for (size_t j = i; j > 0 && peak[idx[j]] > peak[idx[j - 1]]; j--) {
      size_t t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  return n;
}

static size_t res__bins_used(const res_plan *P) {
  size_t bins = (size_t)ceil(P->makespan_s / P->bin_s);
  return bins > RES__BINS ? RES__BINS : bins ? bins : 1;
}

static int res__write_links(const res_plan *P, const char *dir, const size_t *idx, size_t n) {
  char path[4096];
  sim_file *f;
  int rc = res__open(dir, "links.csv", &f, path, sizeof path);
  if (rc) return rc;
  FILE *out = sim_file_stream(f);
  fputs("link,capacity_bytes_per_s,t_start_s,t_end_s,utilisation\n", out);
  size_t bins = res__bins_used(P);
  for (size_t i = 0; i < n; i++) {
    size_t l = idx[i];
    for (size_t b = 0; b < bins; b++) {
      res__plan_csv_cell(out, P->link_name[l]);
      fprintf(out, ",%.17g,%.3f,%.3f,%.4f\n", P->cap[l], (double)b * P->bin_s, (double)(b + 1) * P->bin_s,
              P->util[l * RES__BINS + b] / P->bin_s / P->cap[l]);
    }
  }
  return sim_file_commit(f);
}

/* Gantt: one horizontal bar per VM (row = start order), coloured by
 * verdict. One series per verdict, bars separated by breaks. */
static int res__gantt(const res_plan *P, const char *dir) {
  size_t n = P->nvms;
  size_t *row = malloc(n * sizeof *row);
  double *x = malloc(3 * n * sizeof *x), *y = malloc(3 * n * sizeof *y);
  int rc = 0;
  if (!row || !x || !y) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto out;
  }
  /* Rows in start order (the schedule's order). */
  for (size_t i = 0; i < n; i++) row[P->order[i]] = i;
  static const char *const names[] = {"ok", "late or over its downtime limit", "not converged"};
  res_plot_series s[3];
  size_t used = 0, at = 0;
  for (int k = 0; k < 3; k++) {
    size_t first = at;
    for (size_t i = 0; i < n; i++) {
      const res__vm *v = &P->vms[i];
      res_plan_vm_outcome o;
      res_plan_vm(P, i, &o);
      int kind = o.status != MDL_STATUS_COMPLETED ? 2 : (o.late || o.over_downtime) ? 1 : 0;
      if (kind != k) continue;
      double r = (double)(row[i] + 1);
      x[at] = v->start_s / 60, y[at++] = r;
      x[at] = v->end_s / 60, y[at++] = r;
      x[at] = v->end_s / 60, y[at++] = NAN;
    }
    if (at > first) s[used++] = (res_plot_series){.name = names[k], .x = x + first, .y = y + first, .n = at - first};
  }
  char path[4096], title[128];
  snprintf(path, sizeof path, "%s/gantt.png", dir);
  snprintf(title, sizeof title, "Migrations over time (%zu VMs, makespan %.1f min)", n, P->makespan_s / 60);
  res_plot_opts o = {.title = title, .x_label = "time (min)", .y_label = "VM (in schedule order)"};
  rc = res_plot_lines(path, &o, s, used);
out:
  free(row);
  free(x);
  free(y);
  return rc;
}

static int res__links_png(const res_plan *P, const char *dir, const size_t *idx, size_t n) {
  enum { SHOWN = 8 };
  size_t bins = res__bins_used(P), k = n < SHOWN ? n : SHOWN;
  if (!k) return 0;
  double *x = malloc(bins * sizeof *x), *y = malloc(k * bins * sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  res_plot_series s[SHOWN];
  for (size_t b = 0; b < bins; b++) x[b] = ((double)b + 0.5) * P->bin_s / 60;
  for (size_t i = 0; i < k; i++) {
    size_t l = idx[i];
    for (size_t b = 0; b < bins; b++) y[i * bins + b] = 100 * P->util[l * RES__BINS + b] / P->bin_s / P->cap[l];
    s[i] = (res_plot_series){.name = P->link_name[l], .x = x, .y = y + i * bins, .n = bins};
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/links.png", dir);
  res_plot_opts o = {.title = "Link utilisation (allocated share, busiest links)", .x_label = "time (min)",
                     .y_label = "% of capacity"};
  int rc = res_plot_lines(path, &o, s, k);
  free(x);
  free(y);
  return rc;
}

static void res__base64(FILE *out, const unsigned char *d, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
    fputc(t[v >> 18 & 63], out);
    fputc(t[v >> 12 & 63], out);
    fputc(i + 1 < n ? t[v >> 6 & 63] : '=', out);
    fputc(i + 2 < n ? t[v & 63] : '=', out);
  }
}

static int res__embed(FILE *out, const char *dir, const char *name, const char *alt) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return 0; /* not drawn (e.g. no link carried anything) */
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *d = len > 0 ? malloc((size_t)len) : NULL;
  if (!d || fread(d, 1, (size_t)len, f) != (size_t)len) {
    free(d);
    fclose(f);
    return sim_errorf(SIM_EIO, "cannot read %s", path);
  }
  fclose(f);
  fprintf(out, "<p><img alt=\"%s\" src=\"data:image/png;base64,", alt);
  res__base64(out, d, (size_t)len);
  fputs("\"></p>\n", out);
  free(d);
  return 0;
}

/* Text shared by the Markdown and the HTML report: both are written from
 * the same rows, `html` choosing the markup. */
typedef struct {
  FILE *out;
  int html;
} res__doc;

static void res__esc(res__doc *d, const char *s) {
  for (; *s; s++) {
    if (d->html && *s == '<') fputs("&lt;", d->out);
    else if (d->html && *s == '>') fputs("&gt;", d->out);
    else if (d->html && *s == '&') fputs("&amp;", d->out);
    else if (!d->html && *s == '|') fputs("\\|", d->out);
    else fputc(*s, d->out);
  }
}

static void res__row(res__doc *d, const char *const *cells, size_t n, int header) {
  if (d->html) {
    fputs("<tr>", d->out);
    for (size_t i = 0; i < n; i++) {
      fputs(header ? "<th>" : "<td>", d->out);
      res__esc(d, cells[i]);
      fputs(header ? "</th>" : "</td>", d->out);
    }
    fputs("</tr>\n", d->out);
    return;
  }
  fputs("|", d->out);
  for (size_t i = 0; i < n; i++) {
    fputc(' ', d->out);
    res__esc(d, cells[i]);
    fputs(" |", d->out);
  }
  fputc('\n', d->out);
  if (header) {
    fputs("|", d->out);
    for (size_t i = 0; i < n; i++) fputs(i ? "---:|" : "---|", d->out);
    fputc('\n', d->out);
  }
}

static void res__table_start(res__doc *d) {
  if (d->html) fputs("<table>\n", d->out);
}
static void res__table_end(res__doc *d) { fputs(d->html ? "</table>\n" : "\n", d->out); }

static void res__para(res__doc *d, const char *text) {
  if (d->html) {
    fputs("<p>", d->out);
    res__esc(d, text);
    fputs("</p>\n", d->out);
  } else {
    fprintf(d->out, "%s\n\n", text);
  }
}

static void res__heading(res__doc *d, int level, const char *text) {
  if (d->html) {
    fprintf(d->out, "<h%d>", level);
    res__esc(d, text);
    fprintf(d->out, "</h%d>\n", level);
  } else {
    fprintf(d->out, "%.*s %s\n\n", level, "###", text);
  }
}

static int res__report(const res_plan *P, const char *dir, int html, const size_t *busy, size_t nbusy,
                       const double *peak) {
  char path[4096], buf[1024];
  sim_file *f;
  int rc = res__open(dir, html ? "report.html" : "report.md", &f, path, sizeof path);
  if (rc) return rc;
  res__doc d = {sim_file_stream(f), html};
  res_plan_summary s;
  res_plan_summarise(P, &s);
  if (html)
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>migsim plan</title>\n"
          "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
          "img{max-width:100%}</style></head><body>\n",
          d.out);
  res__heading(&d, 1, "Evacuation plan");
  snprintf(buf, sizeof buf, "%zu VMs from %s over %s; policy %s: %s.", s.vms, P->inventory, P->topology,
           res_policy_name(P->o.policy), s.schedule);
  res__para(&d, buf);
  res__table_start(&d);
  const char *hdr[] = {"figure", "value"};
  res__row(&d, hdr, 2, 1);
  char v[160];
  snprintf(v, sizeof v, "%.1f s (%.1f min)", s.makespan_s, s.makespan_s / 60);
  const char *r1[] = {"makespan (page-exact)", v};
  res__row(&d, r1, 2, 0);
  snprintf(v, sizeof v, "%.1f s", s.estimated_makespan_s);
  const char *r2[] = {"makespan estimated (fluid model)", v};
  res__row(&d, r2, 2, 0);
  if (P->o.deadline_ns) {
    snprintf(v, sizeof v, "%.1f min: %s", (double)P->o.deadline_ns / 60e9,
             s.makespan_s * 1e9 <= (double)P->o.deadline_ns ? "met" : "missed");
    const char *r[] = {"deadline", v};
    res__row(&d, r, 2, 0);
  }
  snprintf(v, sizeof v, "%zu of %zu", s.completed, s.vms);
  const char *r3[] = {"completed", v};
  res__row(&d, r3, 2, 0);
  snprintf(v, sizeof v, "%zu", s.not_converged);
  const char *r4[] = {"not converged (timeout)", v};
  res__row(&d, r4, 2, 0);
  snprintf(v, sizeof v, "%zu", s.over_downtime);
  const char *r5[] = {"downtime over the limit", v};
  res__row(&d, r5, 2, 0);
  snprintf(v, sizeof v, "%zu", s.late);
  const char *r6[] = {"ending after their deadline", v};
  res__row(&d, r6, 2, 0);
  snprintf(v, sizeof v, "%zu", s.fallbacks);
  const char *r7[] = {res__any_auto_converge(P) ? "planned with a fallback (auto-converge, hybrid or post-copy)"
                                                : "planned with a fallback (hybrid or post-copy)",
                      v};
  res__row(&d, r7, 2, 0);
  if (s.candidates) {
    snprintf(v, sizeof v, "%zu", s.candidates);
    const char *r8[] = {"schedules estimated by the optimiser", v};
    res__row(&d, r8, 2, 0);
  }
  if (nbusy) {
    snprintf(v, sizeof v, "%s, %.0f %%", P->link_name[busy[0]], 100 * peak[busy[0]]);
    const char *r9[] = {"busiest link (peak)", v};
    res__row(&d, r9, 2, 0);
  }
  res__table_end(&d);

  res__heading(&d, 2, "VMs breaking a limit, and what would fix each");
  size_t broken = 0;
  char fix[512];
  for (size_t i = 0; i < P->nvms; i++) {
    const res__vm *vm = &P->vms[i];
    const char *verdict = res__verdict(P, vm, fix, sizeof fix);
    if (strcmp(verdict, "ok") == 0) continue;
    if (!broken++) {
      res__table_start(&d);
      const char *h[] = {"VM", "verdict", "start (s)", "end (s)", "downtime (ms)", "fix"};
      res__row(&d, h, 6, 1);
    }
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "%.1f", vm->start_s);
    snprintf(b, sizeof b, "%.1f", vm->end_s);
    if (vm->downtime_ms >= 0) snprintf(c, sizeof c, "%.1f", vm->downtime_ms);
    else snprintf(c, sizeof c, "-");
    const char *row[] = {vm->name, verdict, a, b, c, fix};
    res__row(&d, row, 6, 0);
  }
  if (broken) res__table_end(&d);
  else res__para(&d, "None: every VM completes within its downtime limit and deadline.");

  res__heading(&d, 2, "Gantt chart and link utilisation");
  if (html) {
    if ((rc = res__embed(d.out, dir, "gantt.png", "Gantt chart")) ||
        (rc = res__embed(d.out, dir, "links.png", "link utilisation"))) {
      sim_file_abort(f);
      return rc;
    }
  } else {
    fputs("![Gantt chart](gantt.png)\n\n![link utilisation](links.png)\n\n", d.out);
  }
  res__heading(&d, 2, "Every VM");
  snprintf(buf, sizeof buf, "Also in vms.csv; link utilisation over time in links.csv%s.",
           P->nvms > 200 ? "; the first 200 VMs of the schedule here" : "");
  res__para(&d, buf);
  res__table_start(&d);
  const char *h[] = {"VM", "host", "dest", "algo", "start (s)", "end (s)", "total (s)", "downtime (ms)", "verdict"};
  res__row(&d, h, 9, 1);
  for (size_t k = 0; k < P->nvms && k < 200; k++) {
    const res__vm *vm = &P->vms[P->order[k]];
    char a[32], b[32], c[32], e[32], algo[160], variant[64];
    snprintf(a, sizeof a, "%.1f", vm->start_s);
    snprintf(b, sizeof b, "%.1f", vm->end_s);
    snprintf(c, sizeof c, "%.1f", vm->end_s - vm->start_s);
    if (vm->downtime_ms >= 0) snprintf(e, sizeof e, "%.1f", vm->downtime_ms);
    else snprintf(e, sizeof e, "-");
    res__variant(vm, variant, sizeof variant);
    if (vm->auto_converge)
      snprintf(algo, sizeof algo, "%s (%sthrottle up to %llu %%, guest lost %.1f s)", variant,
               vm->fallback ? "fallback; " : "", (unsigned long long)vm->cpu_throttle_pct,
               vm->guest_throttle_ms / 1e3);
    else
      snprintf(algo, sizeof algo, "%s%s", variant, vm->fallback ? " (fallback)" : "");
    const char *row[] = {vm->name, P->hosts[vm->src].name, P->hosts[vm->dst].name, algo, a, b, c, e,
                         res__verdict(P, vm, fix, sizeof fix)};
    res__row(&d, row, 9, 0);
  }
  res__table_end(&d);
  if (html) fputs("</body></html>\n", d.out);
  return sim_file_commit(f);
}

int res_plan_write(const res_plan *P, const char *dir) {
  int rc = sim_mkdir_p(dir);
  if (rc) return rc;
  size_t *busy = malloc((P->nlinks + 1) * sizeof *busy);
  double *peak = malloc((P->nlinks + 1) * sizeof *peak);
  if (!busy || !peak) {
    free(busy);
    free(peak);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  size_t nbusy = res__busy_links(P, busy, peak);
  if (!(rc = res__write_vms(P, dir)) && !(rc = res__write_links(P, dir, busy, nbusy)) && !(rc = res__gantt(P, dir)) &&
      !(rc = res__links_png(P, dir, busy, nbusy)) && !(rc = res__report(P, dir, 0, busy, nbusy, peak)))
    rc = res__report(P, dir, 1, busy, nbusy, peak);
  free(busy);
  free(peak);
  return rc;
}
