/* migsim report DIR: a Markdown and a self-contained HTML report, with
 * plots, of any result folder (res_report.h, docs/report.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "res_plot.h"
#include "res_report.h"
#include "sim_err.h"

static void cli__report_help(void) {
  printf("usage: migsim report DIR [OPTIONS]\n\n"
         "Writes DIR/report.md and DIR/report.html (self-contained: the plots are\n"
         "embedded as data URIs) for a result folder of run, sweep, compare, regress\n"
         "(its baseline/ and candidate/ runs) or validate (sim/ and real/), with plots\n"
         "DIR/report-*.png:\n"
         "  - total_time_ms, downtime_ms, transferred_bytes, dirty_sync_count,\n"
         "    postcopy_requests and guest_stall_ms against each swept parameter, one\n"
         "    line per algorithm, error bars (95%% CI of the mean) over repeats;\n"
         "  - a heatmap per metric and algorithm when exactly two parameters were swept;\n"
         "  - the CDF of each metric across runs, per algorithm;\n"
         "  - dirty memory and send rate over time, the send rate against the dirty rate\n"
         "    and auto-converge's CPU throttle (timeline.csv), bytes per round\n"
         "    (rounds.csv);\n"
         "  - each metric per scenario, a bar per folder, for regress's and validate's\n"
         "    sets of scenarios.\n"
         "Swept parameters are read from a sweep's run ids (algo=hybrid;max-bandwidth=...)\n"
         "or, elsewhere, are the scenario parameters that differ between runs. Runs that\n"
         "did not complete are drawn hollow, never as zero; a y axis is logarithmic when\n"
         "its values span more than two decades. A report.md another command wrote\n"
         "there (compare, regress) is kept at the top of the new one, with the PNGs it\n"
         "shows embedded in report.html.\n\n"
         "options:\n"
         "  --format LIST   also write these formats: png, svg, pdf (comma-separated;\n"
         "                  PNG is always written, the reports show it) [png]\n"
         "  --title TEXT    the report's title [DIR]\n"
         "  --help          this text\n\n"
         "example:\n"
         "  migsim sweep --workload uniform:wss=32768,rate=20000 --memory 1GiB \\\n"
         "      --algo precopy,postcopy,hybrid --bandwidth 256Mbit/s,1Gbit/s,10Gbit/s --out out/s\n"
         "  migsim report out/s --format png,pdf\n");
}

int cli_cmd_report(int argc, char **argv) {
  const char *dir = NULL, *title = NULL;
  unsigned formats = RES_REPORT_PNG;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      cli__report_help();
      return CLI_EXIT_OK;
    }
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (!strncmp(a, "--format", len) && len == 8) {
      const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!v) cli_die("report: --format needs a value (png, svg, pdf)");
      cli_check(res_report_formats(v, &formats), "report");
    } else if (!strncmp(a, "--title", len) && len == 7) {
      title = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!title) cli_die("report: --title needs a value");
    } else if (!strncmp(a, "--", 2)) {
      cli_die("report: unknown option %s (see --help)", a);
    } else if (dir) {
      cli_die("report: one folder at a time ('%s' and '%s')", dir, a);
    } else {
      dir = a;
    }
  }
  if (!dir) cli_die("report: which result folder? (migsim report DIR; see --help)");
  res_report_opts o = {0};
  o.formats = formats;
  o.title = title;
  res_report_stats st;
  cli_check(res_report_write(dir, &o, &st), "report");
  printf("report: %s/report.md, %s/report.html (%zu run%s, %zu point%s, %zu swept parameter%s, %zu plot%s)\n", dir,
         dir, st.runs, st.runs == 1 ? "" : "s", st.points, st.points == 1 ? "" : "s", st.axes, st.axes == 1 ? "" : "s",
         st.plots, st.plots == 1 ? "" : "s");
  return CLI_EXIT_OK;
}
