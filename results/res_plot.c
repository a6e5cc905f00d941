/* res_plot: line and grouped-bar PNG charts through PLplot's pngcairo
 * driver (see res_plot.h).
 *
 * Each chart runs on its own PLplot stream: plmkstrm() makes a fresh one,
 * plend1() tears it down and writes the file, then the caller's stream is
 * made current again. PLplot reports errors through plabort(), which would
 * print to stderr; a handler installed here records the message instead,
 * and the chart call turns it into SIM_EIO. (plexit(), PLplot's fatal path,
 * cannot be intercepted; the checks below keep us off it: the device is
 * checked before plinit(), which would otherwise prompt on stdin for one.)
 */
#include "res_plot.h"

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_err.h"
#include "sim_file.h"

#define RES__PLOT_DEFAULT_DEVICE "pngcairo"
#define RES__PLOT_WIDTH 1000u
#define RES__PLOT_HEIGHT 650u
/* A small filled circle (U+2022, UTF-8): cairo draws it from the system
 * font, crisper than PLplot's Hershey symbols. */
#define RES__MARKER "\xe2\x80\xa2"

/* Colour map 0 entries. */
enum { RES__COL_BG = 0, RES__COL_FG = 1, RES__COL_GRID = 2, RES__COL_SERIES = 3 };

/* Okabe-Ito colours (distinguishable with colour-blindness); series cycle
 * through them, then through line styles. */
static const unsigned char res__palette[][3] = {
    {0, 114, 178},  {213, 94, 0},  {0, 158, 115}, {204, 121, 167},
    {230, 159, 0},  {86, 180, 233}, {0, 0, 0},    {240, 228, 66},
};
#define RES__NCOLORS (sizeof res__palette / sizeof res__palette[0])

static const char *res__device = RES__PLOT_DEFAULT_DEVICE;
static char res__abort_msg[256];
static int res__aborted;

/* Under AddressSanitizer: fontconfig, which cairo uses to find fonts, keeps
 * process-wide caches that are never freed; LeakSanitizer would report them
 * at exit of every program that plots. LSan calls this hook (if the program
 * defines it) for built-in suppressions; only library-internal caches are
 * suppressed, migsim's own allocations are still checked. */
#if defined(__SANITIZE_ADDRESS__)
#define RES__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RES__ASAN 1
#endif
#endif
#ifdef RES__ASAN
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }
/* ... and without the "Suppressions used" table on stderr at exit. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }
#endif

void res__plot_set_device(const char *device) {
  res__device = device ? device : RES__PLOT_DEFAULT_DEVICE;
}

static void res__abort_handler(PLCHAR_VECTOR message) {
  res__aborted = 1;
  snprintf(res__abort_msg, sizeof res__abort_msg, "%s", message ? message : "PLplot error");
}

int res_plot_available(void) {
  /* plgDevs fills caller-provided arrays; PLplot knows a few dozen drivers. */
  enum { MAX_DEVICES = 128 };
  const char *menus[MAX_DEVICES], *names[MAX_DEVICES];
  const char **menu_list = menus, **name_list = names;
  int count = MAX_DEVICES;
  plgDevs(&menu_list, &name_list, &count);
  for (int i = 0; i < count && i < MAX_DEVICES; i++)
    if (names[i] && strcmp(names[i], res__device) == 0) return 0;
  /* Production always asks for pngcairo, whose package this names. */
  return sim_errorf(SIM_EUNSUPPORTED,
                    "PLplot %s driver not installed: apt-get install plplot-driver-cairo",
                    res__device);
}

/* ------------------------------------------------------------ helpers */

/* A copy of `text` with PLplot's escape character doubled, so labels are
 * shown literally. The caller frees it. */
static char *res__escape(const char *text) {
  if (!text) text = "";
  size_t n = strlen(text), extra = 0;
  for (size_t i = 0; i < n; i++) extra += text[i] == '#';
  char *out = malloc(n + extra + 1), *p = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (text[i] == '#') *p++ = '#';
    *p++ = text[i];
  }
  *p = '\0';
  return out;
}

/* Tick labels without PLplot's separate "(x10^4)" scale note: plain
 * numbers up to 9999, then decimal k/M/G/T (15000 -> "15k"); on a log
 * axis the value arrives as its log10. */
static void res__tick_label(PLINT axis, PLFLT value, PLCHAR_NC_VECTOR label, PLINT length,
                            PLPointer data) {
  const int *log_axes = data;
  double v = value;
  if ((axis == PL_X_AXIS && log_axes[0]) || (axis == PL_Y_AXIS && log_axes[1])) v = pow(10.0, value);
  static const struct {
    double scale;
    const char *suffix;
  } units[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e4, "k"}};
  const size_t size = (size_t)length;
  double a = fabs(v);
  if (a < 1e-12) {
    snprintf(label, size, "0");
    return;
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (a >= units[i].scale) {
      double s = units[i].scale == 1e4 ? 1e3 : units[i].scale;
      snprintf(label, size, "%.4g%s", v / s, units[i].suffix);
      return;
    }
  }
  snprintf(label, size, "%.4g", v);
}

/* State of one chart being drawn. */
typedef struct {
  const char *path;
  sim_file *file;       /* the exclusive temporary file the driver writes */
  const char *tmp_path; /* its name */
  PLINT caller_stream;
  int started; /* a stream was made and must be ended */
  unsigned width_px;
  int log_axes[2]; /* x, y: read by the tick-label formatter */
} res__chart;

/* Checks the driver, makes a fresh stream writing to a temporary file and
 * sets up page size, colours and font size. */
static int res__chart_begin(res__chart *ch, const char *path, const res_plot_opts *opts) {
  memset(ch, 0, sizeof *ch);
  ch->path = path;
  int rc = res_plot_available();
  if (rc) return rc;
  /* Created here (exclusively, next to the target, which must be a
   * regular file or absent): fails early and clearly on an unwritable
   * directory, where the driver would only notice (and plexit) at plinit. */
  if (!strcmp(path, "-")) return sim_errorf(SIM_EINVAL, "a plot cannot go to standard output; give a file name");
  if ((rc = sim_file_open(path, &ch->file))) return rc;
  ch->tmp_path = sim_file_temp_path(ch->file);

  static int handler_installed;
  if (!handler_installed) {
    plsabort(res__abort_handler);
    handler_installed = 1;
  }
  res__aborted = 0;
  plgstrm(&ch->caller_stream);
  PLINT stream = -1;
  plmkstrm(&stream);
  if (stream < 0) {
    sim_file_abort(ch->file);
    ch->file = NULL;
    ch->tmp_path = NULL;
    return sim_errorf(SIM_EIO, "plotting %s: no free PLplot stream", path);
  }
  ch->started = 1;
  unsigned width = opts->width_px ? opts->width_px : RES__PLOT_WIDTH;
  unsigned height = opts->height_px ? opts->height_px : RES__PLOT_HEIGHT;
  ch->width_px = width;
  ch->log_axes[0] = opts->log_x;
  ch->log_axes[1] = opts->log_y;
  plsdev(res__device);
  plsfnam(ch->tmp_path);
  plspage(0.0, 0.0, (PLINT)width, (PLINT)height, 0, 0);
  plscmap0n((PLINT)(RES__COL_SERIES + RES__NCOLORS));
  plscol0(RES__COL_BG, 255, 255, 255);
  plscol0(RES__COL_FG, 0, 0, 0);
  plscol0(RES__COL_GRID, 215, 215, 215);
  for (size_t i = 0; i < RES__NCOLORS; i++)
    plscol0((PLINT)(RES__COL_SERIES + i), res__palette[i][0], res__palette[i][1],
            res__palette[i][2]);
  plinit();
  plslabelfunc(res__tick_label, ch->log_axes);
  plschr(0.0, 0.9);
  pladv(0);
  plcol0(RES__COL_FG);
  return 0;
}

/* Ends the stream (which writes the file), checks the result and renames it
 * into place; on failure removes the temporary file. Frees ch. */
static int res__chart_end(res__chart *ch, int rc) {
  if (ch->started) {
    plend1();
    plsstrm(ch->caller_stream);
  }
  if (!rc && res__aborted)
    rc = sim_errorf(SIM_EIO, "plotting %s: %s", ch->path, res__abort_msg);
  if (!rc && ch->tmp_path) {
    /* The PNG signature proves that the driver wrote a whole image header;
     * the driver writes the file in one go at plend1. */
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    FILE *f = fopen(ch->tmp_path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (got != sizeof head || memcmp(head, png_magic, sizeof head) != 0)
      rc = sim_errorf(SIM_EIO, "plotting %s: the %s driver wrote no PNG", ch->path, res__device);
    else
      rc = sim_file_commit(ch->file); /* the stream is empty: the driver wrote by name */
    if (!rc) ch->file = NULL;
  }
  sim_file_abort(ch->file);
  ch->file = NULL;
  ch->tmp_path = NULL;
  return rc;
}

/* Title and axis labels around the current viewport. */
static int res__labels(const res_plot_opts *opts, double x_label_disp) {
  char *title = res__escape(opts->title), *xl = res__escape(opts->x_label),
       *yl = res__escape(opts->y_label);
  int rc = 0;
  if (!title || !xl || !yl) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory plotting");
  } else {
    plcol0(RES__COL_FG);
    plmtex("t", 1.5, 0.5, 0.5, title);
    plmtex("b", x_label_disp, 0.5, 0.5, xl);
    plmtex("l", 6.0, 0.5, 0.5, yl);
  }
  free(title);
  free(xl);
  free(yl);
  return rc;
}

/* Right edge of the viewport leaving room for a legend with these names,
 * from an estimate of the text width (PLplot cannot measure a legend
 * without drawing it). `width_px` scales the per-character estimate. */
static double res__viewport_right(const char *const *names, size_t n, unsigned width_px) {
  size_t longest = 0;
  int any = 0;
  for (size_t i = 0; i < n; i++) {
    if (!names[i]) continue;
    any = 1;
    size_t len = strlen(names[i]);
    if (len > longest) longest = len;
  }
  if (!any) return 0.95;
  const double scale = (double)RES__PLOT_WIDTH / (double)width_px;
  double legend = (0.12 + 0.0095 * (double)longest) * scale;
  if (legend > 0.45) legend = 0.45;
  return 0.965 - legend;
}

/* Legend right of the viewport. kind: PL_LEGEND_LINE or
 * PL_LEGEND_COLOR_BOX (plus PL_LEGEND_SYMBOL for marked lines). */
static int res__legend(const char *const *names, size_t n, PLINT kind) {
  size_t shown = 0;
  for (size_t i = 0; i < n; i++) shown += names[i] != NULL;
  if (shown == 0) return 0;
  PLINT *ints = calloc(6 * shown, sizeof *ints);
  PLFLT *flts = calloc(4 * shown, sizeof *flts);
  char **texts = calloc(shown, sizeof *texts);
  const char **symbols = calloc(shown, sizeof *symbols);
  int rc = 0;
  if (!ints || !flts || !texts || !symbols) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory plotting");
    goto done;
  }
  PLINT *opt = ints, *colors = ints + shown, *patterns = ints + 2 * shown,
        *styles = ints + 3 * shown, *text_colors = ints + 4 * shown,
        *symbol_numbers = ints + 5 * shown;
  PLFLT *box_scales = flts, *box_widths = flts + shown, *line_widths = flts + 2 * shown,
        *symbol_scales = flts + 3 * shown;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (!names[i]) continue;
    if (!(texts[j] = res__escape(names[i]))) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory plotting");
      goto done;
    }
    opt[j] = kind;
    colors[j] = (PLINT)(RES__COL_SERIES + i % RES__NCOLORS);
    patterns[j] = 0;
    styles[j] = (PLINT)(1 + (i / RES__NCOLORS) % 8);
    text_colors[j] = RES__COL_FG;
    symbol_numbers[j] = 1;
    box_scales[j] = 0.8;
    box_widths[j] = 1.0;
    line_widths[j] = 2.0;
    symbol_scales[j] = 1.0;
    symbols[j] = RES__MARKER;
    j++;
  }
  PLFLT width, height;
  /* Top right of the page, level with the top of the plot; the viewport
   * leaves that margin free (res__viewport_right). */
  pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_RIGHT | PL_POSITION_TOP | PL_POSITION_INSIDE | PL_POSITION_SUBPAGE,
           0.015, 0.10, 0.05, RES__COL_BG, RES__COL_FG, 1, (PLINT)shown, 1, (PLINT)shown, opt,
           1.0, 0.9, 2.0, 0.0, text_colors, (PLCHAR_MATRIX)texts, colors, patterns, box_scales,
           box_widths, colors, styles, line_widths, colors, symbol_scales, symbol_numbers,
           symbols);
done:
  if (texts)
    for (size_t i = 0; i < shown; i++) free(texts[i]);
  free(texts);
  free(symbols);
  free(ints);
  free(flts);
  return rc;
}

/* Widens a degenerate range so that PLplot can draw it. */
static void res__pad_range(double *lo, double *hi, int logarithmic) {
  if (*hi > *lo) return;
  double d = logarithmic ? 0.5 : (*lo != 0.0 ? fabs(*lo) * 0.1 : 1.0);
  *lo -= d;
  *hi += d;
}

/* -------------------------------------------------------------- lines */

int res_plot_lines(const char *path, const res_plot_opts *opts, const res_plot_series *series,
                   size_t nseries) {
  static const res_plot_opts no_opts;
  if (!opts) opts = &no_opts;
  if (nseries == 0 || !series)
    return sim_errorf(SIM_EINVAL, "plotting %s: no series", path);
  /* Validate and find the ranges before touching PLplot. */
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  size_t longest = 0;
  for (size_t s = 0; s < nseries; s++) {
    const res_plot_series *se = &series[s];
    if (se->n && (!se->x || !se->y))
      return sim_errorf(SIM_EINVAL, "plotting %s: series %zu has no data arrays", path, s + 1);
    if (se->n > longest) longest = se->n;
    for (size_t i = 0; i < se->n; i++) {
      double x = se->x[i], y = se->y[i];
      if (!isfinite(x) || !isfinite(y)) continue;
      if (opts->log_x && x <= 0)
        return sim_errorf(SIM_EINVAL, "plotting %s: x=%g in series %zu on a logarithmic axis",
                          path, x, s + 1);
      if (opts->log_y && y <= 0)
        return sim_errorf(SIM_EINVAL, "plotting %s: y=%g in series %zu on a logarithmic axis",
                          path, y, s + 1);
      if (opts->log_x) x = log10(x);
      if (opts->log_y) y = log10(y);
      if (x < x_lo) x_lo = x;
      if (x > x_hi) x_hi = x;
      if (y < y_lo) y_lo = y;
      if (y > y_hi) y_hi = y;
    }
  }
  if (!(x_lo <= x_hi))
    return sim_errorf(SIM_EINVAL, "plotting %s: no finite point to plot", path);
  if (!opts->log_y) {
    if (y_lo > 0) y_lo = 0;
    if (y_hi < 0) y_hi = 0;
  }
  res__pad_range(&x_lo, &x_hi, opts->log_x);
  res__pad_range(&y_lo, &y_hi, opts->log_y);
  if (!opts->log_y) y_hi += 0.05 * (y_hi - y_lo); /* headroom above the highest point */

  const char **names = calloc(nseries, sizeof *names);
  PLFLT *xs = malloc((longest ? longest : 1) * sizeof *xs);
  PLFLT *ys = malloc((longest ? longest : 1) * sizeof *ys);
  if (!names || !xs || !ys) {
    free(names);
    free(xs);
    free(ys);
    return sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
  }
  for (size_t s = 0; s < nseries; s++) names[s] = series[s].name;

  res__chart ch;
  int rc = res__chart_begin(&ch, path, opts);
  if (!rc) {
    plvpor(0.12, res__viewport_right(names, nseries, ch.width_px), 0.12, 0.90);
    plwind(x_lo, x_hi, y_lo, y_hi);
    const char *xgrid = opts->log_x ? "gl" : "g", *ygrid = opts->log_y ? "gl" : "g";
    const char *xbox = opts->log_x ? "bclnost" : "bcnost", *ybox = opts->log_y ? "bclnostv" : "bcnostv";
    plcol0(RES__COL_GRID);
    plwidth(1.0);
    plbox(xgrid, 0.0, 0, ygrid, 0.0, 0);
    plcol0(RES__COL_FG);
    plbox(xbox, 0.0, 0, ybox, 0.0, 0);
    rc = res__labels(opts, 3.2);
    for (size_t s = 0; s < nseries && !rc; s++) {
      const res_plot_series *se = &series[s];
      plcol0((PLINT)(RES__COL_SERIES + s % RES__NCOLORS));
      pllsty((PLINT)(1 + (s / RES__NCOLORS) % 8));
      plwidth(2.0);
      /* Draw each run of finite points as one polyline. */
      size_t run = 0;
      for (size_t i = 0; i <= se->n; i++) {
        int ok = i < se->n && isfinite(se->x[i]) && isfinite(se->y[i]);
        if (ok) {
          xs[run] = opts->log_x ? log10(se->x[i]) : se->x[i];
          ys[run] = opts->log_y ? log10(se->y[i]) : se->y[i];
          run++;
          continue;
        }
        if (run > 1) plline((PLINT)run, xs, ys);
        if (run > 0 && (opts->markers || run == 1)) plstring((PLINT)run, xs, ys, RES__MARKER);
        run = 0;
      }
    }
    pllsty(1);
    plwidth(1.0);
    if (!rc)
      rc = res__legend(names, nseries, opts->markers ? PL_LEGEND_LINE | PL_LEGEND_SYMBOL
                                                      : PL_LEGEND_LINE);
  }
  rc = res__chart_end(&ch, rc);
  free(names);
  free(xs);
  free(ys);
  return rc;
}

/* --------------------------------------------------------------- bars */

int res_plot_bars(const char *path, const res_plot_opts *opts, const char *const *categories,
                  size_t ncategories, const res_plot_bar_series *series, size_t nseries) {
  static const res_plot_opts no_opts;
  if (!opts) opts = &no_opts;
  if (nseries == 0 || !series || ncategories == 0 || !categories)
    return sim_errorf(SIM_EINVAL, "plotting %s: a bar chart needs categories and series", path);
  double y_lo = 0.0, y_hi = 0.0;
  size_t longest = 0;
  for (size_t c = 0; c < ncategories; c++) {
    size_t len = categories[c] ? strlen(categories[c]) : 0;
    if (len > longest) longest = len;
  }
  for (size_t s = 0; s < nseries; s++) {
    if (!series[s].values)
      return sim_errorf(SIM_EINVAL, "plotting %s: series %zu has no values", path, s + 1);
    for (size_t c = 0; c < ncategories; c++) {
      double v = series[s].values[c];
      if (!isfinite(v)) continue;
      if (v < y_lo) y_lo = v;
      if (v > y_hi) y_hi = v;
    }
  }
  if (y_hi <= y_lo) y_hi = y_lo + 1.0;
  double pad = 0.05 * (y_hi - y_lo);
  if (y_hi > 0) y_hi += pad;
  if (y_lo < 0) y_lo -= pad;

  /* Many or long category names are written vertically. */
  int vertical = ncategories > 10 || longest * ncategories > 80;
  const double chars = (double)(longest < 20 ? longest : 20);
  double label_space = vertical ? 0.04 + 0.014 * chars : 0.0;
  double x_label_disp = vertical ? 2.5 + 0.9 * chars : 3.5;

  const char **names = calloc(nseries, sizeof *names);
  if (!names) return sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
  for (size_t s = 0; s < nseries; s++) names[s] = series[s].name;

  res__chart ch;
  int rc = res__chart_begin(&ch, path, opts);
  if (!rc) {
    plvpor(0.12, res__viewport_right(names, nseries, ch.width_px), 0.12 + label_space, 0.90);
    plwind(0.0, (double)ncategories, y_lo, y_hi);
    plcol0(RES__COL_GRID);
    plbox("", 0.0, 0, "g", 0.0, 0);
    const double group = 0.8, bar = group / (double)nseries;
    for (size_t c = 0; c < ncategories; c++) {
      for (size_t s = 0; s < nseries; s++) {
        double v = series[s].values[c];
        if (!isfinite(v) || v == 0.0) continue;
        double x0 = (double)c + (1.0 - group) / 2 + bar * (double)s, x1 = x0 + bar;
        PLFLT px[4] = {x0, x0, x1, x1}, py[4] = {0.0, v, v, 0.0};
        plcol0((PLINT)(RES__COL_SERIES + s % RES__NCOLORS));
        plfill(4, px, py);
      }
    }
    plcol0(RES__COL_FG);
    plbox("bc", 0.0, 0, "bcnostv", 0.0, 0);
    if (y_lo < 0) {
      PLFLT zx[2] = {0.0, (double)ncategories}, zy[2] = {0.0, 0.0};
      plline(2, zx, zy);
    }
    for (size_t c = 0; c < ncategories && !rc; c++) {
      char *label = res__escape(categories[c]);
      if (!label) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
        break;
      }
      double pos = ((double)c + 0.5) / (double)ncategories;
      if (vertical)
        plmtex("bv", 0.7, pos, 1.0, label);
      else
        plmtex("b", 1.5, pos, 0.5, label);
      free(label);
    }
    if (!rc) rc = res__labels(opts, x_label_disp);
    if (!rc) rc = res__legend(names, nseries, PL_LEGEND_COLOR_BOX);
  }
  rc = res__chart_end(&ch, rc);
  free(names);
  return rc;
}
