/* sim_err: error codes and per-thread detail messages. */
#include "sim_err.h"

#include <gsl/gsl_errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const sim__messages[] = {
    "success",
#define SIM__ERR_TEXT(name, msg) msg,
    SIM_ERRNO_MAP(SIM__ERR_TEXT)
#undef SIM__ERR_TEXT
};

static _Thread_local char sim__detail[512];

const char *sim_strerror(int code) {
  int idx = -code;
  if (idx < 0 || idx >= SIM__ERR_COUNT) return "unknown error";
  return sim__messages[idx];
}

int sim_errorf(int code, const char *fmt, ...) {
  /* Format into a scratch buffer first: callers often wrap the previous
   * message ("context: %s", sim_error_message()), which lives in
   * sim__detail itself. */
  char scratch[sizeof sim__detail];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(scratch, sizeof scratch, fmt, ap);
  va_end(ap);
  memcpy(sim__detail, scratch, sizeof scratch);
  return code;
}

const char *sim_error_message(void) {
  return sim__detail[0] ? sim__detail : "unspecified error";
}

void sim_error_clear(void) { sim__detail[0] = '\0'; }

static void sim__gsl_handler(const char *reason, const char *file, int line,
                             int gsl_errno) {
  sim_errorf(SIM_ERANGE, "GSL: %s (%s:%d, code %d)", reason, file, line,
             gsl_errno);
}

void sim_install_gsl_handler(void) { gsl_set_error_handler(&sim__gsl_handler); }

/* Edit distance of a[0..la) and b (Levenshtein, small strings only). */
static size_t sim__edit_distance(const char *a, size_t la, const char *b) {
  size_t lb = strlen(b), row[64];
  if (la >= 63 || lb >= 63) return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      if (up + 1 < best) best = up + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *sim_suggest(const char *word, size_t len, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t best_d = 3; /* at most two edits away */
  for (size_t i = 0; i < n; i++) {
    size_t d = sim__edit_distance(word, len, names[i]);
    if (d < best_d) best_d = d, best = names[i];
  }
  return best;
}
