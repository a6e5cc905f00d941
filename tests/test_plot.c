/* test_plot: the PNG plots (res_plot) and the CSV table writer (res_csv):
 * files appear whole under their name or not at all, plots are real PNGs,
 * byte-identical across runs and silent, CSV cells are quoted and printed
 * exactly as documented, append checks the header. */
#include <dirent.h>
#include <fcntl.h>
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

#include "res_csv.h"
#include "res_plot.h"
#include "sim_err.h"

/* ------------------------------------------------------------ helpers */

static char *make_dir(void) {
  char tmpl[] = "/tmp/migsim-test-plot-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  return strdup(tmpl);
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  assert_non_null(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Number of entries in dir (without . and ..). */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void remove_dir(char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *p = join(dir, e->d_name);
    unlink(p);
    free(p);
  }
  closedir(d);
  assert_int_equal(rmdir(dir), 0);
  free(dir);
}

/* Whole file into a malloc'd NUL-terminated buffer; *len its size. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)size + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
  buf[size] = '\0';
  fclose(f);
  if (len) *len = (size_t)size;
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void assert_png(const char *path) {
  size_t len;
  char *data = slurp(path, &len);
  static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  assert_true(len > 1000);
  assert_memory_equal(data, magic, 8);
  free(data);
}

/* -------------------------------------------------------------- plots */

static const double xs[] = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28};
static const double ys1[] = {10, 19, 35, 60, 90, 120, 140, 150};
static const double ys2[] = {12, 22, 40, 70, 100, 130, NAN, 155};

static int plot_lines(const char *path, int log_x) {
  res_plot_series s[2] = {{.name = "mean over windows", .x = xs, .y = ys1, .n = 8}, {.name = "max #1", .x = xs, .y = ys2, .n = 8}};
  res_plot_opts o = {"Working set", "window (s)", "pages", log_x, 0, 1, 0, 0, NULL, 0, NULL};
  return res_plot_lines(path, &o, s, 2);
}

static int plot_bars(const char *path, size_t ncat) {
  static const char *names[40];
  static char labels[40][32];
  static double a[40], b[40];
  for (size_t i = 0; i < ncat; i++) {
    snprintf(labels[i], sizeof labels[i], "cat %zu", i);
    names[i] = labels[i];
    a[i] = (double)(i * 3 % 7);
    b[i] = (double)i - 2.5; /* negative bars too */
  }
  res_plot_bar_series s[2] = {{.name = "precopy", .values = a}, {.name = "postcopy", .values = b}};
  res_plot_opts o = {"Downtime by algorithm", NULL, "downtime (ms)", 0, 0, 0, 800, 500, NULL, 0, NULL};
  return res_plot_bars(path, &o, names, ncat, s, 2);
}

static void test_lines_png(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "lines.png");
  assert_int_equal(plot_lines(path, 1), 0);
  assert_png(path);
  assert_int_equal(count_entries(dir), 1); /* no temporary file left */
  free(path);
  remove_dir(dir);
}

/* Many plots in one process, each on its own stream; the same data gives
 * the same bytes. */
static void test_repeated_plots_identical(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char name[32];
  for (int i = 0; i < 6; i++) {
    snprintf(name, sizeof name, "p%d.png", i);
    char *path = join(dir, name);
    int rc = i % 2 ? plot_bars(path, 3 + (size_t)i) : plot_lines(path, i % 4 == 0);
    assert_int_equal(rc, 0);
    assert_png(path);
    free(path);
  }
  assert_int_equal(count_entries(dir), 6);
  char *p0 = join(dir, "p0.png"), *p4 = join(dir, "p4.png");
  size_t l0, l4;
  char *d0 = slurp(p0, &l0), *d4 = slurp(p4, &l4);
  assert_int_equal(l0, l4);
  assert_memory_equal(d0, d4, l0);
  free(d0);
  free(d4);
  free(p0);
  free(p4);
  remove_dir(dir);
}

/* Many categories are labelled vertically; still a PNG. */
static void test_bars_many_categories(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "bars.png");
  assert_int_equal(plot_bars(path, 33), 0);
  assert_png(path);
  assert_int_equal(count_entries(dir), 1);
  free(path);
  remove_dir(dir);
}

/* A PNG's height, from its IHDR chunk. */
static unsigned png_height(const char *path) {
  size_t len;
  char *data = slurp(path, &len);
  assert_true(len > 24);
  const unsigned char *u = (const unsigned char *)data;
  unsigned h = (unsigned)u[20] << 24 | (unsigned)u[21] << 16 | (unsigned)u[22] << 8 | u[23];
  free(data);
  return h;
}

/* Long vertical category names (scenario names in a report) make the page
 * taller by what they need beyond 20 characters, up to 48 (longer ones
 * are cut), so that none runs off the page; short ones keep 650 pixels. */
static void test_bars_long_names_grow_page(void **unused) {
  (void)unused;
  char *dir = make_dir();
  static char labels[40][80];
  static const char *names[40];
  static double a[40];
  size_t heights[3];
  static const size_t lens[3] = {12, 34, 70};
  for (int k = 0; k < 3; k++) {
    for (size_t i = 0; i < 40; i++) {
      memset(labels[i], 'a' + (int)(i % 26), lens[k]);
      labels[i][lens[k]] = '\0';
      names[i] = labels[i];
      a[i] = (double)(i + 1);
    }
    res_plot_bar_series bs = {.name = "sim", .values = a};
    res_plot_opts o = {0};
    o.y_label = "total time (s)";
    char name[32];
    snprintf(name, sizeof name, "b%d.png", k);
    char *path = join(dir, name);
    assert_int_equal(res_plot_bars(path, &o, names, 40, &bs, 1), 0);
    assert_png(path);
    heights[k] = png_height(path);
    free(path);
  }
  assert_int_equal(heights[0], 650);
  assert_int_equal(heights[1], 650 + (unsigned)(0.014 * 14 * 650)); /* 34 - 20 characters more */
  assert_int_equal(heights[2], 650 + (unsigned)(0.014 * 28 * 650)); /* cut at 48 */
  remove_dir(dir);
}

/* PLplot must not chatter on stdout or stderr. */
static void test_plot_is_quiet(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "q.png"), *log = join(dir, "log");
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0 && saved_out >= 0 && saved_err >= 0);
  dup2(fd, 1);
  dup2(fd, 2);
  int rc1 = plot_lines(path, 0), rc2 = plot_bars(path, 4);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(fd);
  close(saved_out);
  close(saved_err);
  assert_int_equal(rc1, 0);
  assert_int_equal(rc2, 0);
  size_t len;
  char *text = slurp(log, &len);
  if (len) fail_msg("PLplot printed: %s", text);
  free(text);
  free(path);
  free(log);
  remove_dir(dir);
}

static void test_plot_errors(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "bad.png");

  /* x <= 0 on a log axis. */
  static const double x0[] = {0.0, 1.0}, y0[] = {1.0, 2.0};
  res_plot_series s = {.name = "s", .x = x0, .y = y0, .n = 2};
  res_plot_opts o = {NULL, NULL, NULL, 1, 0, 0, 0, 0, NULL, 0, NULL};
  assert_int_equal(res_plot_lines(path, &o, &s, 1), SIM_EINVAL);
  /* Nothing finite to draw; no series at all. */
  static const double nan2[] = {NAN, NAN};
  res_plot_series s_nan = {.name = "s", .x = nan2, .y = nan2, .n = 2};
  o.log_x = 0;
  assert_int_equal(res_plot_lines(path, &o, &s_nan, 1), SIM_EINVAL);
  assert_int_equal(res_plot_lines(path, &o, &s, 0), SIM_EINVAL);
  assert_int_equal(res_plot_bars(path, &o, NULL, 0, NULL, 0), SIM_EINVAL);
  assert_int_equal(count_entries(dir), 0);

  /* A directory that does not exist. */
  char *missing = join(dir, "no/such/dir.png");
  assert_int_equal(res_plot_lines(missing, &o, &s, 1), SIM_EIO);
  assert_non_null(strstr(sim_error_message(), "no/such/dir.png"));
  free(missing);

  /* The driver is missing: a clear message, no file, and plotting works
   * again once it is back. */
  res__plot_set_device("nosuchcairo");
  assert_int_equal(res_plot_available(), SIM_EUNSUPPORTED);
  assert_int_equal(plot_lines(path, 0), SIM_EUNSUPPORTED);
  assert_string_equal(sim_error_message(),
                      "PLplot nosuchcairo driver not installed: apt-get install plplot-driver-cairo");
  assert_int_equal(count_entries(dir), 0);
  res__plot_set_device(NULL);
  assert_int_equal(res_plot_available(), 0);
  assert_int_equal(plot_lines(path, 0), 0);
  assert_png(path);
  assert_int_equal(count_entries(dir), 1);
  free(path);
  remove_dir(dir);
}

/* The log rule: every value > 0 and more than two decades between them. */
static void test_wants_log(void **unused) {
  (void)unused;
  const double a[] = {1, 50}, b[] = {1, 101}, c[] = {0, 1000}, d[] = {NAN, 2, 300}, e[] = {-1, 500};
  assert_int_equal(res_plot_wants_log(a, 2), 0);
  assert_int_equal(res_plot_wants_log(b, 2), 1);
  assert_int_equal(res_plot_wants_log(c, 2), 0); /* a zero cannot be shown */
  assert_int_equal(res_plot_wants_log(d, 3), 1);
  assert_int_equal(res_plot_wants_log(e, 2), 0);
  assert_int_equal(res_plot_wants_log(NULL, 0), 0);
}

/* Runs that did not complete: a point without a value still plots (on the
 * bottom), a marked point is drawn differently from the same value
 * unmarked, error bars change the image, and SVG and PDF come from the
 * file name. */
static void test_failed_errorbars_formats(void **unused) {
  (void)unused;
  char *dir = make_dir();
  static const double x[] = {1, 2, 3}, y[] = {10, 20, 30}, lo[] = {8, 15, 29}, hi[] = {12, 25, 31};
  static const double none[] = {NAN, NAN, NAN};
  static const unsigned char all_failed[] = {1, 1, 1}, last_failed[] = {0, 0, 1};
  res_plot_opts o = {0};
  o.markers = 1;
  /* Only failed points, none with a value: an empty axis with markers. */
  res_plot_series only = {.name = "hybrid", .x = x, .y = none, .n = 3, .failed = all_failed};
  char *p0 = join(dir, "failed.png");
  assert_int_equal(res_plot_lines(p0, &o, &only, 1), 0);
  assert_png(p0);
  /* The same data with and without the mark, with and without bars. */
  res_plot_series plain = {.name = "precopy", .x = x, .y = y, .n = 3};
  res_plot_series marked = plain, bars = plain;
  marked.failed = last_failed;
  bars.err_lo = lo;
  bars.err_hi = hi;
  char *p1 = join(dir, "plain.png"), *p2 = join(dir, "marked.png"), *p3 = join(dir, "bars.png");
  assert_int_equal(res_plot_lines(p1, &o, &plain, 1), 0);
  assert_int_equal(res_plot_lines(p2, &o, &marked, 1), 0);
  assert_int_equal(res_plot_lines(p3, &o, &bars, 1), 0);
  size_t n1, n2, n3;
  char *d1 = slurp(p1, &n1), *d2 = slurp(p2, &n2), *d3 = slurp(p3, &n3);
  assert_false(n1 == n2 && !memcmp(d1, d2, n1));
  assert_false(n1 == n3 && !memcmp(d1, d3, n1));
  free(d1);
  free(d2);
  free(d3);
  /* Bars: a failed category draws no bar but the marker; log y. */
  const char *cats[] = {"a", "b", "c"};
  res_plot_bar_series bs = {.name = "precopy", .values = y, .err_lo = lo, .err_hi = hi, .failed = last_failed};
  char *p4 = join(dir, "bars-log.svg"), *p5 = join(dir, "heat.pdf");
  o.log_y = 1;
  assert_int_equal(res_plot_bars(p4, &o, cats, 3, &bs, 1), 0);
  char *svg = slurp(p4, NULL);
  assert_true(!strncmp(svg, "<?xml", 5) || !strncmp(svg, "<svg", 4));
  free(svg);
  static const double neg[] = {-1, 2, 3};
  res_plot_bar_series bneg = {.name = "x", .values = neg};
  assert_int_equal(res_plot_bars(p4, &o, cats, 3, &bneg, 1), SIM_EINVAL);
  /* Heatmap: PDF; nothing finite or a log scale over zero is refused. */
  const char *ys[] = {"100ms", "300ms"};
  static const double z[] = {1, 2, 3, 4, 5, NAN}, zero[] = {0, 2, 3, 4, 5, 6}, nz[] = {NAN, NAN, NAN, NAN, NAN, NAN};
  static const unsigned char zf[] = {0, 0, 0, 0, 0, 1};
  assert_int_equal(res_plot_heatmap(p5, &o, cats, 3, ys, 2, z, zf, "total time (s)", 1), 0);
  char *pdf = slurp(p5, NULL);
  assert_int_equal(strncmp(pdf, "%PDF-", 5), 0);
  free(pdf);
  char *p6 = join(dir, "heat-bad.png");
  assert_int_equal(res_plot_heatmap(p6, &o, cats, 3, ys, 2, nz, NULL, "z", 0), SIM_EINVAL);
  assert_int_equal(res_plot_heatmap(p6, &o, cats, 3, ys, 2, zero, NULL, "z", 1), SIM_EINVAL);
  assert_int_equal(res_plot_heatmap(p6, &o, cats, 3, ys, 2, zero, NULL, "z", 0), 0);
  assert_png(p6);
  /* Ticks at given values, labelled with given text (crowded ones on a
   * second row): another image than PLplot's ticks. */
  static const double tick_x[] = {1, 2, 3};
  static const char *const tick_text[] = {"256Mbit/s", "512Mbit/s", "1Gbit/s"};
  res_plot_opts t = {0};
  t.log_x = 1;
  char *p7 = join(dir, "ticks.png"), *p8 = join(dir, "noticks.png");
  assert_int_equal(res_plot_lines(p8, &t, &plain, 1), 0);
  t.x_ticks = tick_x;
  t.n_x_ticks = 3;
  t.x_tick_labels = tick_text;
  assert_int_equal(res_plot_lines(p7, &t, &plain, 1), 0);
  assert_png(p7);
  size_t n7, n8;
  char *d7 = slurp(p7, &n7), *d8 = slurp(p8, &n8);
  assert_false(n7 == n8 && !memcmp(d7, d8, n7));
  free(d7);
  free(d8);
  free(p7);
  free(p8);
  assert_int_equal(count_entries(dir), 9); /* and no temporary file */
  free(p0);
  free(p1);
  free(p2);
  free(p3);
  free(p4);
  free(p5);
  free(p6);
  remove_dir(dir);
}

/* ---------------------------------------------------------------- CSV */

static const char *const cols3[] = {"name", "count", "value"};

static void test_csv_cells_exact(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "t.csv");
  static const char *const cols[] = {"text", "needs,quote", "u64", "i64", "double", "fixed"};
  res_csv *c = NULL;
  assert_int_equal(res_csv_create(path, cols, 6, &c), 0);
  /* Before commit only the temporary file exists. */
  struct stat sb;
  assert_int_not_equal(stat(path, &sb), 0);

  static const struct {
    const char *text;
    double d, f;
  } rows[] = {
      {"plain", 0.1, 2.5},
      {"a,b", 1.0 / 3.0, -0.0001},
      {"say \"hi\"", 1e300, 1234.5678},
      {"two\nlines", -0.0, NAN},
      {"", NAN, INFINITY},
      {NULL, INFINITY, 0.125},
      {"cr\r", -INFINITY, 1e-7},
      {" spaced ", 5e-324, 100.0},
      {"x", 123456789.0, 0.5},
      {"y", 0.30000000000000004, 2.0 / 3.0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    assert_int_equal(res_csv_str(c, rows[i].text), 0);
    assert_int_equal(res_csv_str(c, i == 0 ? "q\"" : "z"), 0);
    assert_int_equal(res_csv_u64(c, i == 0 ? UINT64_MAX : i), 0);
    assert_int_equal(res_csv_i64(c, i == 0 ? INT64_MIN : -(int64_t)i), 0);
    assert_int_equal(res_csv_double(c, rows[i].d), 0);
    assert_int_equal(res_csv_fixed(c, rows[i].f, 3), 0);
    assert_int_equal(res_csv_end_row(c), 0);
  }
  assert_int_equal(res_csv_rows(c), 10);
  assert_int_equal(res_csv_commit(c), 0);
  char *text = slurp(path, NULL);
  assert_string_equal(text,
                      "text,\"needs,quote\",u64,i64,double,fixed\n"
                      "plain,\"q\"\"\",18446744073709551615,-9223372036854775808,0.1,2.500\n"
                      "\"a,b\",z,1,-1,0.3333333333333333,0.000\n"
                      "\"say \"\"hi\"\"\",z,2,-2,1e+300,1234.568\n"
                      "\"two\nlines\",z,3,-3,0,\n"
                      ",z,4,-4,,Inf\n"
                      ",z,5,-5,Inf,0.125\n"
                      "\"cr\r\",z,6,-6,-Inf,0.000\n"
                      " spaced ,z,7,-7,4.94065645841247e-324,100.000\n"
                      "x,z,8,-8,123456789,0.500\n"
                      "y,z,9,-9,0.30000000000000004,0.667\n");
  free(text);
  assert_int_equal(count_entries(dir), 1);
  free(path);
  remove_dir(dir);
}

/* The same table twice: the same bytes. */
static void test_csv_deterministic(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *paths[2] = {join(dir, "a.csv"), join(dir, "b.csv")};
  for (int k = 0; k < 2; k++) {
    res_csv *c = NULL;
    assert_int_equal(res_csv_create(paths[k], cols3, 3, &c), 0);
    for (int i = 1; i <= 100; i++) {
      res_csv_str(c, "row");
      res_csv_u64(c, (uint64_t)i);
      res_csv_double(c, 1.0 / i + exp((double)i / 10));
      assert_int_equal(res_csv_end_row(c), 0);
    }
    assert_int_equal(res_csv_commit(c), 0);
  }
  size_t la, lb;
  char *a = slurp(paths[0], &la), *b = slurp(paths[1], &lb);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);
  free(a);
  free(b);
  free(paths[0]);
  free(paths[1]);
  remove_dir(dir);
}

static void test_csv_abort_leaves_nothing(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "t.csv");
  res_csv *c = NULL;
  assert_int_equal(res_csv_create(path, cols3, 3, &c), 0);
  res_csv_str(c, "a");
  res_csv_u64(c, 1);
  res_csv_double(c, 2.0);
  assert_int_equal(res_csv_end_row(c), 0);
  assert_int_equal(count_entries(dir), 1); /* the temporary file */
  res_csv_abort(c);
  assert_int_equal(count_entries(dir), 0);
  res_csv_abort(NULL);

  /* Aborting does not touch an older file under the name either. */
  write_file(path, "old\n");
  assert_int_equal(res_csv_create(path, cols3, 3, &c), 0);
  res_csv_abort(c);
  char *text = slurp(path, NULL);
  assert_string_equal(text, "old\n");
  free(text);
  assert_int_equal(count_entries(dir), 1);
  free(path);
  remove_dir(dir);
}

/* Rows with too many or too few cells are refused and dropped whole. */
static void test_csv_cell_count(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "t.csv");
  res_csv *c = NULL;
  assert_int_equal(res_csv_create(path, cols3, 3, &c), 0);
  res_csv_str(c, "a");
  res_csv_u64(c, 1);
  res_csv_u64(c, 2);
  assert_int_equal(res_csv_u64(c, 3), SIM_ERANGE);
  assert_int_equal(res_csv_end_row(c), SIM_EINVAL);
  res_csv_str(c, "b");
  assert_int_equal(res_csv_end_row(c), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "has 1 cells, expected 3"));
  res_csv_str(c, "c");
  res_csv_empty(c);
  res_csv_fixed(c, 1.0, 1);
  assert_int_equal(res_csv_end_row(c), 0);
  assert_int_equal(res_csv_fixed(c, 1.0, 18), SIM_EINVAL);
  assert_int_equal(res_csv_commit(c), 0);
  char *text = slurp(path, NULL);
  assert_string_equal(text, "name,count,value\nc,,1.0\n");
  free(text);

  static const char *const empty_name[] = {"a", ""};
  assert_int_equal(res_csv_create(path, empty_name, 2, &c), SIM_EINVAL);
  assert_int_equal(res_csv_create(path, cols3, 0, &c), SIM_EINVAL);
  free(path);
  remove_dir(dir);
}

static void append_row(const char *path, const char *name, uint64_t count, double value) {
  res_csv *c = NULL;
  assert_int_equal(res_csv_append(path, cols3, 3, &c), 0);
  res_csv_str(c, name);
  res_csv_u64(c, count);
  res_csv_double(c, value);
  assert_int_equal(res_csv_end_row(c), 0);
  assert_int_equal(res_csv_commit(c), 0);
}

static void test_csv_append(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "sweep.csv");
  /* A missing file is created with the header. */
  append_row(path, "run 1", 1, 0.5);
  append_row(path, "run,2", 2, 0.25);
  /* A file made by res_csv_create takes appends too. */
  char *made = join(dir, "made.csv");
  res_csv *c = NULL;
  assert_int_equal(res_csv_create(made, cols3, 3, &c), 0);
  assert_int_equal(res_csv_commit(c), 0);
  append_row(made, "x", 3, 1e-3);
  char *text = slurp(path, NULL);
  assert_string_equal(text, "name,count,value\nrun 1,1,0.5\n\"run,2\",2,0.25\n");
  free(text);
  text = slurp(made, NULL);
  assert_string_equal(text, "name,count,value\nx,3,0.001\n");
  free(text);
  /* An empty file gets the header. */
  write_file(made, "");
  append_row(made, "y", 4, 4.0);
  text = slurp(made, NULL);
  assert_string_equal(text, "name,count,value\ny,4,4\n");
  free(text);
  assert_int_equal(count_entries(dir), 2);
  free(made);
  free(path);
  remove_dir(dir);
}

static void test_csv_append_header_mismatch(void **unused) {
  (void)unused;
  char *dir = make_dir();
  char *path = join(dir, "sweep.csv");
  res_csv *c = NULL;
  static const char *const before = "name,count,val\nrun,1,2\n";
  write_file(path, before);
  assert_int_equal(res_csv_append(path, cols3, 3, &c), SIM_EFORMAT);
  assert_non_null(strstr(sim_error_message(), "sweep.csv: header column 3 is 'val', expected 'value'"));

  write_file(path, "name,count\nrun,1\n");
  assert_int_equal(res_csv_append(path, cols3, 3, &c), SIM_EFORMAT);
  assert_non_null(strstr(sim_error_message(), "missing 'value'"));

  write_file(path, "name,count,value,extra\n");
  assert_int_equal(res_csv_append(path, cols3, 3, &c), SIM_EFORMAT);
  assert_non_null(strstr(sim_error_message(), "extra 'extra'"));

  /* A crashed writer's partial last row: refuse to glue onto it. */
  write_file(path, "name,count,value\nrun,1,2\nrun,2");
  assert_int_equal(res_csv_append(path, cols3, 3, &c), SIM_EFORMAT);
  assert_non_null(strstr(sim_error_message(), "incomplete"));
  char *text = slurp(path, NULL);
  assert_string_equal(text, "name,count,value\nrun,1,2\nrun,2"); /* untouched */
  free(text);

  /* Quoted header names compare as written. */
  static const char *const odd[] = {"a,b", "c"};
  write_file(path, "\"a,b\",c\n");
  assert_int_equal(res_csv_append(path, odd, 2, &c), 0);
  res_csv_str(c, "1");
  res_csv_str(c, "2");
  assert_int_equal(res_csv_end_row(c), 0);
  res_csv_abort(c); /* appended rows stay */
  text = slurp(path, NULL);
  assert_string_equal(text, "\"a,b\",c\n1,2\n");
  free(text);
  free(path);
  remove_dir(dir);
}

static void test_csv_stream(void **unused) {
  (void)unused;
  FILE *f = tmpfile();
  assert_non_null(f);
  res_csv *c = NULL;
  assert_int_equal(res_csv_stream(f, cols3, 3, &c), 0);
  res_csv_str(c, "s");
  res_csv_u64(c, 7);
  res_csv_double(c, 1.5);
  assert_int_equal(res_csv_end_row(c), 0);
  assert_int_equal(res_csv_commit(c), 0);
  rewind(f);
  char buf[128] = "";
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  assert_string_equal(buf, "name,count,value\ns,7,1.5\n");
  fclose(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines_png),
      cmocka_unit_test(test_repeated_plots_identical),
      cmocka_unit_test(test_bars_many_categories),
      cmocka_unit_test(test_bars_long_names_grow_page),
      cmocka_unit_test(test_plot_is_quiet),
      cmocka_unit_test(test_plot_errors),
      cmocka_unit_test(test_wants_log),
      cmocka_unit_test(test_failed_errorbars_formats),
      cmocka_unit_test(test_csv_cells_exact),
      cmocka_unit_test(test_csv_deterministic),
      cmocka_unit_test(test_csv_abort_leaves_nothing),
      cmocka_unit_test(test_csv_cell_count),
      cmocka_unit_test(test_csv_append),
      cmocka_unit_test(test_csv_append_header_mismatch),
      cmocka_unit_test(test_csv_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
