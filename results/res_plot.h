/* res_plot: charts for migsim's outputs, drawn with PLplot's cairo
 * drivers: PNG (pngcairo), SVG (svgcairo) or PDF (pdfcairo), chosen by the
 * file name's extension (.svg, .pdf; anything else is PNG). All three come
 * with Debian's plplot-driver-cairo.
 *
 * Three kinds of chart cover what migsim draws: line plots (dirty rate over
 * time, working-set curves, bytes per round, a metric against a swept
 * parameter, with error bars), grouped bar charts (total time, downtime and
 * bytes per algorithm; write-frequency buckets) and heatmaps (a metric over
 * two swept parameters). A point or bar of a run that did not complete is
 * drawn as such (a hollow marker, never a value of zero or a full bar) and
 * the legend says so.
 *
 * Every call draws one complete PNG on a fresh PLplot stream (plmkstrm ...
 * plend1), so any number of plots can be made in one process and the
 * caller's current PLplot stream is left as it was. The image is written
 * under a temporary name and renamed over `path` only when it is complete
 * (it starts with the PNG signature, "<?xml"/"<svg" or "%PDF"), so no
 * partial image is ever left under the real name, nor a temporary file
 * after a failure. PNG and SVG output is deterministic: same data, same
 * bytes (cairo writes a creation date into PDFs). PLplot's own error messages are
 * captured (nothing is printed) and returned through sim_error_message().
 *
 * Labels are plain text: '#', PLplot's escape character, is shown as is.
 * Not thread-safe: PLplot keeps global state. */
#ifndef RES_PLOT_H
#define RES_PLOT_H

#include <stddef.h>

/* Looks shared by both kinds of chart. Zero-initialise and set what you
 * need. */
typedef struct {
  const char *title;   /* NULL = none */
  const char *x_label; /* NULL = none */
  const char *y_label; /* NULL = none */
  int log_x;           /* lines only: logarithmic x axis (every x > 0) */
  int log_y;           /* logarithmic y axis (every y > 0; bars rise from
                        * the bottom decade) */
  int markers;         /* lines only: also mark each point */
  unsigned width_px;   /* 0 = 1000 */
  unsigned height_px;  /* 0 = 650 */
  /* lines only: label the x axis at exactly these values (a sweep's), with
   * a grid line each, instead of PLplot's ticks; NULL = PLplot's */
  const double *x_ticks;
  size_t n_x_ticks;
  const char *const *x_tick_labels; /* their labels; NULL: the numbers */
} res_plot_opts;

/* One line: n points (x[i], y[i]). A non-finite y breaks the line there
 * (and that point is skipped). Optional per-point arrays (NULL = none):
 * err_lo/err_hi are the ends of an error bar (absolute y values; a
 * non-finite end draws none); failed[i] != 0 marks a run that did not
 * complete: the point breaks the line and is drawn as a hollow circle at
 * y[i] (what the run reached before its timeout) or, when y[i] is not
 * finite (no value, e.g. its downtime), on the bottom of the plot. */
typedef struct {
  const char *name; /* legend label; NULL keeps it out of the legend */
  const double *x;
  const double *y;
  size_t n;
  const double *err_lo, *err_hi;
  const unsigned char *failed;
} res_plot_series;

/* One bar series: values[j] is the bar for category j (ncategories
 * values). Optional arrays as for lines: error bars, and failed[j] != 0
 * draws no bar but a hollow circle on the axis (the run did not complete). */
typedef struct {
  const char *name; /* legend label; NULL keeps it out of the legend */
  const double *values;
  const double *err_lo, *err_hi;
  const unsigned char *failed;
} res_plot_bar_series;

/* Legend label of the hollow marker of runs that did not complete. */
#define RES_PLOT_FAILED_LABEL "did not complete"

/* Draws the series as lines into `path`. Axes span all finite
 * points; a linear y axis always includes 0 (rates, sizes and counts read
 * best from zero). The legend sits to the right of the plot, outside the
 * data, when any series has a name.
 * Returns 0, SIM_EINVAL (no series, NULL arrays, x <= 0 on a log axis, no
 * finite point at all), SIM_EUNSUPPORTED (the pngcairo driver is not
 * installed, with the apt-get line to fix it) or SIM_EIO. */
int res_plot_lines(const char *path, const res_plot_opts *opts,
                   const res_plot_series *series, size_t nseries);

/* Draws a grouped bar chart: one group per category (labelled below the
 * axis, vertically when there are many or they are long; vertical names
 * over 20 characters make the page taller unless height_px is set, names
 * over 48 are cut with "...", and names closer than a line apart are
 * written smaller), one coloured bar
 * per series within each group, y from min(0, values) to max(0, values)
 * (with log_y: from a whole decade below the smallest value).
 * Non-finite values draw no bar. Errors as for res_plot_lines. */
int res_plot_bars(const char *path, const res_plot_opts *opts,
                  const char *const *categories, size_t ncategories,
                  const res_plot_bar_series *series, size_t nseries);

/* Draws a heatmap: nx columns labelled x_values, ny rows labelled
 * y_values (bottom to top), cell (i, j) = z[j * nx + i] coloured on a
 * perceptually uniform scale with a colour bar titled z_label (log10
 * colours when log_z, every finite z > 0), each cell's value written in it
 * (4 significant digits). A non-finite z leaves the cell blank; failed[j *
 * nx + i] != 0 (optional) hatches the cell and writes "n/c" (did not
 * complete). opts->x_label / y_label name the two parameters. Errors as for
 * res_plot_lines (SIM_EINVAL also when no cell has a finite value). */
int res_plot_heatmap(const char *path, const res_plot_opts *opts, const char *const *x_values, size_t nx,
                     const char *const *y_values, size_t ny, const double *z, const unsigned char *failed,
                     const char *z_label, int log_z);

/* 1 when a logarithmic axis suits v[0..n): every finite value is > 0 and
 * the largest is more than 100 times the smallest (more than two decades);
 * else 0. Non-finite values are ignored. */
int res_plot_wants_log(const double *v, size_t n);

/* 0 when PLplot's pngcairo driver is available, else SIM_EUNSUPPORTED with
 * the message "PLplot pngcairo driver not installed: apt-get install
 * plplot-driver-cairo". Cheap after the first call. */
int res_plot_available(void);

/* Internal, for tests: use `device` instead of "pngcairo" (NULL restores
 * it), e.g. to check the missing-driver error. */
void res__plot_set_device(const char *device);

#endif
