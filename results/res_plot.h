/* res_plot: PNG charts for migsim's outputs, drawn with PLplot's pngcairo
 * driver.
 *
 * Two kinds of chart cover what migsim draws: line plots (dirty rate over
 * time, working-set curves, bytes per round) and grouped bar charts
 * (total time, downtime and bytes per algorithm; write-frequency buckets).
 *
 * Every call draws one complete PNG on a fresh PLplot stream (plmkstrm ...
 * plend1), so any number of plots can be made in one process and the
 * caller's current PLplot stream is left as it was. The image is written
 * under "<path>.tmp.<pid>" and renamed over `path` only when it is complete
 * (it starts with the PNG signature), so no partial PNG is ever left under
 * the real name, nor a temporary file after a failure. The output is
 * deterministic: same data, same bytes. PLplot's own error messages are
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
  int log_y;           /* lines only: logarithmic y axis (every y > 0) */
  int markers;         /* lines only: also mark each point */
  unsigned width_px;   /* 0 = 1000 */
  unsigned height_px;  /* 0 = 650 */
} res_plot_opts;

/* One line: n points (x[i], y[i]). A non-finite y breaks the line there
 * (and that point is skipped). */
typedef struct {
  const char *name; /* legend label; NULL keeps it out of the legend */
  const double *x;
  const double *y;
  size_t n;
} res_plot_series;

/* One bar series: values[j] is the bar for category j (ncategories
 * values). */
typedef struct {
  const char *name; /* legend label; NULL keeps it out of the legend */
  const double *values;
} res_plot_bar_series;

/* Draws the series as lines into the PNG `path`. Axes span all finite
 * points; a linear y axis always includes 0 (rates, sizes and counts read
 * best from zero). The legend sits to the right of the plot, outside the
 * data, when any series has a name.
 * Returns 0, SIM_EINVAL (no series, NULL arrays, x <= 0 on a log axis, no
 * finite point at all), SIM_EUNSUPPORTED (the pngcairo driver is not
 * installed, with the apt-get line to fix it) or SIM_EIO. */
int res_plot_lines(const char *path, const res_plot_opts *opts,
                   const res_plot_series *series, size_t nseries);

/* Draws a grouped bar chart: one group per category (labelled below the
 * axis, vertically when there are many or they are long), one coloured bar
 * per series within each group, y from min(0, values) to max(0, values).
 * Non-finite values draw no bar. Errors as for res_plot_lines. */
int res_plot_bars(const char *path, const res_plot_opts *opts,
                  const char *const *categories, size_t ncategories,
                  const res_plot_bar_series *series, size_t nseries);

/* 0 when PLplot's pngcairo driver is available, else SIM_EUNSUPPORTED with
 * the message "PLplot pngcairo driver not installed: apt-get install
 * plplot-driver-cairo". Cheap after the first call. */
int res_plot_available(void);

/* Internal, for tests: use `device` instead of "pngcairo" (NULL restores
 * it), e.g. to check the missing-driver error. */
void res__plot_set_device(const char *device);

#endif
