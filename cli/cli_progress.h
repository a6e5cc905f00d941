/* cli_progress: progress of long work on stderr.
 *
 * On a terminal: one line redrawn in place (at most 10 times a second).
 * Elsewhere (a CI log, a file): one plain line every few seconds
 * ("sweep: 120/1000 runs, 24.1 runs/s, ETA 37 s"), so a log shows that
 * the work moves without filling up. Quiet: nothing. Not thread-safe: call
 * from the thread that counts. */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stdint.h>
#include <time.h>

typedef struct {
  const char *label; /* "sweep", "regress" */
  const char *unit;  /* "runs" */
  uint64_t total;
  int quiet, tty;
  double period_s; /* between plain lines; MIGSIM_PROGRESS_S overrides */
  struct timespec started, last;
  int drawn;
} cli_progress;

/* Starts counting `total` units of work. */
void cli_progress_init(cli_progress *p, const char *label, const char *unit, uint64_t total, int quiet);

/* Reports that `done` of the units are finished (skipped ones included,
 * `skipped` of them did no work and count neither in the rate nor the ETA).
 * Prints only when due. */
void cli_progress_update(cli_progress *p, uint64_t done, uint64_t skipped);

/* On a terminal, redraws the line with the final counts and ends it;
 * elsewhere prints nothing (the command says how it ended). */
void cli_progress_done(cli_progress *p, uint64_t done, uint64_t skipped);

#endif
