/* migsim trace info / trace stats: describe a trace or generator.
 *
 * Both stream the source once through wl_stats (memory bounded by the guest
 * size, never by the number of events). `info` prints a summary; `stats`
 * writes the dirty-rate, working-set and write-histogram tables (and plots)
 * into a directory. Every output file appears whole or not at all: tables
 * and plots go through temporary names, and if anything fails the files of
 * this run are removed before the one-line error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "res_csv.h"
#include "res_plot.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_units.h"
#include "wl_gen.h"
#include "wl_stats.h"
#include "wl_trace.h"

/* ------------------------------------------------- source options */

/* Options that only make sense for generator specs. */
typedef struct {
  uint64_t pages;
  uint64_t memory_bytes;
  uint64_t page_size;
  uint64_t duration_ns;
  uint64_t seed; /* default 1, as in `migsim trace gen` */
  const char *given; /* first generator-only option seen, for messages */
} cli__src_opts;

enum { CLI__OPT_PAGES = 256, CLI__OPT_MEMORY, CLI__OPT_PAGE_SIZE, CLI__OPT_DURATION,
       CLI__OPT_SEED, CLI__OPT_CSV, CLI__OPT_OUT, CLI__OPT_BIN, CLI__OPT_MIN_WINDOW,
       CLI__OPT_PLOT, CLI__OPT_HELP };

#define CLI__SRC_LONGOPTS                                             \
  {"pages", required_argument, NULL, CLI__OPT_PAGES},                 \
      {"memory", required_argument, NULL, CLI__OPT_MEMORY},           \
      {"page-size", required_argument, NULL, CLI__OPT_PAGE_SIZE},     \
      {"duration", required_argument, NULL, CLI__OPT_DURATION},       \
      {"seed", required_argument, NULL, CLI__OPT_SEED},               \
      {"help", no_argument, NULL, CLI__OPT_HELP}

static const char cli__src_help[] =
    "source: a trace file (binary or CSV) or a generator spec such as\n"
    "'uniform:rate=50000' (see 'migsim trace gen --help'). For generator\n"
    "specs only:\n"
    "  --pages N          guest size in pages, or\n"
    "  --memory SIZE      guest size (e.g. 1GiB)\n"
    "  --page-size SIZE   page size (default 4096)\n"
    "  --duration D       how long to generate (required; e.g. 60s)\n"
    "  --seed S           generator seed (default 1)\n";

/* Handles a generator option; returns 0 when `opt` is not one. */
static int cli__src_option(cli__src_opts *so, int opt, const char *arg) {
  switch (opt) {
  case CLI__OPT_PAGES:
    so->pages = cli_count("--pages", arg);
    if (so->pages == 0) cli_die("--pages: must be at least 1");
    if (!so->given) so->given = "--pages";
    return 1;
  case CLI__OPT_MEMORY:
    so->memory_bytes = cli_bytes("--memory", arg, 0);
    if (so->memory_bytes == 0) cli_die("--memory: must be more than 0 bytes");
    if (!so->given) so->given = "--memory";
    return 1;
  case CLI__OPT_PAGE_SIZE:
    so->page_size = cli_bytes("--page-size", arg, 0);
    if (so->page_size < 512 || so->page_size > WL_MAX_PAGE_SIZE ||
        (so->page_size & (so->page_size - 1)))
      cli_die("--page-size: '%s' is not a power of two between 512 B and 1 GiB", arg);
    if (!so->given) so->given = "--page-size";
    return 1;
  case CLI__OPT_DURATION:
    so->duration_ns = cli_duration("--duration", arg, SIM_NS_PER_S);
    if (so->duration_ns == 0) cli_die("--duration: must be longer than 0");
    if (!so->given) so->given = "--duration";
    return 1;
  case CLI__OPT_SEED: {
    /* A plain 64-bit integer, as `migsim trace gen` takes it. */
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (!*arg || *arg == '-' || *end || errno == ERANGE)
      cli_die("--seed: '%s' is not an integer in 0..18446744073709551615", arg);
    so->seed = v;
    if (!so->given) so->given = "--seed";
    return 1;
  }
  default:
    return 0;
  }
}

/* Dies on rc < 0 naming the source, unless the message already starts
 * with it (the trace readers name the file themselves). */
static void cli__check_src(int rc, const char *spec) {
  if (rc >= 0) return;
  const char *msg = sim_error_message();
  size_t n = strlen(spec);
  if (strncmp(msg, spec, n) == 0 && msg[n] == ':') cli_die("%s", msg);
  cli_die("%s: %s", spec, msg);
}

/* Opens `spec` as a file or a generator, checking the option combination. */
static wl_source *cli__src_open(const char *cmd, const char *spec, const cli__src_opts *so) {
  wl_source *src = NULL;
  if (!wl_gen_is_spec(spec)) {
    if (so->given)
      cli_die("%s: %s only applies to generator specs, and '%s' is a trace file", cmd, so->given,
              spec);
    cli__check_src(wl_source_open(spec, NULL, &src), spec);
    return src;
  }
  if (so->pages && so->memory_bytes) cli_die("%s: give either --pages or --memory, not both", cmd);
  wl_open_opts o = {0, 0, 0, 0};
  o.page_size = (uint32_t)(so->page_size ? so->page_size : WL_DEFAULT_PAGE_SIZE);
  o.pages = so->pages;
  if (so->memory_bytes) {
    if (so->memory_bytes % o.page_size)
      cli_die("--memory: %" PRIu64 " bytes is not a whole number of %u-byte pages",
              so->memory_bytes, o.page_size);
    o.pages = so->memory_bytes / o.page_size;
  }
  if (!o.pages) cli_die("%s: generator '%s' needs the guest size: --pages N or --memory SIZE", cmd, spec);
  o.seed = so->seed;
  o.duration_ns = so->duration_ns;
  cli__check_src(wl_source_open(spec, &o, &src), spec);
  if (wl_source_meta(src)->duration_ns == 0) {
    wl_source_close(src);
    cli_die("%s: generator '%s' is endless: give --duration", cmd, spec);
  }
  return src;
}

/* Reports an unknown option or a missing argument in one line. */
_Noreturn static void cli__bad_option(const char *cmd, int opt, char **argv) {
  const char *text = argv[optind - 1];
  if (opt == ':') cli_die("%s: option '%s' needs a value (see 'migsim trace %s --help')", cmd, text, cmd);
  cli_die("%s: unknown option '%s' (see 'migsim trace %s --help')", cmd, text, cmd);
}

/* ---------------------------------------------------------- trace info */

static void cli__info_usage(FILE *out) {
  fprintf(out,
          "usage: migsim trace info SOURCE [--csv] [generator options]\n\n"
          "Summarises a trace in one pass: guest size, duration, events, writes\n"
          "and reads, distinct pages written and read, mean dirty rate, pages\n"
          "non-zero at start and on-disk bytes per event. Memory use is about\n"
          "0.25 bytes per guest page, whatever the number of events.\n\n"
          "  --csv              print one CSV header and one row instead\n"
          "  --help             show this help\n\n%s",
          cli__src_help);
}

static const char *const cli__info_columns[] = {
    "trace", "pages", "page_size", "duration_s", "events", "writes", "reads",
    "distinct_pages_written", "distinct_pages_read", "nonzero_pages",
    "write_rate_pages_per_s", "write_rate_mib_per_s", "distinct_pages_per_s",
    "disk_bytes", "disk_bytes_per_event"};
#define CLI__NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static int cli__info_csv(const char *spec, const wl_stats_info *in) {
  res_csv *c = NULL;
  int rc = res_csv_stream(stdout, cli__info_columns, CLI__NCOLS(cli__info_columns), &c);
  if (rc) return rc;
  res_csv_str(c, spec);
  res_csv_u64(c, in->pages);
  res_csv_u64(c, in->page_size);
  res_csv_double(c, (double)in->duration_ns / 1e9);
  res_csv_u64(c, in->events);
  res_csv_u64(c, in->writes);
  res_csv_u64(c, in->reads);
  res_csv_u64(c, in->distinct_pages_written);
  res_csv_u64(c, in->distinct_pages_read);
  res_csv_u64(c, in->nonzero_pages);
  res_csv_double(c, in->write_rate_pages_per_s);
  res_csv_double(c, in->write_rate_mib_per_s);
  res_csv_double(c, in->distinct_pages_per_s);
  res_csv_u64(c, in->disk_bytes);
  if (in->disk_bytes && in->events)
    res_csv_double(c, in->disk_bytes_per_event);
  else
    res_csv_empty(c); /* generators have no file; an empty trace no ratio */
  rc = res_csv_end_row(c);
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

static double cli__pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* A rate for people: one decimal from 100 up, three significant digits
 * below (so 2.1 pages/s does not print as 0.01 MiB/s). */
static const char *cli__rate(char *buf, size_t size, double v) {
  snprintf(buf, size, v >= 100.0 ? "%.1f" : "%.3g", v);
  return buf;
}

static void cli__info_print(const char *spec, int generator, const wl_stats_info *in) {
  char a[32], b[32];
  const double page = (double)in->page_size;
  printf("%-24s %s\n", "trace", spec);
  if (generator)
    printf("%-24s generator (nothing on disk)\n", "source");
  else
    printf("%-24s file, %s on disk\n", "source", sim_format_bytes(a, sizeof a, (double)in->disk_bytes));
  printf("%-24s %" PRIu64 " x %u B = %s\n", "pages", in->pages, in->page_size,
         sim_format_bytes(a, sizeof a, (double)in->pages * page));
  printf("%-24s %" PRIu64 " (%.2f%%)\n", "non-zero pages at start", in->nonzero_pages,
         cli__pct(in->nonzero_pages, in->pages));
  printf("%-24s %s (%s)\n", "duration", sim_format_duration(a, sizeof a, in->duration_ns),
         in->duration_from_meta ? "from metadata" : "to the last event");
  printf("%-24s %" PRIu64 "\n", "events", in->events);
  printf("%-24s %" PRIu64 " (%.2f%%)\n", "  writes", in->writes, cli__pct(in->writes, in->events));
  printf("%-24s %" PRIu64 " (%.2f%%)\n", "  reads", in->reads, cli__pct(in->reads, in->events));
  printf("%-24s %" PRIu64 " (%.2f%% of memory, %s)\n", "distinct pages written",
         in->distinct_pages_written, cli__pct(in->distinct_pages_written, in->pages),
         sim_format_bytes(a, sizeof a, (double)in->distinct_pages_written * page));
  printf("%-24s %" PRIu64 " (%.2f%% of memory, %s)\n", "distinct pages read",
         in->distinct_pages_read, cli__pct(in->distinct_pages_read, in->pages),
         sim_format_bytes(b, sizeof b, (double)in->distinct_pages_read * page));
  printf("%-24s %s pages/s (%s MiB/s)\n", "mean dirty rate",
         cli__rate(a, sizeof a, in->write_rate_pages_per_s),
         cli__rate(b, sizeof b, in->write_rate_mib_per_s));
  printf("%-24s %s pages/s\n", "distinct pages/s", cli__rate(a, sizeof a, in->distinct_pages_per_s));
  if (in->disk_bytes && in->events)
    printf("%-24s %.3f\n", "disk bytes per event", in->disk_bytes_per_event);
  else
    printf("%-24s n/a\n", "disk bytes per event");
}

int cli_trace_info(int argc, char **argv) {
  static const struct option longopts[] = {
      CLI__SRC_LONGOPTS, {"csv", no_argument, NULL, CLI__OPT_CSV}, {NULL, 0, NULL, 0}};
  cli__src_opts so;
  memset(&so, 0, sizeof so);
  so.seed = 1;
  int csv = 0, opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    if (cli__src_option(&so, opt, optarg)) continue;
    switch (opt) {
    case CLI__OPT_CSV:
      csv = 1;
      break;
    case 'h':
    case CLI__OPT_HELP:
      cli__info_usage(stdout);
      return CLI_EXIT_OK;
    default:
      cli__bad_option("info", opt, argv);
    }
  }
  if (optind != argc - 1) {
    if (optind >= argc) cli_die("info: which trace? (usage: migsim trace info SOURCE, see --help)");
    cli_die("info: one source expected, got '%s' too", argv[optind + 1]);
  }
  const char *spec = argv[optind];
  wl_source *src = cli__src_open("info", spec, &so);
  wl_stats *st = NULL;
  int rc = wl_stats_run(src, NULL, &st);
  wl_source_close(src);
  cli__check_src(rc, spec);
  if (csv)
    rc = cli__info_csv(spec, wl_stats_get_info(st));
  else
    cli__info_print(spec, wl_gen_is_spec(spec), wl_stats_get_info(st));
  wl_stats_free(st);
  cli_check(rc, "info");
  if (fflush(stdout) != 0 || ferror(stdout)) cli_die("info: cannot write the output");
  return CLI_EXIT_OK;
}

/* --------------------------------------------------------- trace stats */

static void cli__stats_usage(FILE *out) {
  fprintf(out,
          "usage: migsim trace stats SOURCE --out DIR [--bin D] [--min-window D]\n"
          "                          [--plot] [generator options]\n\n"
          "Writes, in one pass over the source:\n"
          "  DIR/dirty_rate.csv       writes, reads and distinct pages per time bin\n"
          "  DIR/working_set.csv      distinct pages written vs window length\n"
          "  DIR/write_histogram.csv  pages by number of writes (powers of two)\n"
          "and with --plot the matching DIR/*.png. Columns: docs/trace-stats.md.\n"
          "Memory use is about 8.5 bytes per guest page (plus 32 bytes per bin\n"
          "with --plot), whatever the number of events.\n\n"
          "  --out DIR          output directory (created if missing)\n"
          "  --bin D            dirty-rate bin width (default 1s)\n"
          "  --min-window D     shortest working-set window (default 10ms);\n"
          "                     the others double up to the trace duration\n"
          "  --plot             also draw PNG plots\n"
          "  --help             show this help\n\n%s",
          cli__src_help);
}

/* The dirty-rate table being streamed, and the points kept for its plot. */
typedef struct {
  res_csv *csv;
  int plot;
  double *xy; /* per bin: t_start_s, t_end_s, writes/s, distinct pages/s */
  size_t bins, cap;
} cli__bins;

enum { CLI__MAX_PLOT_BINS = 1000000 };

static int cli__on_bin(void *ctx, const wl_stats_bin *bin) {
  cli__bins *b = ctx;
  const double t0 = (double)bin->t_start_ns / 1e9, t1 = (double)bin->t_end_ns / 1e9;
  int rc = res_csv_double(b->csv, t0);
  if (!rc) rc = res_csv_double(b->csv, t1);
  if (!rc) rc = res_csv_u64(b->csv, bin->writes);
  if (!rc) rc = res_csv_u64(b->csv, bin->reads);
  if (!rc) rc = res_csv_u64(b->csv, bin->distinct_pages_written);
  if (!rc) rc = res_csv_double(b->csv, bin->write_rate_pages_per_s);
  if (!rc) rc = res_csv_double(b->csv, bin->write_rate_mib_per_s);
  if (!rc) rc = res_csv_end_row(b->csv);
  if (rc || !b->plot) return rc;
  if (b->bins >= CLI__MAX_PLOT_BINS)
    return sim_errorf(SIM_ERANGE, "--plot: more than %d dirty-rate bins (give a wider --bin)", CLI__MAX_PLOT_BINS);
  if (b->bins == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 1024;
    double *grown = realloc(b->xy, cap * 4 * sizeof *grown);
    if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory keeping bins for the plot");
    b->xy = grown;
    b->cap = cap;
  }
  double *p = b->xy + 4 * b->bins++;
  p[0] = t0;
  p[1] = t1;
  p[2] = bin->write_rate_pages_per_s;
  p[3] = t1 > t0 ? (double)bin->distinct_pages_written / (t1 - t0) : 0.0;
  return 0;
}

static const char *const cli__rate_columns[] = {
    "t_start_s", "t_end_s", "writes", "reads", "distinct_pages_written",
    "write_rate_pages_per_s", "write_rate_mib_per_s"};
static const char *const cli__ws_columns[] = {
    "window_s", "windows", "mean_distinct_pages", "max_distinct_pages",
    "from_start_distinct_pages", "from_start_dirty_rate_mib_per_s"};
static const char *const cli__hist_columns[] = {
    "bucket_min_writes", "bucket_max_writes", "pages", "share_of_pages", "writes",
    "share_of_writes"};

static int cli__ws_table(res_csv *c, const wl_stats *st) {
  size_t n;
  const wl_stats_ws_point *ws = wl_stats_get_working_set(st, &n);
  const double page = (double)wl_stats_get_info(st)->page_size;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const double w = (double)ws[i].window_ns / 1e9;
    rc = res_csv_double(c, w);
    if (!rc) rc = res_csv_u64(c, ws[i].windows);
    if (!rc) rc = res_csv_double(c, ws[i].mean_distinct_pages);
    if (!rc) rc = res_csv_u64(c, ws[i].max_distinct_pages);
    if (!rc) rc = res_csv_u64(c, ws[i].from_start_distinct_pages);
    if (!rc) rc = res_csv_double(c, (double)ws[i].from_start_distinct_pages * page / 1048576.0 / w);
    if (!rc) rc = res_csv_end_row(c);
  }
  return rc;
}

static int cli__hist_table(res_csv *c, const wl_stats *st) {
  size_t n;
  const wl_stats_hist_bucket *h = wl_stats_get_histogram(st, &n);
  const uint64_t pages = wl_stats_get_info(st)->pages;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = res_csv_u64(c, h[i].min_writes);
    if (!rc) rc = res_csv_u64(c, h[i].max_writes);
    if (!rc) rc = res_csv_u64(c, h[i].pages);
    if (!rc) rc = res_csv_double(c, (double)h[i].pages / (double)pages);
    if (!rc) rc = res_csv_u64(c, h[i].writes);
    if (!rc) rc = res_csv_double(c, h[i].share_of_writes);
    if (!rc) rc = res_csv_end_row(c);
  }
  return rc;
}

/* Files renamed into place by this run, removed again if a later step
 * fails so that a failed run leaves nothing half-updated behind. */
typedef struct {
  char *paths[8];
  size_t count;
} cli__outputs;

static char *cli__join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p) cli_die("out of memory");
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int cli__plot_rate(const char *path, const cli__bins *b) {
  /* Steps: each bin is a flat segment from its start to its end. */
  size_t n = 2 * b->bins;
  double *x = malloc((n ? n : 1) * sizeof *x), *w = malloc((n ? n : 1) * sizeof *w),
         *d = malloc((n ? n : 1) * sizeof *d);
  int rc = 0;
  if (!x || !w || !d) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
  } else {
    for (size_t i = 0; i < b->bins; i++) {
      const double *p = b->xy + 4 * i;
      x[2 * i] = p[0];
      x[2 * i + 1] = p[1];
      w[2 * i] = w[2 * i + 1] = p[2];
      d[2 * i] = d[2 * i + 1] = p[3];
    }
    res_plot_series s[2] = {{.name = "writes", .x = x, .y = w, .n = n}, {.name = "distinct pages written", .x = x, .y = d, .n = n}};
    res_plot_opts o = {"Dirty rate over time", "time (s)", "pages per second", 0, 0, 0, 0, 0, NULL, 0, NULL};
    rc = res_plot_lines(path, &o, s, 2);
  }
  free(x);
  free(w);
  free(d);
  return rc;
}

static int cli__plot_ws(const char *path, const wl_stats *st) {
  size_t n;
  const wl_stats_ws_point *ws = wl_stats_get_working_set(st, &n);
  double *v = malloc(4 * n * sizeof *v);
  if (!v) return sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
  double *x = v, *mean = v + n, *max = v + 2 * n, *start = v + 3 * n;
  for (size_t i = 0; i < n; i++) {
    x[i] = (double)ws[i].window_ns / 1e9;
    mean[i] = ws[i].mean_distinct_pages;
    max[i] = (double)ws[i].max_distinct_pages;
    start[i] = (double)ws[i].from_start_distinct_pages;
  }
  res_plot_series s[3] = {{.name = "mean over windows", .x = x, .y = mean, .n = n},
                          {.name = "max over windows", .x = x, .y = max, .n = n},
                          {.name = "from start [0, w)", .x = x, .y = start, .n = n}};
  res_plot_opts o = {"Working set: distinct pages written per window", "window length (s)",
                     "distinct pages written", 1, 0, 1, 0, 0, NULL, 0, NULL};
  int rc = res_plot_lines(path, &o, s, 3);
  free(v);
  return rc;
}

/* Short bucket label: its lower bound, with binary K/M/G for big ones. */
static void cli__bucket_label(char *buf, size_t size, uint64_t min_writes) {
  if (min_writes >= (1ull << 30))
    snprintf(buf, size, "%" PRIu64 "G", min_writes >> 30);
  else if (min_writes >= (1ull << 20))
    snprintf(buf, size, "%" PRIu64 "M", min_writes >> 20);
  else if (min_writes >= (1ull << 10))
    snprintf(buf, size, "%" PRIu64 "K", min_writes >> 10);
  else
    snprintf(buf, size, "%" PRIu64, min_writes);
}

static int cli__plot_hist(const char *path, const wl_stats *st) {
  size_t n;
  const wl_stats_hist_bucket *h = wl_stats_get_histogram(st, &n);
  const uint64_t pages = wl_stats_get_info(st)->pages;
  char labels[40][16];
  const char *cats[40];
  double share_pages[40], share_writes[40];
  if (n > 40) n = 40; /* cannot happen: 33 buckets at most */
  for (size_t i = 0; i < n; i++) {
    cli__bucket_label(labels[i], sizeof labels[i], h[i].min_writes);
    cats[i] = labels[i];
    share_pages[i] = 100.0 * (double)h[i].pages / (double)pages;
    share_writes[i] = 100.0 * h[i].share_of_writes;
  }
  res_plot_bar_series s[2] = {{.name = "pages", .values = share_pages}, {.name = "writes", .values = share_writes}};
  res_plot_opts o = {"Page write frequency", "writes per page (bucket N holds N to 2N-1)",
                     "share (%)", 0, 0, 0, 0, 0, NULL, 0, NULL};
  return res_plot_bars(path, &o, cats, n, s, 2);
}

/* The whole stats run; returns 0 or an error code with everything this run
 * wrote removed again. */
static int cli__stats_run(wl_source *src, const char *dir, const wl_stats_opts *base, int plot) {
  static const char *const csv_names[3] = {"dirty_rate.csv", "working_set.csv",
                                           "write_histogram.csv"};
  static const char *const png_names[3] = {"dirty_rate.png", "working_set.png",
                                           "write_histogram.png"};
  res_csv *csv[3] = {NULL, NULL, NULL};
  cli__outputs done;
  cli__bins bins;
  wl_stats *st = NULL;
  char *paths[3] = {NULL, NULL, NULL};
  memset(&done, 0, sizeof done);
  memset(&bins, 0, sizeof bins);
  int rc = sim_mkdir_p(dir);
  if (rc) return rc;
  for (int i = 0; i < 3; i++) paths[i] = cli__join(dir, csv_names[i]);
  rc = res_csv_create(paths[0], cli__rate_columns, CLI__NCOLS(cli__rate_columns), &csv[0]);
  if (!rc) rc = res_csv_create(paths[1], cli__ws_columns, CLI__NCOLS(cli__ws_columns), &csv[1]);
  if (!rc)
    rc = res_csv_create(paths[2], cli__hist_columns, CLI__NCOLS(cli__hist_columns), &csv[2]);
  if (!rc && plot) rc = res_plot_available();
  /* A plot of more bins than pixels is useless and costs 32 bytes per bin:
   * refused before reading when the trace states its duration. */
  uint64_t bin_ns = base->bin_ns ? base->bin_ns : WL_STATS_DEFAULT_BIN_NS;
  if (!rc && plot && wl_source_meta(src)->duration_ns / bin_ns > CLI__MAX_PLOT_BINS)
    rc = sim_errorf(SIM_ERANGE,
                    "--plot: the trace spans %.0f s, %llu bins of %.3g s; plots take at most %d bins "
                    "(give a wider --bin)",
                    (double)wl_source_meta(src)->duration_ns / 1e9,
                    (unsigned long long)(wl_source_meta(src)->duration_ns / bin_ns), (double)bin_ns / 1e9,
                    CLI__MAX_PLOT_BINS);
  if (!rc) {
    wl_stats_opts o = *base;
    bins.csv = csv[0];
    bins.plot = plot;
    o.on_bin = cli__on_bin;
    o.on_bin_ctx = &bins;
    rc = wl_stats_run(src, &o, &st);
  }
  if (!rc) rc = cli__ws_table(csv[1], st);
  if (!rc) rc = cli__hist_table(csv[2], st);
  for (int i = 0; i < 3 && plot && !rc; i++) {
    size_t points = 0;
    if (i == 1 && (wl_stats_get_working_set(st, &points), points == 0)) {
      /* D = 0 (no events, or all at t = 0): no curve to draw. */
      fprintf(stderr, "migsim: note: %s not drawn: the trace has no duration\n", png_names[i]);
      continue;
    }
    char *png = cli__join(dir, png_names[i]);
    rc = i == 0 ? cli__plot_rate(png, &bins) : i == 1 ? cli__plot_ws(png, st) : cli__plot_hist(png, st);
    if (rc)
      free(png);
    else
      done.paths[done.count++] = png;
  }
  for (int i = 0; i < 3; i++) {
    if (!rc) {
      rc = res_csv_commit(csv[i]);
      if (!rc) done.paths[done.count++] = paths[i], paths[i] = NULL;
    } else {
      res_csv_abort(csv[i]);
    }
    csv[i] = NULL;
  }
  for (size_t i = 0; i < done.count; i++) {
    if (rc) unlink(done.paths[i]);
    free(done.paths[i]);
  }
  for (int i = 0; i < 3; i++) free(paths[i]);
  free(bins.xy);
  wl_stats_free(st);
  return rc;
}

int cli_trace_stats(int argc, char **argv) {
  static const struct option longopts[] = {CLI__SRC_LONGOPTS,
                                           {"out", required_argument, NULL, CLI__OPT_OUT},
                                           {"bin", required_argument, NULL, CLI__OPT_BIN},
                                           {"min-window", required_argument, NULL, CLI__OPT_MIN_WINDOW},
                                           {"plot", no_argument, NULL, CLI__OPT_PLOT},
                                           {NULL, 0, NULL, 0}};
  cli__src_opts so;
  memset(&so, 0, sizeof so);
  so.seed = 1;
  wl_stats_opts o = {WL_STATS_ALL, WL_STATS_DEFAULT_BIN_NS, WL_STATS_DEFAULT_MIN_WINDOW_NS, NULL,
                     NULL};
  const char *dir = NULL;
  int plot = 0, opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    if (cli__src_option(&so, opt, optarg)) continue;
    switch (opt) {
    case CLI__OPT_OUT:
      if (!*optarg) cli_die("--out: empty directory name");
      dir = optarg;
      break;
    case CLI__OPT_BIN:
      o.bin_ns = cli_duration("--bin", optarg, SIM_NS_PER_S);
      if (o.bin_ns == 0) cli_die("--bin: must be longer than 0");
      break;
    case CLI__OPT_MIN_WINDOW:
      o.min_window_ns = cli_duration("--min-window", optarg, SIM_NS_PER_S);
      if (o.min_window_ns == 0) cli_die("--min-window: must be longer than 0");
      break;
    case CLI__OPT_PLOT:
      plot = 1;
      break;
    case 'h':
    case CLI__OPT_HELP:
      cli__stats_usage(stdout);
      return CLI_EXIT_OK;
    default:
      cli__bad_option("stats", opt, argv);
    }
  }
  if (optind != argc - 1) {
    if (optind >= argc) cli_die("stats: which trace? (usage: migsim trace stats SOURCE --out DIR, see --help)");
    cli_die("stats: one source expected, got '%s' too", argv[optind + 1]);
  }
  if (!dir) cli_die("stats: --out DIR is required");
  const char *spec = argv[optind];
  wl_source *src = cli__src_open("stats", spec, &so);
  int rc = cli__stats_run(src, dir, &o, plot);
  wl_source_close(src);
  cli__check_src(rc, spec);
  return CLI_EXIT_OK;
}
