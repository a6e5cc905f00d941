/* cli_progress: progress lines on stderr (see cli_progress.h). */
#include "cli_progress.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static double cli__seconds(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void cli_progress_init(cli_progress *p, const char *label, const char *unit, uint64_t total, int quiet) {
  p->label = label;
  p->unit = unit;
  p->total = total;
  p->quiet = quiet;
  p->tty = cli_is_tty();
  p->drawn = 0;
  p->period_s = 5;
  const char *env = getenv("MIGSIM_PROGRESS_S");
  if (env && *env) {
    char *end;
    double v = strtod(env, &end);
    if (!*end && v >= 0) p->period_s = v;
  }
  clock_gettime(CLOCK_MONOTONIC, &p->started);
  p->last = p->started;
}

static void cli__line(cli_progress *p, uint64_t done, uint64_t skipped, const struct timespec *now) {
  double el = cli__seconds(&p->started, now);
  uint64_t worked = done - skipped, todo = p->total - done;
  double rate = el > 0 ? (double)worked / el : 0;
  char eta[32] = "";
  if (rate > 0 && todo) snprintf(eta, sizeof eta, ", ETA %.0f s", (double)todo / rate);
  char skip[48] = "";
  if (skipped) snprintf(skip, sizeof skip, " (%llu skipped)", (unsigned long long)skipped);
  fprintf(stderr, "%s%s: %llu/%llu %s%s, %.1f %s/s, %.0f s%s%s", p->tty ? "\r" : "", p->label,
          (unsigned long long)done, (unsigned long long)p->total, p->unit, skip, rate, p->unit, el, eta,
          p->tty ? "   " : "\n");
  fflush(stderr);
  p->drawn = 1;
}

void cli_progress_update(cli_progress *p, uint64_t done, uint64_t skipped) {
  if (p->quiet) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double since = cli__seconds(&p->last, &now);
  if (since < (p->tty ? 0.1 : p->period_s)) return;
  p->last = now;
  cli__line(p, done, skipped, &now);
}

void cli_progress_done(cli_progress *p, uint64_t done, uint64_t skipped) {
  if (p->quiet || !p->drawn || !p->tty) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  cli__line(p, done, skipped, &now);
  fputc('\n', stderr);
}
