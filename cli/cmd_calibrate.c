/* migsim calibrate: fit a profile's machine-dependent constants to real runs
 * with GSL nonlinear least squares, and write a profile file. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_real.h"
#include "kvr.h"
#include "mdl_sim.h"
#include "sim_err.h"

/* The constants fitted, each as base × exp(x): the fit works on log scale
 * so every constant stays positive and steps are relative. */
typedef struct {
  const char *key; /* profile key, for the report */
  size_t offset;   /* into mdl_profile */
  int is_u64;      /* uint64_t field, else double */
  const char *zero_means; /* a 0 value stands for this key's (it starts there) */
} cli__param;

static const cli__param cli__params[] = {
    {"link", offsetof(mdl_profile, link_bytes_per_s), 0, NULL},
    {"stopped_link", offsetof(mdl_profile, stopped_link_bytes_per_s), 0, "link"},
    {"setup", offsetof(mdl_profile, setup_ns), 1, NULL},
    {"sync_ns_per_gib", offsetof(mdl_profile, sync_ns_per_gib), 0, NULL},
    {"device_state_bytes", offsetof(mdl_profile, device_state_bytes), 1, NULL},
    {"dest_load", offsetof(mdl_profile, dest_load_ns), 1, NULL},
    {"stop", offsetof(mdl_profile, stop_ns), 1, NULL},
    {"zero_page_ns", offsetof(mdl_profile, zero_page_ns), 0, NULL},
    {"normal_page_ns", offsetof(mdl_profile, normal_page_ns), 0, NULL},
    {"socket_buffer_bytes", offsetof(mdl_profile, socket_buffer_bytes), 1, NULL},
    {"postcopy_place_ns", offsetof(mdl_profile, postcopy_place_ns), 0, NULL},
    {"postcopy_place_zero_ns", offsetof(mdl_profile, postcopy_place_zero_ns), 0, NULL},
    {"dest_page_ns", offsetof(mdl_profile, dest_page_ns), 0, NULL},
    {"dest_zero_page_ns", offsetof(mdl_profile, dest_zero_page_ns), 0, NULL},
};
enum { CLI_NPARAM = sizeof cli__params / sizeof cli__params[0], CLI_NMETRIC = 6 };

typedef struct {
  const cli_scenarios *list;
  const res_run_set *real;
  const mdl_profile *base;
  double base_value[CLI_NPARAM];
  /* The constants the fit moves (--fix holds the others at a measured
   * value): x[j] scales cli__params[free_of[j]]. */
  size_t nfree;
  size_t free_of[CLI_NPARAM];
  /* residual index -> (scenario, real run) */
  size_t nres;
  size_t *res_case;
  const mdl_result **res_real;
  unsigned evaluations;
} cli__fit;

static double cli__get(const mdl_profile *p, const cli__param *q) {
  const char *at = (const char *)p + q->offset;
  return q->is_u64 ? (double)*(const uint64_t *)(const void *)at : *(const double *)(const void *)at;
}

static void cli__set(mdl_profile *p, const cli__param *q, double v) {
  char *at = (char *)p + q->offset;
  if (q->is_u64)
    *(uint64_t *)(void *)at = (uint64_t)llround(v);
  else
    *(double *)(void *)at = v;
}

static void cli__apply(const cli__fit *F, const gsl_vector *x, mdl_profile *p) {
  *p = *F->base;
  for (size_t j = 0; j < F->nfree; j++) {
    size_t i = F->free_of[j];
    double xi = gsl_vector_get(x, j);
    if (xi > 7) xi = 7;
    if (xi < -7) xi = -7;
    cli__set(p, &cli__params[i], F->base_value[i] * exp(xi));
  }
}

/* Residuals: relative errors of total time, downtime, setup time and bytes
 * for every completed real run (downtime and setup against at least 5 ms,
 * so that tiny values do not dominate), and for runs that went through
 * post-copy the page requests (against at least 20) and the guest's stall
 * (against at least 50 ms). */
static int cli__residuals(const gsl_vector *x, void *params, gsl_vector *f) {
  cli__fit *F = params;
  mdl_profile p;
  cli__apply(F, x, &p);
  F->evaluations++;
  size_t r = 0;
  for (size_t c = 0; c < F->list->count; c++) {
    mdl_result sim;
    mdl_result_init(&sim, "sim");
    int rc = mdl_simulate_with(&F->list->items[c], &p, &sim);
    for (; r < F->nres && F->res_case[r / CLI_NMETRIC] == c; r += CLI_NMETRIC) {
      const mdl_result *real = F->res_real[r / CLI_NMETRIC];
      if (rc || sim.status != MDL_STATUS_COMPLETED) {
        for (int m = 0; m < CLI_NMETRIC; m++) gsl_vector_set(f, r + (size_t)m, 1.0);
        continue;
      }
      gsl_vector_set(f, r + 0, (sim.total_time_ms - real->total_time_ms) / real->total_time_ms);
      gsl_vector_set(f, r + 1, (sim.downtime_ms - real->downtime_ms) / fmax(real->downtime_ms, 5.0));
      gsl_vector_set(f, r + 2, (sim.setup_time_ms - real->setup_time_ms) / fmax(real->setup_time_ms, 5.0));
      gsl_vector_set(f, r + 3, ((double)sim.transferred_bytes - (double)real->transferred_bytes) /
                                   (double)real->transferred_bytes);
      int postcopy = real->postcopy_bytes > 0;
      gsl_vector_set(f, r + 4, postcopy ? ((double)sim.postcopy_requests - (double)real->postcopy_requests) /
                                              fmax((double)real->postcopy_requests, 20.0)
                                        : 0.0);
      gsl_vector_set(f, r + 5, postcopy ? (sim.guest_stall_ms - real->guest_stall_ms) /
                                              fmax(real->guest_stall_ms, 50.0)
                                        : 0.0);
    }
    mdl_result_free(&sim);
  }
  return GSL_SUCCESS;
}

/* Pages of QEMU's other RAM blocks (firmware, option ROMs) are counted,
 * not fitted: in scenarios without writes every page is sent exactly once,
 * so the real runs' normal and zero page counts minus the simulated guest's
 * are those blocks. Medians over the idle scenarios' runs. */
static void cli__measure_extra_pages(const cli_scenarios *list, const res_run_set *real, unsigned repeat,
                                     mdl_profile *base) {
  double nz[256], zero[256];
  size_t n = 0;
  for (size_t c = 0; c < list->count; c++) {
    const mdl_scenario *s = &list->items[c];
    if (strncmp(s->workload, "idle", 4) != 0) continue;
    mdl_profile p = *base;
    p.extra_nonzero_pages = p.extra_zero_pages = 0;
    mdl_result sim;
    mdl_result_init(&sim, "sim");
    if (mdl_simulate_with(s, &p, &sim)) cli_die("calibrate: simulating %s: %s", s->name, sim_error_message());
    const res_loaded *got[64];
    size_t k = res_runs_of(real, s->name, got, 64);
    for (size_t i = 0; i < k && i < repeat && n < 256; i++) {
      const mdl_result *r = &got[i]->result;
      if (r->status != MDL_STATUS_COMPLETED) continue;
      nz[n] = (double)r->normal_pages - (double)sim.normal_pages;
      zero[n] = (double)r->zero_pages - (double)sim.zero_pages;
      n++;
    }
    mdl_result_free(&sim);
  }
  if (!n) {
    fprintf(stderr, "calibrate: no idle scenario: extra RAM blocks left at %llu + %llu pages\n",
            (unsigned long long)base->extra_nonzero_pages, (unsigned long long)base->extra_zero_pages);
    return;
  }
  gsl_sort(nz, 1, n);
  gsl_sort(zero, 1, n);
  double mnz = gsl_stats_median_from_sorted_data(nz, 1, n), mz = gsl_stats_median_from_sorted_data(zero, 1, n);
  base->extra_nonzero_pages = mnz > 0 ? (uint64_t)llround(mnz) : 0;
  base->extra_zero_pages = mz > 0 ? (uint64_t)llround(mz) : 0;
  printf("other RAM blocks (counted from %zu idle runs): %llu non-zero + %llu zero pages\n", n,
         (unsigned long long)base->extra_nonzero_pages, (unsigned long long)base->extra_zero_pages);
}

/* Sum of squared residuals at x, for the simplex search. */
static double cli__cost(const gsl_vector *x, void *params) {
  cli__fit *F = params;
  gsl_vector *f = gsl_vector_alloc(F->nres);
  if (!f) cli_die("calibrate: out of memory");
  cli__residuals(x, F, f);
  double cost;
  gsl_blas_ddot(f, f, &cost);
  gsl_vector_free(f);
  return cost;
}

/* A constant whose standard error, as a factor, exceeds this is reported
 * as hardly pinned by the runs: its value is the fit's accident. */
#define CLI_LOOSE 1.5

/* How well the runs pin each fitted constant (spread[i], for the
 * constants of cli__params; NAN when the runs do not depend on it at all):
 * the covariance of the least-squares fit at its final point x, from the
 * Jacobian by differences as the fit's own steps, scaled by the residual
 * variance. The fit works on log scale, so one standard error sigma is a
 * factor exp(sigma) on the value. A flat direction (two constants that
 * trade against each other, or one no run depends on) gets a large factor;
 * docs/profiles.md, "Calibrating: how well the runs pin each constant". */
static void cli__spreads(cli__fit *F, gsl_multifit_nlinear_fdf *fdf, gsl_multifit_nlinear_workspace *w,
                         const gsl_vector *x, double cost, double *spread) {
  for (size_t i = 0; i < CLI_NPARAM; i++) spread[i] = NAN;
  if (F->nres <= F->nfree || gsl_multifit_nlinear_init(x, fdf, w) != GSL_SUCCESS) return;
  gsl_matrix *J = gsl_multifit_nlinear_jac(w);
  gsl_matrix *covar = gsl_matrix_alloc(F->nfree, F->nfree);
  if (!covar) cli_die("calibrate: out of memory");
  double colmax = 0;
  for (size_t j = 0; j < F->nfree; j++) {
    gsl_vector_view c = gsl_matrix_column(J, j);
    double n = gsl_blas_dnrm2(&c.vector);
    if (n > colmax) colmax = n;
  }
  /* Columns below 1e-9 of the largest are constants the residuals do not
   * move: GSL leaves them out (zero variance), reported as not pinned. */
  gsl_multifit_nlinear_covar(J, 1e-9, covar);
  double s2 = cost / (double)(F->nres - F->nfree);
  for (size_t j = 0; j < F->nfree; j++) {
    gsl_vector_view c = gsl_matrix_column(J, j);
    double v = gsl_matrix_get(covar, j, j);
    if (gsl_blas_dnrm2(&c.vector) <= 1e-9 * colmax || !(v > 0) || !isfinite(v)) continue;
    double sigma = sqrt(v * s2);
    spread[F->free_of[j]] = sigma < log(1000.0) ? exp(sigma) : 1000.0; /* beyond: as good as unknown */
  }
  gsl_matrix_free(covar);
}

/* Nelder-Mead (GSL nmsimplex2) from x with steps of 30 % per constant, at
 * most 600 iterations. Leaves the better point in x; returns its
 * cost. */
static double cli__simplex_polish(cli__fit *F, gsl_vector *x, double cost) {
  gsl_multimin_function fn = {cli__cost, F->nfree, F};
  gsl_vector *step = gsl_vector_alloc(F->nfree);
  gsl_multimin_fminimizer *m = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, F->nfree);
  if (!step || !m) cli_die("calibrate: out of memory");
  gsl_vector_set_all(step, 0.3);
  gsl_multimin_fminimizer_set(m, &fn, x, step);
  for (int it = 0; it < 600; it++) {
    if (gsl_multimin_fminimizer_iterate(m)) break;
    if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-3) == GSL_SUCCESS) break;
  }
  double best = gsl_multimin_fminimizer_minimum(m);
  if (best < cost) {
    gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(m));
    cost = best;
  }
  gsl_multimin_fminimizer_free(m);
  gsl_vector_free(step);
  return cost;
}

/* The index in cli__params of the constant a KEY=VALUE argument names,
 * or CLI_NPARAM. */
static size_t cli__param_of(const char *kv) {
  const char *eq = strchr(kv, '=');
  for (size_t i = 0; eq && i < CLI_NPARAM; i++)
    if (strlen(cli__params[i].key) == (size_t)(eq - kv) && !strncmp(cli__params[i].key, kv, (size_t)(eq - kv)))
      return i;
  return CLI_NPARAM;
}

static void cli__calibrate_help(void) {
  printf("usage: migsim calibrate SCENARIOS.ini -o PROFILE.ini [OPTIONS]\n\n"
         "Fits the machine-dependent constants of a profile (loopback/link speed,\n"
         "its speed once a completion has stopped the guest (stopped_link, fitted from\n"
         "link when the base has none),\n"
         "setup time, sync pause per GiB, device-state bytes, destination load time,\n"
         "the pause to stop the guest,\n"
         "CPU time per zero and per normal page, socket buffer, the destination's\n"
         "time per normal and zero page in pre-copy and in post-copy) to real QEMU\n"
         "runs of the scenarios,\n"
         "minimising the relative errors of total time, downtime, setup time, bytes\n"
         "and, for post-copy runs, page requests and guest stall\n"
         "with GSL's trust-region nonlinear least squares polished by a simplex\n"
         "search, and writes a profile file\n"
         "based on --base. Real runs are kept in --runs DIR and reused.\n"
         "Each fitted value is printed with one standard error as a factor (x/ f);\n"
         "values the runs hardly pin (f > 1.5) or do not depend on are listed, also\n"
         "in the profile's header (docs/profiles.md).\n\n"
         "options:\n"
         "  -o, --output FILE  profile file to write (required)\n"
         "  --base NAME        profile to start from [qemu-7.2]\n"
         "  --set KEY=VALUE    a profile constant measured directly rather than\n"
         "                     fitted, e.g. dest_region_ns=155000 from a traced run\n"
         "                     (docs/simulator.md); for a fitted key, its starting\n"
         "                     value; repeatable\n"
         "  --fix KEY=VALUE    hold a fitted constant at a value measured directly\n"
         "                     (e.g. dest_load from a traced run) and fit the\n"
         "                     others around it; repeatable\n"
         "  --dirty-log MODE   tcg | kvm: what a sync adds on the measured machine [tcg]\n"
         "  --repeat N         real runs per scenario [2]\n"
         "  --runs DIR         store of real runs [out/calibrate/real]\n"
         "  --qemu Q           real runs on this QEMU unless a scenario says otherwise\n"
         "                     (path, or 7.2 / 10.0; keep one --runs per version)\n"
         "  --host TEXT        the machine the real runs were made on, written as the\n"
         "                     profile's `host` (validate warns when runs from another\n"
         "                     machine are compared with it) [the machine the runs\n"
         "                     record (host_cpu); for runs that record none, this one's]\n"
         "  --help             this text\n");
}

int cli_cmd_calibrate(int argc, char **argv) {
  const char *file = NULL, *output = NULL, *base_name = "qemu-7.2", *runs_dir = "out/calibrate/real",
             *dirty_log = "tcg", *qemu = NULL, *host = NULL;
  unsigned repeat = 2;
  const char *sets[32];
  size_t nsets = 0;
  int fixed[CLI_NPARAM] = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help")) {
      cli__calibrate_help();
      return CLI_EXIT_OK;
    } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
      output = argv[++i];
    } else if (!strcmp(a, "--base") && v) {
      base_name = argv[++i];
    } else if (!strcmp(a, "--dirty-log") && v) {
      dirty_log = argv[++i];
    } else if (!strcmp(a, "--set") && v) {
      if (nsets == sizeof sets / sizeof sets[0]) cli_die("calibrate: at most 32 --set options");
      sets[nsets++] = argv[++i];
    } else if (!strcmp(a, "--fix") && v) {
      if (nsets == sizeof sets / sizeof sets[0]) cli_die("calibrate: at most 32 --set/--fix options");
      size_t k = cli__param_of(v);
      if (k == CLI_NPARAM) cli_die("calibrate: --fix '%s': not a fitted constant (see --help)", v);
      fixed[k] = 1;
      sets[nsets++] = argv[++i];
    } else if (!strcmp(a, "--runs") && v) {
      runs_dir = argv[++i];
    } else if (!strcmp(a, "--host") && v) {
      host = argv[++i];
    } else if (!strcmp(a, "--qemu") && v) {
      qemu = argv[++i];
    } else if (!strcmp(a, "--repeat") && v) {
      uint64_t n = cli_count("--repeat", v);
      if (n < 1 || n > 64) cli_die("calibrate: --repeat must be 1..64");
      repeat = (unsigned)n;
      i++;
    } else if (a[0] == '-') {
      cli_die("calibrate: unknown option '%s' (see --help)", a);
    } else if (!file) {
      file = a;
    } else {
      cli_die("calibrate: one scenario file only ('%s')", a);
    }
  }
  if (!file || !output) cli_die("calibrate: give a scenario file and -o PROFILE.ini (see --help)");
  if (host && strlen(host) >= MDL_PROFILE_HOST_MAX)
    cli_die("calibrate: --host: longer than %d characters", MDL_PROFILE_HOST_MAX - 1);
  {
    /* The profile is written after every real run and the fit: where it
     * goes is checked now, not hours later. */
    struct stat st;
    if (stat(output, &st) == 0 && !S_ISREG(st.st_mode)) cli_die("calibrate: -o %s: not a regular file", output);
    char dir[4096], probe[4200];
    snprintf(dir, sizeof dir, "%s", output);
    const char *parent = dirname(dir);
    /* A file created and removed (access() says yes to root anywhere). */
    snprintf(probe, sizeof probe, "%s/.migsim-calibrate-XXXXXX", parent);
    int fd = mkstemp(probe);
    if (fd < 0) cli_die("calibrate: -o %s: cannot write in %s: %s", output, parent, strerror(errno));
    close(fd);
    unlink(probe);
  }
  mdl_profile base;
  cli_check(mdl_profile_load(base_name, &base), "calibrate");
  cli_check(mdl_profile_set(&base, "dirty_log", dirty_log), "calibrate --dirty-log");
  for (size_t k = 0; k < nsets; k++) {
    const char *eq = strchr(sets[k], '=');
    if (!eq || eq == sets[k]) cli_die("calibrate: --set '%s': expected KEY=VALUE", sets[k]);
    char key[64];
    size_t klen = (size_t)(eq - sets[k]);
    if (klen >= sizeof key) cli_die("calibrate: --set '%s': key too long", sets[k]);
    memcpy(key, sets[k], klen);
    key[klen] = 0;
    cli_check(mdl_profile_set(&base, key, eq + 1), "calibrate --set");
  }

  cli_scenarios list;
  cli_scenarios_load(file, qemu, &list);
  res_run_set real;
  cli_real_ensure(&list, repeat, runs_dir, NULL, &real);
  cli_scenarios_as_replayed(&list);
  cli__measure_extra_pages(&list, &real, repeat, &base);

  cli__fit F = {0};
  F.list = &list;
  F.real = &real;
  F.base = &base;
  for (size_t i = 0; i < CLI_NPARAM; i++) {
    F.base_value[i] = cli__get(&base, &cli__params[i]);
    for (size_t k = 0; F.base_value[i] <= 0 && cli__params[i].zero_means && k < CLI_NPARAM; k++)
      if (!strcmp(cli__params[k].key, cli__params[i].zero_means)) F.base_value[i] = cli__get(&base, &cli__params[k]);
    if (F.base_value[i] <= 0) F.base_value[i] = 1; /* a zero constant still gets a scale */
    if (!fixed[i]) F.free_of[F.nfree++] = i;
  }
  if (!F.nfree) cli_die("calibrate: every constant is fixed; nothing to fit");
  size_t cases_cap = list.count * repeat;
  F.res_case = calloc(cases_cap + 1, sizeof *F.res_case);
  F.res_real = calloc(cases_cap + 1, sizeof *F.res_real);
  if (!F.res_case || !F.res_real) cli_die("calibrate: out of memory");
  size_t nruns = 0;
  for (size_t c = 0; c < list.count; c++) {
    const res_loaded *got[64];
    size_t n = res_runs_of(&real, list.items[c].name, got, 64);
    for (size_t k = 0; k < n && k < repeat; k++) {
      if (got[k]->result.status != MDL_STATUS_COMPLETED) continue;
      F.res_case[nruns] = c;
      F.res_real[nruns] = &got[k]->result;
      nruns++;
    }
  }
  F.nres = nruns * CLI_NMETRIC;
  if (F.nres < F.nfree) cli_die("calibrate: only %zu completed real runs; need more data", nruns);
  /* The profile's host is the runs' machine (docs/hosts.md): one, or
   * --host to say which. */
  const char *runs_host = NULL;
  for (size_t k = 0; k < nruns; k++) {
    const char *h = F.res_real[k]->host_cpu;
    if (!h[0]) continue;
    if (!runs_host) runs_host = h;
    else if (strcmp(h, runs_host) && !host)
      cli_die("calibrate: the real runs in %s come from two machines ('%s' and '%s'): fit each machine's runs "
              "in a folder of their own, or name the host with --host",
              runs_dir, runs_host, h);
  }

  gsl_multifit_nlinear_fdf fdf = {0};
  fdf.f = cli__residuals;
  fdf.n = F.nres;
  fdf.p = F.nfree;
  fdf.params = &F;
  gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
  /* The simulator is piecewise constant in some constants (a sync more or
   * less): difference over a few percent, not machine epsilon. */
  fp.h_df = 0.03;
  gsl_multifit_nlinear_workspace *w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, F.nres, F.nfree);
  gsl_vector *x0 = gsl_vector_calloc(F.nfree);
  if (!w || !x0) cli_die("calibrate: out of memory");
  gsl_multifit_nlinear_init(x0, &fdf, w);
  double cost0;
  gsl_blas_ddot(gsl_multifit_nlinear_residual(w), gsl_multifit_nlinear_residual(w), &cost0);
  int info = 0;
  int status = gsl_multifit_nlinear_driver(60, 1e-4, 1e-6, 1e-6, NULL, NULL, &info, w);
  gsl_vector *x = gsl_vector_alloc(F.nfree);
  if (!x) cli_die("calibrate: out of memory");
  gsl_vector_memcpy(x, gsl_multifit_nlinear_position(w));
  double cost1;
  gsl_blas_ddot(gsl_multifit_nlinear_residual(w), gsl_multifit_nlinear_residual(w), &cost1);
  /* The simulator is piecewise constant in several constants, so the
   * gradient steps can stop on a plateau: polish with a derivative-free
   * simplex search from where they stopped, keeping whichever is better. */
  for (int restart = 0; restart < 4; restart++) {
    /* A restarted simplex gets fresh steps around the best point so far. */
    double cost2 = cli__simplex_polish(&F, x, cost1);
    int better = cost2 < 0.99 * cost1;
    if (cost2 < cost1) cost1 = cost2;
    if (!better) break;
  }
  mdl_profile fitted;
  cli__apply(&F, x, &fitted);
  double spread[CLI_NPARAM];
  cli__spreads(&F, &fdf, w, x, cost1, spread);

  printf("fitted %zu constants to %zu real runs (%zu residuals), %u simulator passes, status %s\n",
         F.nfree, nruns, F.nres, F.evaluations, status == GSL_SUCCESS ? "converged" : "stopped");
  printf("rms relative error: %.1f%% -> %.1f%%\n", sqrt(cost0 / (double)F.nres) * 100,
         sqrt(cost1 / (double)F.nres) * 100);
  for (size_t i = 0; i < CLI_NPARAM; i++) {
    double start = cli__get(&base, &cli__params[i]);
    if (start <= 0 && cli__params[i].zero_means && !fixed[i]) start = F.base_value[i]; /* where the fit began */
    char note[64] = " (fixed)";
    if (!fixed[i] && isfinite(spread[i]))
      snprintf(note, sizeof note, "  x/ %.2f%s", spread[i], spread[i] > CLI_LOOSE ? "  (hardly pinned)" : "");
    else if (!fixed[i])
      snprintf(note, sizeof note, "  (not pinned: the runs do not depend on it)");
    printf("  %-20s %14.6g -> %14.6g%s\n", cli__params[i].key, start, cli__get(&fitted, &cli__params[i]), note);
  }
  printf("x/ f: one standard error of the fit as a factor (the value times or divided by f)\n");
  char loose[512] = "";
  for (size_t i = 0, at = 0; i < CLI_NPARAM && at < sizeof loose; i++) {
    if (fixed[i] || (isfinite(spread[i]) && spread[i] <= CLI_LOOSE)) continue;
    int n = isfinite(spread[i])
                ? snprintf(loose + at, sizeof loose - at, "%s %s x/ %.1f", at ? "," : "", cli__params[i].key, spread[i])
                : snprintf(loose + at, sizeof loose - at, "%s %s (not pinned)", at ? "," : "", cli__params[i].key);
    if (n > 0) at += (size_t)n;
  }
  if (loose[0]) printf("hardly pinned by these runs:%s\n", loose);
  char setargs[512] = "";
  for (size_t k = 0, at = 0; k < nsets && at < sizeof setargs; k++) {
    size_t i = cli__param_of(sets[k]);
    int n = snprintf(setargs + at, sizeof setargs - at, " --%s %s", i < CLI_NPARAM && fixed[i] ? "fix" : "set", sets[k]);
    if (n > 0) at += (size_t)n;
  }
  char comment[1536];
  snprintf(comment, sizeof comment,
           "fitted by: migsim calibrate %s%s%s --base %s --dirty-log %s%s --repeat %u --runs %s; "
           "%zu real runs; rms relative error %.1f%% -> %.1f%%",
           file, qemu ? " --qemu " : "", qemu ? qemu : "", base_name, dirty_log, setargs, repeat, runs_dir, nruns,
           sqrt(cost0 / (double)F.nres) * 100,
           sqrt(cost1 / (double)F.nres) * 100);
  if (loose[0]) {
    size_t at = strlen(comment);
    snprintf(comment + at, sizeof comment - at, "; hardly pinned by these runs (one standard error as a factor):%s",
             loose);
  }
  char model[MDL_PROFILE_HOST_MAX]; /* this machine's name, cut to what a profile holds */
  const char *whose = "--host";
  if (!host && runs_host) {
    host = runs_host;
    whose = "the real runs' machine";
  } else if (!host && kvr_host_cpu_model(model, sizeof model) == 0) {
    host = model;
    whose = "this machine; the real runs do not record theirs";
  }
  if (host) {
    cli_check(mdl_profile_set(&fitted, "host", host), "calibrate");
    printf("host: %s (%s)\n", fitted.host, whose);
  }
  cli_check(mdl_profile_save(&fitted, base_name, output, comment), "writing the profile");
  printf("profile: %s\n", output);
  gsl_vector_free(x0);
  gsl_vector_free(x);
  gsl_multifit_nlinear_free(w);
  free(F.res_case);
  free(F.res_real);
  res_runs_free(&real);
  cli_scenarios_free(&list);
  return CLI_EXIT_OK;
}
