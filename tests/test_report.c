/* test_report: `migsim report` (res_report): the HTML is self-contained,
 * one embedded PNG per plot that decodes to a PNG; points group repeats;
 * swept parameters come from a sweep's run ids, or from what differs
 * (compare's link and max-bandwidth are one axis); two swept parameters
 * give heatmaps; runs that did not complete are marked, not zero; SVG and
 * PDF on request; a stale plot is removed; another command's report.md is
 * kept once; bad input is one line and exit 2. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "res_csv_read.h"
#include "res_report.h"
#include "sim_err.h"
#include "test_util.h"

static int file_exists(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* Files of dir starting with prefix and ending with suffix. */
static size_t count_files(const char *dir, const char *prefix, const char *suffix) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    if (!strncmp(e->d_name, prefix, strlen(prefix)) && len > sl && !strcmp(e->d_name + len - sl, suffix)) n++;
  }
  closedir(d);
  return n;
}

static int b64_value(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

/* Decodes the first `want` bytes of base64 text (independent of the
 * encoder under test). */
static void b64_decode_head(const char *text, unsigned char *out, size_t want) {
  size_t o = 0;
  for (size_t i = 0; o < want; i += 4) {
    int v[4];
    for (int k = 0; k < 4; k++) {
      v[k] = b64_value(text[i + (size_t)k]);
      assert_true(v[k] >= 0 || text[i + (size_t)k] == '=');
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 |
                 (uint32_t)(v[3] < 0 ? 0 : v[3]);
    for (int k = 0; k < 3 && o < want; k++) out[o++] = (unsigned char)(w >> (16 - 8 * k));
  }
}

/* Every <img> of the HTML is a data URI whose PNG decodes; returns how
 * many. Nothing else is loaded from outside. */
static size_t check_html_images(const char *html) {
  static const char prefix[] = "<img src=\"data:image/png;base64,";
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  size_t n = 0;
  for (const char *p = html; (p = strstr(p, prefix)); n++) {
    p += strlen(prefix);
    unsigned char head[8];
    b64_decode_head(p, head, sizeof head);
    assert_memory_equal(head, png, sizeof png);
    /* The whole URI is base64 up to the closing quote. */
    size_t len = strcspn(p, "\"");
    assert_true(len > 100);
    assert_int_equal(len % 4, 0);
    for (size_t i = 0; i < len; i++) assert_true(b64_value(p[i]) >= 0 || p[i] == '=');
  }
  assert_int_equal(count(html, "<img "), n);
  assert_null(strstr(html, "src=\"http"));
  assert_null(strstr(html, "<link"));
  /* One inline script (it counts the decoded images for the browser
   * test), nothing loaded from elsewhere. */
  assert_int_equal(count(html, "<script"), 1);
  assert_null(strstr(html, "<script src"));
  return n;
}

static void test_base64_known_answers(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  char out[32];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = res_base64((const unsigned char *)cases[i].in, strlen(cases[i].in), out);
    assert_string_equal(out, cases[i].out);
    assert_int_equal(n, strlen(cases[i].out));
  }
  const unsigned char bytes[3] = {0xfb, 0xff, 0x00};
  res_base64(bytes, 3, out);
  assert_string_equal(out, "+/8A");
}

/* A sweep of one parameter with two seeds per point: 2 algorithms x 3
 * rate limits x 2 seeds = 12 runs, 6 points; the 8 MiB/s pre-copy runs
 * cannot finish in 3 s. */
static void test_sweep_report(void **state) {
  (void)state;
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/sweep1", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "sweep --workload uniform:wss=16384,rate=8000,nonzero=0.5 --memory 128MiB "
                          "--algo precopy,postcopy --max-bandwidth 8MiB/s,64MiB/s,256MiB/s --seed 1,2 "
                          "--timeout 3s --jobs 1 --quiet --out %s",
                          dir),
                   0);
  res_report_opts o = {0};
  res_report_stats st;
  assert_int_equal(res_report_write(dir, &o, &st), 0);
  assert_int_equal(st.runs, 12);
  assert_int_equal(st.points, 6);
  assert_int_equal(st.axes, 1);
  /* 6 metrics against max-bandwidth, 6 CDFs, the rounds. */
  assert_int_equal(st.plots, 13);
  char path[1024];
  snprintf(path, sizeof path, "%s/report.html", dir);
  char *html = slurp(path);
  assert_non_null(html);
  assert_int_equal(check_html_images(html), st.plots);
  assert_int_equal(count_files(dir, "report-", ".png"), st.plots);
  assert_true(file_exists(dir, "report-total_time_ms-vs-max-bandwidth.png"));
  assert_true(file_exists(dir, "report-downtime_ms-vs-max-bandwidth.png"));
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path);
  assert_non_null(md);
  /* Every plot is referenced by the Markdown too. */
  assert_int_equal(count(md, "](report-"), st.plots);
  assert_non_null(strstr(md, "`max-bandwidth (MiB/s)` (3 values)"));
  /* The not-converged pre-copy point: 2 runs, none completed, marked. */
  assert_non_null(strstr(md, "| precopy | 8MiB/s | 2 | 0 | "));
  assert_non_null(strstr(md, "(n/c)"));
  /* A completed point of two seeds carries its interval. */
  assert_non_null(strstr(md, "| postcopy | 256MiB/s | 2 | 2 | "));
  assert_non_null(strstr(md, " ± "));
  free(html);
  free(md);
}

/* compare: link and max-bandwidth (and the post-copy bandwidth, which is
 * the link) vary together: one axis. Its own report.md is kept at the top,
 * once, also when the report is made again. */
static void test_compare_report_keeps_its_report(void **state) {
  (void)state;
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/cmp", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "compare --workload uniform:wss=16384,rate=8000,nonzero=0.5 --memory 128MiB "
                          "--links 1Gbit/s,10Gbit/s --no-plots --out %s",
                          dir),
                   0);
  char path[1024];
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *before = NULL;
  for (int pass = 0; pass < 3; pass++) {
    res_report_stats st;
    assert_int_equal(res_report_write(dir, NULL, &st), 0);
    assert_int_equal(st.runs, 6);
    assert_int_equal(st.axes, 1);
    char *md = slurp(path);
    assert_non_null(md);
    assert_int_equal(strncmp(md, "# migsim report: ", 17), 0);
    assert_int_equal(count(md, "# migsim compare"), 1);
    assert_non_null(strstr(md, "`max-bandwidth = link = postcopy-bandwidth (MiB/s)` (2 values)"));
    /* made again, the same bytes (it once grew a blank line each time) */
    if (before) assert_string_equal(md, before);
    free(before);
    before = md;
  }
  free(before);
  assert_true(file_exists(dir, "report-total_time_ms-vs-max-bandwidth.png"));
}

/* The PNGs a kept report.md shows (compare's four plots) are embedded in
 * report.html after its text, once each; a reference that is not a plain
 * file of the folder (a path, a missing file) is not. */
static void test_kept_figures(void **state) {
  (void)state;
  char err[4096], dir[512], path[1024];
  snprintf(dir, sizeof dir, "%s/kept", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "compare --workload uniform:wss=4096,rate=8000,nonzero=0.5 --memory 32MiB "
                          "--links 1Gbit/s --out %s",
                          dir),
                   0);
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path);
  assert_non_null(md);
  assert_non_null(strstr(md, "](total_time.png)"));
  /* Two references that must not be followed. */
  char *more = malloc(strlen(md) + 256);
  assert_non_null(more);
  sprintf(more, "%s\n![outside](../kept/total_time.png)\n![missing](nothing.png)\n", md);
  write_file(path, more);
  free(more);
  free(md);
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  snprintf(path, sizeof path, "%s/report.html", dir);
  char *html = slurp(path);
  assert_non_null(html);
  size_t imgs = (size_t)count(html, "<img src=\"data:image/png;base64,");
  assert_int_equal(imgs, st.plots + 4); /* total time, downtime, bytes, bytes per round */
  const char *kept = strstr(html, "<figcaption>total time</figcaption>");
  assert_non_null(kept);
  assert_true(kept < strstr(html, "<h2>Overview</h2>"));
  assert_int_equal(count(html, "<figcaption>total time</figcaption>"), 1);
  assert_null(strstr(html, "<figcaption>outside</figcaption>"));
  assert_null(strstr(html, "<figcaption>missing</figcaption>"));
  free(html);
}

/* Feature variants are series of their own (precopy+xbzrle is not a
 * repeat of precopy), and a feature's flag is not a swept parameter. */
static void test_variants_are_series(void **state) {
  (void)state;
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/variants", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "compare --workload uniform:wss=4096,rate=8000,nonzero=1,write_bytes=64 --memory 32MiB "
                          "--links 256Mbit/s,1Gbit/s --algos precopy,precopy+xbzrle,precopy+auto-converge "
                          "--timeout 5s --no-plots --out %s",
                          dir),
                   0);
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_int_equal(st.runs, 6);
  assert_int_equal(st.points, 6); /* 3 series x 2 links, no repeats */
  assert_int_equal(st.axes, 1);
  char path[1024];
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path);
  assert_non_null(md);
  assert_non_null(strstr(md, "precopy+xbzrle"));
  assert_non_null(strstr(md, "precopy+auto-converge"));
  free(md);
}

/* The HTML report in a real browser (Debian's chromium, headless): every
 * embedded plot decodes (the page counts them after loading; the DOM dump
 * shows the count). Also the screenshot in docs/report/. Skipped, with the
 * reason, when chromium is not installed (scripts/test.sh installs it). */
static void test_report_in_browser(void **state) {
  (void)state;
  if (system("command -v chromium >/dev/null 2>&1") != 0) {
    print_message("skipping: chromium is not installed\n");
    skip();
  }
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/browser", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "compare --workload uniform:wss=4096,rate=8000,nonzero=0.5 --memory 32MiB "
                          "--links 256Mbit/s,1Gbit/s --no-plots --out %s",
                          dir),
                   0);
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_true(st.plots >= 5);
  char cmd[4096], dom[1024];
  snprintf(dom, sizeof dom, "%s/dom.html", dir);
  snprintf(cmd, sizeof cmd,
           "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
           "--user-data-dir=%s/chrome --virtual-time-budget=10000 --dump-dom file://%s/report.html "
           ">%s 2>/dev/null",
           dir, dir, dom);
  assert_int_equal(system(cmd), 0);
  char *text = slurp(dom);
  assert_non_null(text);
  const char *a = strstr(text, "data-images=\""), *b = strstr(text, "data-loaded=\"");
  if (!a || !b) fail_msg("the page's load script did not run: %.200s", text);
  long images = strtol(a + 13, NULL, 10), loaded = strtol(b + 13, NULL, 10);
  print_message("report.html in chromium: %ld of %ld images decoded (%zu plots)\n", loaded, images, st.plots);
  assert_int_equal(images, (long)st.plots);
  assert_int_equal(loaded, images);
  free(text);
}

/* Two swept parameters: a heatmap per metric and algorithm; SVG and PDF
 * beside each PNG; a plot of an earlier report that is not made again is
 * removed, other files are not. */
static void test_two_axes_formats_stale(void **state) {
  (void)state;
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/grid", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "sweep --workload uniform:wss=16384,rate=8000,nonzero=0.5 --memory 128MiB "
                          "--algo precopy,hybrid --max-bandwidth 32MiB/s,128MiB/s --downtime-limit 50ms,300ms "
                          "--timeout 10s --jobs 1 --quiet --out %s",
                          dir),
                   0);
  char path[1024];
  snprintf(path, sizeof path, "%s/report-old-plot.png", dir);
  write_file(path, "stale");
  snprintf(path, sizeof path, "%s/notes.png", dir);
  write_file(path, "mine");
  unsigned formats;
  assert_int_equal(res_report_formats("svg,pdf", &formats), 0);
  assert_int_equal(formats, RES_REPORT_PNG | RES_REPORT_SVG | RES_REPORT_PDF);
  res_report_opts o = {.formats = formats, .title = "grid test"};
  res_report_stats st;
  assert_int_equal(res_report_write(dir, &o, &st), 0);
  assert_int_equal(st.axes, 2);
  assert_true(file_exists(dir, "report-heat-total_time_ms-precopy.png"));
  assert_true(file_exists(dir, "report-heat-downtime_ms-hybrid.png"));
  assert_int_equal(count_files(dir, "report-heat-", ".png"), 12);
  assert_int_equal(count_files(dir, "report-", ".svg"), st.plots);
  assert_int_equal(count_files(dir, "report-", ".pdf"), st.plots);
  snprintf(path, sizeof path, "%s/report-heat-total_time_ms-precopy.svg", dir);
  char *svg = slurp(path);
  assert_non_null(svg);
  assert_true(!strncmp(svg, "<?xml", 5) || !strncmp(svg, "<svg", 4));
  free(svg);
  snprintf(path, sizeof path, "%s/report-heat-total_time_ms-precopy.pdf", dir);
  char *pdf = slurp(path);
  assert_non_null(pdf);
  assert_int_equal(strncmp(pdf, "%PDF-", 5), 0);
  free(pdf);
  assert_false(file_exists(dir, "report-old-plot.png"));
  assert_true(file_exists(dir, "notes.png"));
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path);
  assert_non_null(md);
  assert_int_equal(strncmp(md, "# migsim report: grid test\n", 27), 0);
  assert_non_null(strstr(md, "[PDF](report-heat-total_time_ms-precopy.pdf)"));
  free(md);
  /* PNG only again: the SVGs and PDFs of the last report go. */
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_int_equal(count_files(dir, "report-", ".svg"), 0);
  assert_int_equal(count_files(dir, "report-", ".pdf"), 0);
}

/* A folder of runs with a timeline: its two plots. */
static void test_timeline_plots(void **state) {
  (void)state;
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/tl", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "run --workload uniform:wss=16384,rate=8000,nonzero=0.5 --memory 128MiB --timeline "
                          "--repeat 3 --quiet --out %s",
                          dir),
                   0);
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_int_equal(st.runs, 3);
  assert_int_equal(st.points, 1); /* the three repeats of one scenario */
  assert_true(file_exists(dir, "report-timeline-dirty.png"));
  assert_true(file_exists(dir, "report-timeline-rate.png"));
  assert_true(file_exists(dir, "report-rounds.png"));
  /* These runs end within a second, before QEMU's dirty rate is first
   * measured: no dirty rate to race against; no throttle plot without
   * auto-converge. */
  assert_false(file_exists(dir, "report-timeline-race-1.png"));
  assert_false(file_exists(dir, "report-timeline-throttle.png"));
}

/* timeline.csv rows of one sweep, per auto-converge setting. */
typedef struct {
  size_t rows[2];
  size_t throttle_cells[2];       /* non-empty throttle_pct cells */
  double max_rate[2], first_rate[2];
  unsigned last_throttle, max_throttle;
  int throttle_fell;
} tl_rows;

static int tl_row(void *ctx, const char *const *h, const char *const *c, size_t n) {
  tl_rows *t = ctx;
  int id = res_csv_col(h, n, "run_id"), rate = res_csv_col(h, n, "dirty_pages_rate");
  int thr = res_csv_col(h, n, "throttle_pct");
  assert_true(id >= 0 && rate >= 0 && thr >= 0);
  int ac = strstr(c[id], "auto-converge=yes") != NULL;
  double r = c[rate][0] ? strtod(c[rate], NULL) : -1; /* empty: not measured yet */
  if (t->rows[ac]++ == 0) t->first_rate[ac] = r;
  if (r > t->max_rate[ac]) t->max_rate[ac] = r;
  if (c[thr][0]) {
    t->throttle_cells[ac]++;
    unsigned v = (unsigned)strtoul(c[thr], NULL, 10);
    if (v < t->last_throttle) t->throttle_fell = 1;
    t->last_throttle = v;
    if (v > t->max_throttle) t->max_throttle = v;
  }
  return 0;
}

static int summary_throttle(void *ctx, const char *const *h, const char *const *c, size_t n) {
  int id = res_csv_col(h, n, "run_id"), thr = res_csv_col(h, n, "cpu_throttle_percentage");
  assert_true(id >= 0 && thr >= 0);
  if (strstr(c[id], "auto-converge=yes")) *(unsigned *)ctx = (unsigned)strtoul(c[thr], NULL, 10);
  return 0;
}

/* timeline.csv's dirty_pages_rate and throttle_pct, and the report's
 * plots of them: the rate is empty until a sync period has ended; a
 * guest writing 8,000 uniform pages/s of 32,768 cannot
 * dirty more than 8,000 pages/s, and does dirty more than half of that
 * over a 1-4 s period (1 - e^-1 of its writes at least); the throttle
 * only rises during a migration, ends at the summary's
 * cpu_throttle_percentage, and is empty without auto-converge. */
static void test_timeline_race_throttle(void **state) {
  (void)state;
  char err[4096], dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/race", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "sweep --workload uniform:wss=32768,rate=8000,nonzero=1 --memory 128MiB "
                          "--auto-converge no,yes --bandwidth 256Mbit/s --timeline --quiet --out %s",
                          dir),
                   0);
  snprintf(path, sizeof path, "%s/timeline.csv", dir);
  tl_rows t;
  memset(&t, 0, sizeof t);
  assert_int_equal(res_csv_each(path, 0, tl_row, &t), 0);
  assert_true(t.rows[0] > 100 && t.rows[1] > 50);
  assert_int_equal(t.throttle_cells[0], 0);
  assert_int_equal(t.throttle_cells[1], t.rows[1]);
  assert_false(t.throttle_fell);
  unsigned final_throttle = 0;
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  assert_int_equal(res_csv_each(path, 0, summary_throttle, &final_throttle), 0);
  assert_true(final_throttle >= 20); /* the throttle did engage */
  assert_int_equal(t.last_throttle, final_throttle);
  assert_int_equal(t.max_throttle, final_throttle);
  for (int ac = 0; ac < 2; ac++) {
    assert_true(t.first_rate[ac] == -1); /* empty: no sync period has ended yet */
    assert_true(t.max_rate[ac] > 4000 && t.max_rate[ac] <= 8000);
  }
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_true(file_exists(dir, "report-timeline-race-1.png"));
  assert_true(file_exists(dir, "report-timeline-race-2.png"));
  assert_false(file_exists(dir, "report-timeline-race-3.png"));
  assert_true(file_exists(dir, "report-timeline-throttle.png"));
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path);
  assert_non_null(md);
  assert_non_null(strstr(md, "![auto-converge's CPU throttle (cpu-throttle-percentage), from timeline.csv]"));
  assert_non_null(strstr(md, "send rate and dirty rate"));
  free(md);
}

/* Zipped sweep axes vary together: one axis in the report; the linked
 * bandwidth is an axis of its own name, read as a number. */
static void test_linked_axes(void **state) {
  (void)state;
  char err[4096], dir[512], path[1024];
  snprintf(dir, sizeof dir, "%s/zip", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "sweep --workload uniform:wss=16384,rate=8000,nonzero=0.5 --memory 128MiB --algo precopy "
                          "--max-bandwidth 32MiB/s,64MiB/s --link 1Gbit/s,2Gbit/s --zip max-bandwidth,link --quiet "
                          "--out %s",
                          dir),
                   0);
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_int_equal(st.axes, 1);
  assert_int_equal(count_files(dir, "report-heat-", ".png"), 0);
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = slurp(path);
  assert_non_null(strstr(md, "`max-bandwidth = link (MiB/s)` (2 values)"));
  free(md);
  snprintf(dir, sizeof dir, "%s/bw", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "sweep --workload uniform:wss=16384,rate=8000,nonzero=0.5 --memory 128MiB "
                          "--algo precopy,postcopy --bandwidth 256Mbit/s,1Gbit/s,10Gbit/s --quiet --out %s",
                          dir),
                   0);
  assert_int_equal(res_report_write(dir, NULL, &st), 0);
  assert_int_equal(st.axes, 1);
  assert_true(file_exists(dir, "report-total_time_ms-vs-bandwidth.png"));
  snprintf(path, sizeof path, "%s/report.md", dir);
  md = slurp(path);
  assert_non_null(strstr(md, "`bandwidth (MiB/s)` (3 values)"));
  /* 256 Mbit/s, 1 Gbit/s, 10 Gbit/s grow geometrically over more than a
   * decade: a log x axis, said in the caption. */
  assert_true(strstr(md, "![total time against bandwidth (log x scale)]") ||
              strstr(md, "![total time against bandwidth (log scales)]"));
  free(md);
}

static void test_bad_input(void **state) {
  (void)state;
  char err[4096], dir[512];
  snprintf(dir, sizeof dir, "%s/empty", tmpdir);
  assert_int_equal(mkdir(dir, 0700), 0);
  res_report_stats st;
  assert_int_equal(res_report_write(dir, NULL, &st), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "holds no runs"));
  assert_false(file_exists(dir, "report.md"));
  unsigned formats;
  assert_int_equal(res_report_formats("png,gif", &formats), SIM_EINVAL);
  /* The command: one line on stderr, exit 2. */
  assert_int_equal(migsim(err, sizeof err, "report %s", dir), 2);
  assert_non_null(strstr(err, "holds no runs"));
  assert_int_equal(count(err, "\n"), 1);
  assert_int_equal(migsim(err, sizeof err, "report %s --format gif", dir), 2);
  assert_non_null(strstr(err, "unknown format 'gif'"));
  assert_int_equal(count(err, "\n"), 1);
  assert_int_equal(migsim(err, sizeof err, "report"), 2);
  assert_int_equal(count(err, "\n"), 1);
  assert_int_equal(migsim(err, sizeof err, "report --help"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64_known_answers),
      cmocka_unit_test(test_sweep_report),
      cmocka_unit_test(test_compare_report_keeps_its_report),
      cmocka_unit_test(test_variants_are_series),
      cmocka_unit_test(test_report_in_browser),
      cmocka_unit_test(test_two_axes_formats_stale),
      cmocka_unit_test(test_timeline_plots),
      cmocka_unit_test(test_timeline_race_throttle),
      cmocka_unit_test(test_kept_figures),
      cmocka_unit_test(test_linked_axes),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
