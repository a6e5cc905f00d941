/* migsim trace curve: turns QEMU's calc-dirty-rate results (or a CSV of
 * measured periods) into a `curve:` generator spec, and with the guest size
 * checks that a stationary workload fits it (workloads/wl_curve_import.h,
 * docs/workloads.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sim_err.h"
#include "sim_units.h"
#include "wl_curve_import.h"
#include "wl_gen.h"
#include "wl_trace.h"

static void cli__curve_usage(FILE *out) {
  fputs("usage: migsim trace curve FILE [--pages N | --memory SIZE] [--rate R]\n"
        "                                [--page-size BYTES]\n"
        "\n"
        "Reads a guest's dirty curve as QEMU measures it and prints the matching\n"
        "workload generator spec (curve:points=...) on stdout.\n"
        "\n"
        "FILE is either\n"
        "  JSON  query-dirty-rate results, one per calc-dirty-rate period: single\n"
        "        objects, QMP answers {\"return\": {...}}, a JSON array of them, or\n"
        "        a captured QMP session (other messages are skipped). Each gives\n"
        "        (dirty-rate + 0.5) x calc-time x 2^20 / page size distinct pages\n"
        "        for its period: dirty-rate is MiB/s for the whole guest, rounded\n"
        "        down by QEMU (page sampling has already scaled its sample up).\n"
        "        Results for the same period are averaged.\n"
        "  CSV   rows period,dirty_pages or, with that header, period,dirty_rate\n"
        "        (MiB/s like QEMU, or with a rate unit); periods are durations\n"
        "        (bare numbers are seconds), pages a count or a size (120MiB).\n"
        "\n"
        "options:\n"
        "  --pages N          guest size in pages, or\n"
        "  --memory SIZE      guest size (32GiB): the spec then gets wss= and is\n"
        "                     fitted now, and the fit is reported on stderr\n"
        "  --rate R           the guest's total write rate (pages/s or a byte\n"
        "                     rate), if known; otherwise the fit chooses it\n"
        "  --page-size BYTES  guest page size (default 4096)\n"
        "  -h, --help         show this help\n"
        "\n"
        "example (curve.csv has the rows 1s,120832 10s,458752 60s,1514496):\n"
        "  migsim trace curve curve.csv --memory 32GiB\n"
        "  curve:points=1s@120832+10s@458752+60s@1514496,wss=8388608\n"
        "\n"
        "What QEMU's numbers mean and how the curve is fitted: docs/workloads.md.\n",
        out);
}

int cli_trace_curve(int argc, char **argv) {
  enum { OPT_PAGES = 256, OPT_MEMORY, OPT_PAGE_SIZE, OPT_RATE };
  static const struct option longopts[] = {
      {"pages", required_argument, NULL, OPT_PAGES},
      {"memory", required_argument, NULL, OPT_MEMORY},
      {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
      {"rate", required_argument, NULL, OPT_RATE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *pages_text = NULL, *memory_text = NULL, *page_size_text = NULL;
  const char *rate_text = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_PAGES: pages_text = optarg; break;
    case OPT_MEMORY: memory_text = optarg; break;
    case OPT_PAGE_SIZE: page_size_text = optarg; break;
    case OPT_RATE: rate_text = optarg; break;
    case 'h':
      cli__curve_usage(stdout);
      return CLI_EXIT_OK;
    case ':':
      cli_die("curve: option '%s' needs a value (see 'migsim trace curve --help')",
              argv[optind - 1]);
    default:
      cli_die("curve: unknown option '%s' (see 'migsim trace curve --help')",
              argv[optind - 1]);
    }
  }
  if (argc - optind != 1)
    cli_die("curve: expected one FILE, got %d argument%s (see 'migsim trace curve --help')",
            argc - optind, argc - optind == 1 ? "" : "s");
  uint64_t page_size = cli_page_size(page_size_text);
  uint64_t pages = cli_guest_pages("curve", pages_text, memory_text, page_size);
  double rate = 0;
  if (rate_text) {
    sim_rate r;
    if (sim_parse_rate(rate_text, SIM_RATE_PAGES, &r))
      cli_die("--rate: %s", sim_error_message());
    rate = sim_rate_pages_per_s(r, page_size);
    if (!(rate > 0)) cli_die("--rate: must be above 0");
  }

  wl_curve_point *points = NULL;
  size_t n = 0;
  cli_check(wl_curve_import(argv[optind], (uint32_t)page_size, &points, &n), "trace curve");
  char *spec = NULL;
  int rc = wl_curve_spec_format(points, n, rate, pages, &spec);
  if (rc) free(points);
  cli_check(rc, "trace curve");
  if (pages) {
    /* Fit now, so a curve no stationary guest can have is refused here
     * rather than when a scenario uses it. */
    wl_curve *model = NULL;
    rc = wl_curve_open(spec, pages, (uint32_t)page_size, &model);
    if (rc) {
      free(spec);
      free(points);
    }
    cli_check(rc, "trace curve");
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "# %gs: %.0f distinct pages measured (%u result%s), %.0f fitted\n",
              points[i].period_s, points[i].dirty_pages, points[i].results,
              points[i].results == 1 ? "" : "s", wl_curve_expected(model, points[i].period_s));
    fprintf(stderr, "# fit: %.0f writes/s, %zu page groups, at most %" PRIu64 " pages written\n",
            wl_curve_rate(model), wl_curve_groups(model), wl_curve_pages(model));
    wl_curve_free(model);
  } else {
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "# %gs: %.0f distinct pages measured (%u result%s)\n", points[i].period_s,
              points[i].dirty_pages, points[i].results, points[i].results == 1 ? "" : "s");
  }
  free(points);
  printf("%s\n", spec);
  free(spec);
  return CLI_EXIT_OK;
}
