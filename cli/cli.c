/* cli: shared helpers for subcommands. */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim_err.h"
#include "sim_units.h"
#include "wl_trace.h"

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

uint64_t cli_page_size(const char *text) {
  if (!text) return WL_DEFAULT_PAGE_SIZE;
  uint64_t v = cli_bytes("--page-size", text, 0);
  if (v < 512 || v > WL_MAX_PAGE_SIZE || (v & (v - 1)))
    cli_die("--page-size: %s is not a power of two in 512..%u", text, WL_MAX_PAGE_SIZE);
  return v;
}

uint64_t cli_guest_pages(const char *cmd, const char *pages_text, const char *memory_text,
                         uint64_t page_size) {
  if (pages_text && memory_text)
    cli_die("%s: give the guest size with one of --pages or --memory, not both", cmd);
  if (!pages_text && !memory_text) return 0;
  uint64_t pages;
  if (pages_text) {
    pages = cli_count("--pages", pages_text);
  } else {
    uint64_t bytes = cli_bytes("--memory", memory_text, page_size);
    if (bytes % page_size)
      cli_die("--memory: %s is not a whole number of %" PRIu64 "-byte pages", memory_text,
              page_size);
    pages = bytes / page_size;
  }
  if (pages == 0 || pages > WL_MAX_PAGES)
    cli_die("%s: the guest must have 1..%llu pages, not %" PRIu64, cmd,
            (unsigned long long)WL_MAX_PAGES, pages);
  return pages;
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
