/* res_plot: line, grouped-bar and heatmap charts through PLplot's cairo
 * drivers (see res_plot.h).
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
#define RES__BAR_LABEL_MAX 48 /* characters of a vertical category name */
/* A small filled circle (U+2022, UTF-8): cairo draws it from the system
 * font, crisper than PLplot's Hershey symbols. */
#define RES__MARKER "\xe2\x80\xa2"
/* A hollow circle (U+25CB): a run that did not complete. */
#define RES__MARKER_FAILED "\xe2\x97\x8b"

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

/* The driver for `path`: by its extension, PNG (the settable default)
 * otherwise. */
static const char *res__device_for(const char *path) {
  size_t n = strlen(path);
  if (n > 4 && !strcmp(path + n - 4, ".svg")) return "svgcairo";
  if (n > 4 && !strcmp(path + n - 4, ".pdf")) return "pdfcairo";
  return res__device;
}

static void res__abort_handler(PLCHAR_VECTOR message) {
  res__aborted = 1;
  snprintf(res__abort_msg, sizeof res__abort_msg, "%s", message ? message : "PLplot error");
}

static int res__driver_available(const char *device) {
  /* plgDevs fills caller-provided arrays; PLplot knows a few dozen drivers. */
  enum { MAX_DEVICES = 128 };
  const char *menus[MAX_DEVICES], *names[MAX_DEVICES];
  const char **menu_list = menus, **name_list = names;
  int count = MAX_DEVICES;
  plgDevs(&menu_list, &name_list, &count);
  for (int i = 0; i < count && i < MAX_DEVICES; i++)
    if (names[i] && strcmp(names[i], device) == 0) return 0;
  /* Production asks for the cairo drivers, whose package this names. */
  return sim_errorf(SIM_EUNSUPPORTED,
                    "PLplot %s driver not installed: apt-get install plplot-driver-cairo",
                    device);
}

int res_plot_available(void) { return res__driver_available(res__device); }

int res_plot_wants_log(const double *v, size_t n) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(v[i])) continue;
    if (v[i] <= 0) return 0;
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  return lo <= hi && hi > 100.0 * lo;
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
  const char *device;
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
  ch->device = res__device_for(path);
  int rc = res__driver_available(ch->device);
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
  plsdev(ch->device);
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
    /* The format's signature proves that the driver wrote a whole image
     * header; the driver writes the file in one go at plend1. */
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    FILE *f = fopen(ch->tmp_path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    const char *format = "PNG";
    int ok = got == sizeof head && memcmp(head, png_magic, sizeof head) == 0;
    if (!strcmp(ch->device, "svgcairo")) {
      format = "SVG";
      ok = got >= 5 && (!memcmp(head, "<?xml", 5) || !memcmp(head, "<svg", 4));
    } else if (!strcmp(ch->device, "pdfcairo")) {
      format = "PDF";
      ok = got >= 5 && !memcmp(head, "%PDF-", 5);
    }
    if (!ok)
      rc = sim_errorf(SIM_EIO, "plotting %s: the %s driver wrote no %s", ch->path, ch->device, format);
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
static double res__viewport_right(const char *const *names, size_t n, unsigned width_px, int failed_entry) {
  size_t longest = failed_entry ? strlen(RES_PLOT_FAILED_LABEL) : 0;
  int any = failed_entry;
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

/* Labels longer than this put the legend below the plot (one entry per
 * row) rather than beside it, where it would squeeze the plot. */
#define RES__LEGEND_SIDE_MAX 25
#define RES__LEGEND_ROW_PX 32.0

/* Where the legend goes: 0 rows = beside the plot (or none), else below it
 * in that many rows. */
static size_t res__legend_rows(const char *const *names, size_t n, int failed_entry) {
  size_t longest = 0, shown = failed_entry ? 1 : 0;
  for (size_t i = 0; i < n; i++) {
    if (!names[i]) continue;
    shown++;
    if (strlen(names[i]) > longest) longest = strlen(names[i]);
  }
  return longest > RES__LEGEND_SIDE_MAX ? shown : 0;
}

/* The page taller by the rows of a legend below the plot (unless the
 * caller fixed the height). */
static res_plot_opts res__opts_for_legend(const res_plot_opts *opts, size_t rows) {
  res_plot_opts o = *opts;
  if (rows && !o.height_px) o.height_px = RES__PLOT_HEIGHT + (unsigned)(RES__LEGEND_ROW_PX * (double)rows + 40.0);
  return o;
}

/* The viewport's bottom edge: `bottom` of a 650-pixel page, plus the rows
 * of a legend below, on a page height_px tall. */
static double res__viewport_bottom(double bottom, size_t rows, unsigned height_px) {
  if (!rows) return bottom;
  return (bottom * RES__PLOT_HEIGHT + RES__LEGEND_ROW_PX * (double)rows + 40.0) / (double)height_px;
}

/* Legend right of the viewport. kind: PL_LEGEND_LINE or
 * PL_LEGEND_COLOR_BOX (plus PL_LEGEND_SYMBOL for marked lines). */
static int res__legend(const char *const *names, size_t n, PLINT kind, int failed_entry, size_t below_rows,
                       unsigned height_px) {
  size_t shown = failed_entry ? 1 : 0;
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
  if (failed_entry) {
    /* The hollow marker of runs that did not complete, in black. */
    if (!(texts[j] = res__escape(RES_PLOT_FAILED_LABEL))) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory plotting");
      goto done;
    }
    opt[j] = PL_LEGEND_SYMBOL;
    colors[j] = RES__COL_FG;
    styles[j] = 1;
    text_colors[j] = RES__COL_FG;
    symbol_numbers[j] = 1;
    box_scales[j] = 0.8;
    box_widths[j] = 1.0;
    line_widths[j] = 1.0;
    symbol_scales[j] = 1.4;
    symbols[j] = RES__MARKER_FAILED;
    j++;
  }
  PLFLT width, height;
  /* Top right of the page, level with the top of the plot; the viewport
   * leaves that margin free (res__viewport_right). */
  PLINT position = PL_POSITION_RIGHT | PL_POSITION_TOP | PL_POSITION_INSIDE | PL_POSITION_SUBPAGE;
  PLFLT x_off = 0.015, y_off = 0.10;
  if (below_rows) {
    /* Below the x axis's title, from the left of the page. */
    position = PL_POSITION_LEFT | PL_POSITION_BOTTOM | PL_POSITION_INSIDE | PL_POSITION_SUBPAGE;
    x_off = 0.06;
    y_off = 12.0 / (double)height_px;
  }
  pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position,
           x_off, y_off, 0.05, RES__COL_BG, RES__COL_FG, 1, (PLINT)shown, 1, (PLINT)shown, opt,
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

/* y on the plot's axis: its log10 on a logarithmic one (NaN when <= 0). */
static double res__axis_y(double y, int logarithmic) {
  if (!logarithmic) return y;
  return y > 0 ? log10(y) : NAN;
}

/* Widens [*lo, *hi] to hold v when it is finite. */
static void res__extend(double v, double *lo, double *hi) {
  if (!isfinite(v)) return;
  if (v < *lo) *lo = v;
  if (v > *hi) *hi = v;
}

/* Error bars of the finite, non-failed points of `se`, on the current
 * window; an end that a log axis cannot show is drawn to the bottom. */
static void res__error_bars(const res_plot_series *se, const res_plot_opts *opts, double y_bottom) {
  if (!se->err_lo || !se->err_hi) return;
  for (size_t i = 0; i < se->n; i++) {
    if (se->failed && se->failed[i]) continue;
    if (!isfinite(se->x[i]) || !isfinite(se->err_lo[i]) || !isfinite(se->err_hi[i])) continue;
    double hi = res__axis_y(se->err_hi[i], opts->log_y);
    if (!isfinite(hi)) continue;
    double lo = res__axis_y(se->err_lo[i], opts->log_y);
    if (!isfinite(lo)) lo = y_bottom;
    PLFLT x = opts->log_x ? log10(se->x[i]) : se->x[i], ylo = lo, yhi = hi;
    plerry(1, &x, &ylo, &yhi);
  }
}

int res_plot_lines(const char *path, const res_plot_opts *opts, const res_plot_series *series,
                   size_t nseries) {
  static const res_plot_opts no_opts;
  if (!opts) opts = &no_opts;
  if (nseries == 0 || !series)
    return sim_errorf(SIM_EINVAL, "plotting %s: no series", path);
  /* Validate and find the ranges before touching PLplot. */
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  size_t longest = 0;
  int any_failed = 0;
  for (size_t s = 0; s < nseries; s++) {
    const res_plot_series *se = &series[s];
    if (se->n && (!se->x || !se->y))
      return sim_errorf(SIM_EINVAL, "plotting %s: series %zu has no data arrays", path, s + 1);
    if (se->n > longest) longest = se->n;
    for (size_t i = 0; i < se->n; i++) {
      double x = se->x[i], y = se->y[i];
      int failed = se->failed && se->failed[i];
      if (failed && isfinite(x)) {
        /* Drawn, on the bottom when it has no value: x counts, y if any. */
        any_failed = 1;
        if (opts->log_x && x <= 0)
          return sim_errorf(SIM_EINVAL, "plotting %s: x=%g in series %zu on a logarithmic axis", path, x, s + 1);
        res__extend(opts->log_x ? log10(x) : x, &x_lo, &x_hi);
        if (isfinite(y) && !(opts->log_y && y <= 0)) res__extend(res__axis_y(y, opts->log_y), &y_lo, &y_hi);
        continue;
      }
      if (!isfinite(x) || !isfinite(y)) continue;
      if (opts->log_x && x <= 0)
        return sim_errorf(SIM_EINVAL, "plotting %s: x=%g in series %zu on a logarithmic axis",
                          path, x, s + 1);
      if (opts->log_y && y <= 0)
        return sim_errorf(SIM_EINVAL, "plotting %s: y=%g in series %zu on a logarithmic axis",
                          path, y, s + 1);
      res__extend(opts->log_x ? log10(x) : x, &x_lo, &x_hi);
      res__extend(res__axis_y(y, opts->log_y), &y_lo, &y_hi);
      if (se->err_lo && se->err_hi) {
        res__extend(res__axis_y(se->err_lo[i], opts->log_y), &y_lo, &y_hi);
        res__extend(res__axis_y(se->err_hi[i], opts->log_y), &y_lo, &y_hi);
      }
    }
  }
  if (!(x_lo <= x_hi))
    return sim_errorf(SIM_EINVAL, "plotting %s: no finite point to plot", path);
  if (!(y_lo <= y_hi)) {
    /* Only failed points without a value: an empty axis to put them on. */
    y_lo = 0.0;
    y_hi = 1.0;
  }
  if (!opts->log_y) {
    if (y_lo > 0) y_lo = 0;
    if (y_hi < 0) y_hi = 0;
  }
  res__pad_range(&x_lo, &x_hi, opts->log_x);
  res__pad_range(&y_lo, &y_hi, opts->log_y);
  if (!opts->log_y) y_hi += 0.05 * (y_hi - y_lo); /* headroom above the highest point */
  if (opts->log_y) {
    /* A little room on both sides of the decades spanned. */
    y_lo -= 0.05 * (y_hi - y_lo);
    y_hi += 0.05 * (y_hi - y_lo);
  }
  if (any_failed) {
    /* Markers on the edge of the x range would be cut in half. */
    double pad = 0.03 * (x_hi - x_lo);
    x_lo -= pad;
    x_hi += pad;
  }

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

  size_t rows = res__legend_rows(names, nseries, any_failed);
  res_plot_opts page = res__opts_for_legend(opts, rows);
  res__chart ch;
  int rc = res__chart_begin(&ch, path, &page);
  if (!rc) {
    plvpor(0.12, rows ? 0.95 : res__viewport_right(names, nseries, ch.width_px, any_failed),
           res__viewport_bottom(0.12, rows, page.height_px), 0.90);
    plwind(x_lo, x_hi, y_lo, y_hi);
    const char *xgrid = opts->log_x ? "gl" : "g", *ygrid = opts->log_y ? "gl" : "g";
    const char *xbox = opts->log_x ? "bclnost" : "bcnost", *ybox = opts->log_y ? "bclnostv" : "bcnostv";
    if (opts->x_ticks && opts->n_x_ticks) {
      /* The given values only: a grid line and a label at each. */
      xgrid = "";
      xbox = "bc";
    }
    plcol0(RES__COL_GRID);
    plwidth(1.0);
    plbox(xgrid, 0.0, 0, ygrid, 0.0, 0);
    /* Labels that would touch the one before go on a second row. The
     * viewport's width in pixels and ~11 px per character (the cairo
     * drivers at this font size) say where a label ends. */
    double vp_left = 0.12, vp_right = rows ? 0.95 : res__viewport_right(names, nseries, ch.width_px, any_failed);
    double vp_px = (vp_right - vp_left) * ch.width_px, row_end[2] = {-1e9, -1e9};
    double x_label_disp = 3.2;
    for (size_t i = 0; opts->x_ticks && i < opts->n_x_ticks; i++) {
      double v = opts->x_ticks[i];
      if (!isfinite(v) || (opts->log_x && v <= 0)) continue;
      PLFLT tx[2], ty[2] = {y_lo, y_hi};
      tx[0] = tx[1] = opts->log_x ? log10(v) : v;
      if (tx[0] < x_lo || tx[0] > x_hi) continue;
      plcol0(RES__COL_GRID);
      plline(2, tx, ty);
      char label[32];
      if (opts->x_tick_labels && opts->x_tick_labels[i])
        snprintf(label, sizeof label, "%s", opts->x_tick_labels[i]);
      else
        res__tick_label(PL_X_AXIS, tx[0], label, sizeof label, ch.log_axes);
      char *text = res__escape(label);
      if (!text) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
        break;
      }
      double at = (tx[0] - x_lo) / (x_hi - x_lo), half = 5.5 * (double)strlen(label);
      int row = at * vp_px - half < row_end[0] + 8.0 ? 1 : 0;
      row_end[row] = at * vp_px + half;
      if (row) x_label_disp = 4.4;
      plcol0(RES__COL_FG);
      plmtex("b", row ? 2.7 : 1.5, at, 0.5, text);
      free(text);
    }
    plcol0(RES__COL_FG);
    plbox(xbox, 0.0, 0, ybox, 0.0, 0);
    if (!rc) rc = res__labels(opts, x_label_disp);
    for (size_t s = 0; s < nseries && !rc; s++) {
      const res_plot_series *se = &series[s];
      plcol0((PLINT)(RES__COL_SERIES + s % RES__NCOLORS));
      pllsty((PLINT)(1 + (s / RES__NCOLORS) % 8));
      plwidth(2.0);
      /* Draw each run of finite, completed points as one polyline. */
      size_t run = 0;
      for (size_t i = 0; i <= se->n; i++) {
        int ok = i < se->n && isfinite(se->x[i]) && isfinite(se->y[i]) && !(se->failed && se->failed[i]);
        if (ok) {
          xs[run] = opts->log_x ? log10(se->x[i]) : se->x[i];
          ys[run] = res__axis_y(se->y[i], opts->log_y);
          run++;
          continue;
        }
        if (run > 1) plline((PLINT)run, xs, ys);
        if (run > 0 && (opts->markers || run == 1)) plstring((PLINT)run, xs, ys, RES__MARKER);
        run = 0;
      }
      pllsty(1);
      plwidth(1.5);
      res__error_bars(se, opts, y_lo);
      for (size_t i = 0; se->failed && i < se->n; i++) {
        if (!se->failed[i] || !isfinite(se->x[i])) continue;
        PLFLT fx = opts->log_x ? log10(se->x[i]) : se->x[i];
        PLFLT fy = isfinite(se->y[i]) ? res__axis_y(se->y[i], opts->log_y) : NAN;
        if (!isfinite(fy)) fy = y_lo + 0.02 * (y_hi - y_lo); /* no value: on the bottom */
        plschr(0.0, 1.4);
        plstring(1, &fx, &fy, RES__MARKER_FAILED);
        plschr(0.0, 0.9);
      }
    }
    pllsty(1);
    plwidth(1.0);
    if (!rc)
      rc = res__legend(names, nseries, opts->markers ? PL_LEGEND_LINE | PL_LEGEND_SYMBOL : PL_LEGEND_LINE,
                       any_failed, rows, page.height_px);
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
  int log_any = 0;
  size_t longest = 0;
  for (size_t c = 0; c < ncategories; c++) {
    size_t len = categories[c] ? strlen(categories[c]) : 0;
    if (len > longest) longest = len;
  }
  int any_failed = 0;
  for (size_t s = 0; s < nseries; s++) {
    if (!series[s].values)
      return sim_errorf(SIM_EINVAL, "plotting %s: series %zu has no values", path, s + 1);
    for (size_t c = 0; c < ncategories; c++) {
      if (series[s].failed && series[s].failed[c]) {
        any_failed = 1;
        continue;
      }
      double v = series[s].values[c];
      if (opts->log_y && isfinite(v) && v <= 0)
        return sim_errorf(SIM_EINVAL, "plotting %s: y=%g in series %zu on a logarithmic axis", path, v, s + 1);
      if (opts->log_y) {
        if (isfinite(v)) {
          /* The range of the logarithms; bars start at its bottom. */
          if (!log_any || log10(v) < y_lo) y_lo = log10(v);
          if (!log_any || log10(v) > y_hi) y_hi = log10(v);
          log_any = 1;
        }
        continue;
      }
      res__extend(v, &y_lo, &y_hi);
      if (series[s].err_lo && series[s].err_hi && isfinite(series[s].values[c])) {
        res__extend(series[s].err_lo[c], &y_lo, &y_hi);
        res__extend(series[s].err_hi[c], &y_lo, &y_hi);
      }
    }
  }
  if (opts->log_y) {
    /* Whole decades, the lowest bar still visible. */
    y_lo = floor(y_lo) - (y_lo - floor(y_lo) < 0.3 ? 0.5 : 0.0);
    y_hi = y_hi + 0.05 * (y_hi - y_lo) + 0.05;
  }
  if (y_hi <= y_lo) y_hi = y_lo + 1.0;
  double pad = opts->log_y ? 0.0 : 0.05 * (y_hi - y_lo);
  if (y_hi > 0) y_hi += pad;
  if (y_lo < 0 && !opts->log_y) y_lo -= pad;

  /* Many or long category names are written vertically; names longer
   * than 20 characters make the page taller by what they need beyond 20
   * (up to RES__BAR_LABEL_MAX characters; longer ones are cut with "..."),
   * so that the plot keeps its size and no name runs off the page. */
  int vertical = ncategories > 10 || longest * ncategories > 80;
  const double chars = (double)(longest < RES__BAR_LABEL_MAX ? longest : RES__BAR_LABEL_MAX);
  double label_space = vertical ? 0.04 + 0.014 * chars : 0.0;
  double x_label_disp = vertical ? 2.5 + 0.9 * chars : 3.5;
  unsigned extra_px = vertical && chars > 20 ? (unsigned)(0.014 * (chars - 20) * RES__PLOT_HEIGHT) : 0;

  const char **names = calloc(nseries, sizeof *names);
  if (!names) return sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
  for (size_t s = 0; s < nseries; s++) names[s] = series[s].name;

  size_t rows = res__legend_rows(names, nseries, any_failed);
  res_plot_opts page = res__opts_for_legend(opts, rows);
  if (extra_px && !opts->height_px) page.height_px = (page.height_px ? page.height_px : RES__PLOT_HEIGHT) + extra_px;
  unsigned page_h = page.height_px ? page.height_px : RES__PLOT_HEIGHT;
  /* The bottom margin in pixels: labels, x title and a legend below. */
  double bottom_px = (0.12 + label_space) * RES__PLOT_HEIGHT + (rows ? RES__LEGEND_ROW_PX * (double)rows + 40.0 : 0.0);
  double bottom = opts->height_px || !extra_px ? res__viewport_bottom(0.12 + label_space, rows, page_h)
                                               : bottom_px / (double)page_h;
  res__chart ch;
  int rc = res__chart_begin(&ch, path, &page);
  if (!rc) {
    double right = rows ? 0.95 : res__viewport_right(names, nseries, ch.width_px, any_failed);
    /* Vertical names closer than a line apart are written smaller (down
     * to half size): 0.9 of the default is about 18 pixels a line. */
    double per_px = (right - 0.12) * ch.width_px / (double)ncategories;
    double label_chr = vertical && per_px < 18.0 ? (per_px / 18.0 > 0.5 ? 0.9 * per_px / 18.0 : 0.45) : 0.9;
    plvpor(0.12, right, bottom,
           extra_px && !opts->height_px ? 1.0 - 0.10 * RES__PLOT_HEIGHT / (double)page_h : 0.90);
    plwind(0.0, (double)ncategories, y_lo, y_hi);
    plcol0(RES__COL_GRID);
    plbox("", 0.0, 0, opts->log_y ? "gl" : "g", 0.0, 0);
    const double group = 0.8, bar = group / (double)nseries;
    for (size_t c = 0; c < ncategories; c++) {
      for (size_t s = 0; s < nseries; s++) {
        double v = series[s].values[c];
        double x0 = (double)c + (1.0 - group) / 2 + bar * (double)s, x1 = x0 + bar;
        plcol0((PLINT)(RES__COL_SERIES + s % RES__NCOLORS));
        if (series[s].failed && series[s].failed[c]) {
          /* No bar: a hollow marker just above the axis. */
          PLFLT mx = (x0 + x1) / 2, my = 0.03 * (y_hi - y_lo) + (y_lo < 0 ? 0.0 : y_lo);
          plschr(0.0, 1.4);
          plstring(1, &mx, &my, RES__MARKER_FAILED);
          plschr(0.0, 0.9);
          continue;
        }
        if (!isfinite(v) || v == 0.0) continue;
        double base = opts->log_y ? y_lo : 0.0, top = opts->log_y ? log10(v) : v;
        PLFLT px[4] = {x0, x0, x1, x1}, py[4] = {base, top, top, base};
        plfill(4, px, py);
        if (series[s].err_lo && series[s].err_hi && isfinite(series[s].err_lo[c]) &&
            isfinite(series[s].err_hi[c]) && !(opts->log_y && series[s].err_hi[c] <= 0)) {
          PLFLT ex = (x0 + x1) / 2, elo = series[s].err_lo[c], ehi = series[s].err_hi[c];
          if (opts->log_y) {
            elo = elo > 0 ? log10(elo) : y_lo;
            ehi = log10(ehi);
          }
          plcol0(RES__COL_FG);
          plwidth(1.5);
          plerry(1, &ex, &elo, &ehi);
          plwidth(1.0);
        }
      }
    }
    plcol0(RES__COL_FG);
    plbox("bc", 0.0, 0, opts->log_y ? "bclnostv" : "bcnostv", 0.0, 0);
    if (y_lo < 0 && !opts->log_y) {
      PLFLT zx[2] = {0.0, (double)ncategories}, zy[2] = {0.0, 0.0};
      plline(2, zx, zy);
    }
    for (size_t c = 0; c < ncategories && !rc; c++) {
      char cut[RES__BAR_LABEL_MAX + 1];
      const char *name = categories[c] ? categories[c] : "";
      if (vertical && strlen(name) > RES__BAR_LABEL_MAX) { /* cut before escaping: no half escape */
        snprintf(cut, sizeof cut, "%.*s...", RES__BAR_LABEL_MAX - 3, name);
        name = cut;
      }
      char *label = res__escape(name);
      if (!label) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
        break;
      }
      double pos = ((double)c + 0.5) / (double)ncategories;
      plschr(0.0, label_chr);
      if (vertical)
        plmtex("bv", 0.7, pos, 1.0, label);
      else
        plmtex("b", 1.5, pos, 0.5, label);
      plschr(0.0, 0.9);
      free(label);
    }
    if (!rc) rc = res__labels(opts, x_label_disp);
    if (!rc) rc = res__legend(names, nseries, PL_LEGEND_COLOR_BOX, any_failed, rows, page.height_px);
  }
  rc = res__chart_end(&ch, rc);
  free(names);
  return rc;
}

/* ------------------------------------------------------------ heatmap */

/* A perceptually uniform colour for t in [0, 1]: viridis at five stops,
 * interpolated linearly. */
static void res__viridis(double t, unsigned char rgb[3]) {
  static const double stops[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  if (!(t >= 0)) t = 0;
  if (t > 1) t = 1;
  double pos = t * 4.0;
  int k = (int)pos;
  if (k > 3) k = 3;
  double f = pos - k;
  for (int c = 0; c < 3; c++)
    rgb[c] = (unsigned char)lround(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]));
}

/* Colour map 0 entry used for the cell being filled. */
enum { RES__COL_CELL = RES__COL_SERIES + RES__NCOLORS };

static void res__set_cell_colour(double t) {
  unsigned char rgb[3];
  res__viridis(t, rgb);
  plscol0(RES__COL_CELL, rgb[0], rgb[1], rgb[2]);
  plcol0(RES__COL_CELL);
}

int res_plot_heatmap(const char *path, const res_plot_opts *opts, const char *const *x_values, size_t nx,
                     const char *const *y_values, size_t ny, const double *z, const unsigned char *failed,
                     const char *z_label, int log_z) {
  static const res_plot_opts no_opts;
  if (!opts) opts = &no_opts;
  if (nx == 0 || ny == 0 || !x_values || !y_values || !z)
    return sim_errorf(SIM_EINVAL, "plotting %s: a heatmap needs two axes and values", path);
  double z_lo = INFINITY, z_hi = -INFINITY;
  for (size_t k = 0; k < nx * ny; k++) {
    if (failed && failed[k]) continue;
    if (!isfinite(z[k])) continue;
    if (log_z && z[k] <= 0)
      return sim_errorf(SIM_EINVAL, "plotting %s: z=%g on a logarithmic scale", path, z[k]);
    res__extend(log_z ? log10(z[k]) : z[k], &z_lo, &z_hi);
  }
  int any_failed = 0;
  for (size_t k = 0; failed && k < nx * ny; k++) any_failed |= failed[k] != 0;
  if (!(z_lo <= z_hi) && !any_failed)
    return sim_errorf(SIM_EINVAL, "plotting %s: no finite value to plot", path);
  if (!(z_lo <= z_hi)) z_lo = 0, z_hi = 1;
  res__pad_range(&z_lo, &z_hi, log_z);

  res__chart ch;
  res_plot_opts o = *opts;
  o.log_x = o.log_y = 0;
  int rc = res__chart_begin(&ch, path, &o);
  if (!rc) {
    plscmap0n((PLINT)(RES__COL_CELL + 1));
    for (size_t i = 0; i < RES__NCOLORS; i++)
      plscol0((PLINT)(RES__COL_SERIES + i), res__palette[i][0], res__palette[i][1], res__palette[i][2]);
    plvpor(0.14, 0.80, 0.14, 0.90);
    plwind(0.0, (double)nx, 0.0, (double)ny);
    double cell_chars = 0.75 - 0.02 * (double)(nx > 8 ? nx - 8 : 0);
    if (cell_chars < 0.45) cell_chars = 0.45;
    for (size_t j = 0; j < ny && !rc; j++) {
      for (size_t i = 0; i < nx; i++) {
        size_t k = j * nx + i;
        PLFLT px[4] = {(double)i, (double)i, (double)i + 1, (double)i + 1};
        PLFLT py[4] = {(double)j, (double)j + 1, (double)j + 1, (double)j};
        char text[32] = "";
        if (failed && failed[k]) {
          /* Hatched: the run did not complete, its value is no value. */
          plcol0(RES__COL_GRID);
          plfill(4, px, py);
          plcol0(RES__COL_FG);
          plpsty(3);
          plfill(4, px, py);
          plpsty(0);
          snprintf(text, sizeof text, "n/c");
        } else if (isfinite(z[k])) {
          double v = log_z ? log10(z[k]) : z[k];
          double t = (v - z_lo) / (z_hi - z_lo);
          res__set_cell_colour(t);
          plfill(4, px, py);
          snprintf(text, sizeof text, "%.4g", z[k]);
          plcol0(t > 0.6 ? RES__COL_FG : RES__COL_BG); /* readable on dark and light cells */
        } else {
          continue;
        }
        if (failed && failed[k]) plcol0(RES__COL_FG);
        plschr(0.0, cell_chars);
        plptex((double)i + 0.5, (double)j + 0.5, 1.0, 0.0, 0.5, text);
        plschr(0.0, 0.9);
      }
    }
    plcol0(RES__COL_FG);
    plbox("bc", 0.0, 0, "bc", 0.0, 0);
    for (size_t i = 0; i < nx && !rc; i++) {
      char *label = res__escape(x_values[i]);
      if (!label) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
        break;
      }
      plmtex("b", 1.5, ((double)i + 0.5) / (double)nx, 0.5, label);
      free(label);
    }
    for (size_t j = 0; j < ny && !rc; j++) {
      char *label = res__escape(y_values[j]);
      if (!label) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory plotting %s", path);
        break;
      }
      plmtex("lv", 0.7, ((double)j + 0.5) / (double)ny, 1.0, label);
      free(label);
    }
    if (!rc) {
      char *title = res__escape(o.title), *xl = res__escape(o.x_label), *yl = res__escape(o.y_label);
      if (!title || !xl || !yl) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory plotting");
      } else {
        plmtex("t", 1.5, 0.5, 0.5, title);
        plmtex("b", 3.5, 0.5, 0.5, xl);
        plmtex("l", 8.0, 0.5, 0.5, yl);
      }
      free(title);
      free(xl);
      free(yl);
    }
    /* The colour bar: 64 strips from z_lo to z_hi, labelled on its right. */
    if (!rc) {
      plvpor(0.86, 0.89, 0.14, 0.90);
      plwind(0.0, 1.0, z_lo, z_hi);
      const int strips = 64;
      for (int k = 0; k < strips; k++) {
        double a = z_lo + (z_hi - z_lo) * k / strips, b2 = z_lo + (z_hi - z_lo) * (k + 1) / strips;
        PLFLT px[4] = {0, 0, 1, 1}, py[4] = {a, b2, b2, a};
        res__set_cell_colour((k + 0.5) / strips);
        plfill(4, px, py);
      }
      plcol0(RES__COL_FG);
      ch.log_axes[1] = log_z;
      plbox("bc", 0.0, 0, log_z ? "bcmlstv" : "bcmstv", 0.0, 0);
      char *zl = res__escape(z_label);
      if (!zl) rc = sim_errorf(SIM_ENOMEM, "out of memory plotting");
      else plmtex("r", 5.0, 0.5, 0.5, zl);
      free(zl);
    }
  }
  return res__chart_end(&ch, rc);
}
