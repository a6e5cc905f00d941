/* migsim trace gen: writes a workload generator's accesses to a trace file
 * (through wl_source_open + wl_copy, so the file holds exactly what the
 * simulator would read from the same spec, seed and guest size). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sim_err.h"
#include "sim_units.h"
#include "wl_gen.h"
#include "wl_trace.h"

static void cli__gen_usage(FILE *out) {
  fputs("usage: migsim trace gen SPEC (--pages N | --memory SIZE) --duration TIME\n"
        "                          -o FILE [--page-size BYTES] [--seed S]\n"
        "\n"
        "Runs the workload generator SPEC for TIME and writes its page accesses\n"
        "as a trace: CSV when FILE ends in .csv, the binary format otherwise.\n"
        "The same SPEC, seed and guest size always give the same trace. The\n"
        "file appears only when it was written completely.\n"
        "\n"
        "options:\n"
        "  --pages N            guest size in pages\n"
        "  --memory SIZE        guest size in bytes (512MiB, 4GiB), a whole number\n"
        "                       of pages\n"
        "  --page-size BYTES    page size, a power of two (default 4096)\n"
        "  --duration TIME      length of the trace (60s, 500ms, 2min; bare\n"
        "                       numbers are seconds)\n"
        "  --seed S             generator seed, a 64-bit integer (default 1)\n"
        "  -o, --output FILE    the trace to write\n"
        "  -h, --help           show this help and the generators, and exit\n"
        "\n"
        "example:\n"
        "  migsim trace gen zipf:wss=256MiB,s=1.1,rate=50000 --memory 1GiB \\\n"
        "      --duration 60s --seed 7 -o zipf.bin\n"
        "\n",
        out);
  wl_gen_help(out);
}

static uint64_t cli__seed(const char *text) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 0);
  if (!*text || *text == '-' || errno == ERANGE || *end != '\0')
    cli_die("--seed: '%s' is not an integer in 0..18446744073709551615", text);
  return (uint64_t)v;
}

int cli_trace_gen(int argc, char **argv) {
  enum { OPT_PAGES = 256, OPT_MEMORY, OPT_PAGE_SIZE, OPT_DURATION, OPT_SEED };
  static const struct option longopts[] = {
      {"pages", required_argument, NULL, OPT_PAGES},
      {"memory", required_argument, NULL, OPT_MEMORY},
      {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
      {"duration", required_argument, NULL, OPT_DURATION},
      {"seed", required_argument, NULL, OPT_SEED},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *pages_text = NULL, *memory_text = NULL, *page_size_text = NULL;
  const char *duration_text = NULL, *output = NULL;
  uint64_t seed = 1;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_PAGES: pages_text = optarg; break;
    case OPT_MEMORY: memory_text = optarg; break;
    case OPT_PAGE_SIZE: page_size_text = optarg; break;
    case OPT_DURATION: duration_text = optarg; break;
    case OPT_SEED: seed = cli__seed(optarg); break;
    case 'o': output = optarg; break;
    case 'h':
      cli__gen_usage(stdout);
      return CLI_EXIT_OK;
    case ':':
      cli_die("gen: option '%s' needs a value (see 'migsim trace gen --help')",
              argv[optind - 1]);
    default:
      cli_die("gen: unknown option '%s' (see 'migsim trace gen --help')", argv[optind - 1]);
    }
  }
  if (argc - optind != 1)
    cli_die("gen: expected one SPEC, got %d argument%s (see 'migsim trace gen --help')",
            argc - optind, argc - optind == 1 ? "" : "s");
  const char *spec = argv[optind];
  if (!wl_gen_is_spec(spec))
    cli_die("gen: '%s' is not a generator spec (see 'migsim trace gen --help')", spec);
  if (!output) cli_die("gen: -o FILE is required");
  if (!duration_text)
    cli_die("gen: --duration is required (a generator runs forever, a file must end)");

  uint64_t page_size = cli_page_size(page_size_text);
  if (!pages_text && !memory_text)
    cli_die("gen: give the guest size with one of --pages or --memory");
  uint64_t pages = cli_guest_pages("gen", pages_text, memory_text, page_size);
  uint64_t duration_ns = cli_duration("--duration", duration_text, SIM_NS_PER_S);
  if (duration_ns == 0) cli_die("--duration: must be longer than 0");

  wl_open_opts opts = {pages, (uint32_t)page_size, seed, duration_ns};
  wl_source *src = NULL;
  cli_check(wl_source_open(spec, &opts, &src), "trace gen");
  int rc = wl_copy(src, output, wl_format_for_path(output));
  wl_source_close(src);
  cli_check(rc, "trace gen");
  return CLI_EXIT_OK;
}
