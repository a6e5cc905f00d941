/* res_report: `migsim report DIR`, a Markdown and a self-contained HTML
 * report of any result folder, with its plots (docs/report.md).
 *
 * The runs are read back from DIR/summary.csv, rounds.csv and timeline.csv
 * (res_load.h), and from the result folders a command keeps inside DIR:
 * baseline/ and candidate/ (regress), sim/ and real/ (validate). Runs are
 * grouped into *points*: the runs of one series (algorithm; the profile
 * and the subfolder when those vary) at one value of every swept
 * parameter; the repeats of a point (run ids NAME#k, other seeds or trace
 * offsets) give its mean and the Student-t 95 % interval of the mean, drawn
 * as error bars. The swept parameters are the keys of a sweep's run ids
 * (`algo=hybrid;max-bandwidth=64MiB/s`) whose values differ; in other
 * folders, the scenario parameters whose values differ, those that vary
 * together (compare's link and max-bandwidth) counted as one.
 *
 * Plots (res_plot.h), PNG always and SVG / PDF on request, named
 * DIR/report-*.EXT: every metric against each swept parameter (one line
 * per series), a heatmap per metric and series when exactly two parameters
 * were swept, the CDF of every metric across runs per series, timelines
 * from timeline.csv, bytes per round from rounds.csv; when the runs come
 * from several folders (baseline/ and candidate/, sim/ and real/) and the
 * scenarios are a set rather than a grid, each metric per scenario with a
 * bar per folder. A point whose runs did not all complete is drawn hollow
 * (res_plot.h), never as zero.
 *
 * DIR/report.md references the PNGs; DIR/report.html embeds them as
 * base64 data URIs and needs no other file. A report.md that another
 * command wrote there (compare, regress) is kept verbatim at the top of the
 * new one; the HTML shows its text and embeds the PNGs of DIR it
 * references (![caption](NAME.png)). Both files and the plots are written atomically (sim_file);
 * plots of an earlier report that this one does not make are removed. */
#ifndef RES_REPORT_H
#define RES_REPORT_H

#include <stddef.h>

enum { RES_REPORT_PNG = 1, RES_REPORT_SVG = 2, RES_REPORT_PDF = 4 };

/* Parses a comma list of png, svg, pdf into RES_REPORT_* bits (PNG is
 * always added: the reports show it). 0 or SIM_EINVAL naming the item. */
int res_report_formats(const char *list, unsigned *formats);

typedef struct {
  unsigned formats; /* RES_REPORT_* bits; 0 = PNG */
  const char *title; /* NULL: "migsim report: DIR" */
  /* Result folders kept elsewhere, read as the group of that name instead
   * of DIR's subfolder (regress: a stored baseline). ngroup_dirs <= 4. */
  const char *const *group_dirs;
  const char *const *group_names;
  size_t ngroup_dirs;
} res_report_opts;

typedef struct {
  size_t runs;   /* runs read */
  size_t points; /* points (series x swept values) */
  size_t axes;   /* swept parameters found */
  size_t plots;  /* figures made (each in every format asked for) */
} res_report_stats;

/* Writes DIR/report.md, DIR/report.html and the plots (see above). stats
 * may be NULL. 0, or SIM_EINVAL (DIR holds no runs), SIM_EFORMAT (a file
 * that does not load), SIM_EUNSUPPORTED (a PLplot driver missing), SIM_EIO;
 * one line naming the file. Cost: one read of the folder's CSVs, a few
 * dozen plots. Not thread-safe (PLplot). */
int res_report_write(const char *dir, const res_report_opts *opts, res_report_stats *stats);

/* Base64 (RFC 4648, with padding) of data[0..n) into out, which must hold
 * 4 * ((n + 2) / 3) + 1 bytes; NUL-terminated. Returns the length. */
size_t res_base64(const unsigned char *data, size_t n, char *out);

#endif
