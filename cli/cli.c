/* cli: shared helpers for subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim_err.h"
#include "sim_units.h"

void cli_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("migsim: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(CLI_EXIT_ERROR);
}

void cli_check(int rc, const char *context) {
  if (rc >= 0) return;
  if (context && *context)
    cli_die("%s: %s", context, sim_error_message());
  cli_die("%s", sim_error_message());
}

uint64_t cli_bytes(const char *opt, const char *text, uint64_t page_size) {
  uint64_t v;
  if (sim_parse_bytes(text, page_size, &v)) cli_die("%s: %s", opt, sim_error_message());
  return v;
}

uint64_t cli_duration(const char *opt, const char *text, uint64_t bare_unit_ns) {
  uint64_t v;
  if (sim_parse_duration(text, bare_unit_ns, &v)) cli_die("%s: %s", opt, sim_error_message());
  return v;
}

uint64_t cli_count(const char *opt, const char *text) {
  uint64_t v;
  if (sim_parse_count(text, &v)) cli_die("%s: %s", opt, sim_error_message());
  return v;
}

double cli_double(const char *opt, const char *text) {
  double v;
  if (sim_parse_double(text, &v)) cli_die("%s: %s", opt, sim_error_message());
  return v;
}

double cli_bytes_per_s(const char *opt, const char *text, uint64_t page_size) {
  sim_rate r;
  if (sim_parse_rate(text, SIM_RATE_BYTES, &r)) cli_die("%s: %s", opt, sim_error_message());
  return sim_rate_bytes_per_s(r, page_size);
}

int cli_is_tty(void) { return isatty(STDERR_FILENO); }
