/* wl_curve_import: dirty curves as QEMU measures them, turned into the
 * points of a `curve:` generator spec.
 *
 * QEMU's calc-dirty-rate measures one period (calc-time, whole seconds)
 * and query-dirty-rate reports `dirty-rate` in MiB/s for the whole guest.
 * dirty-rate is rounded down to whole MiB/s, so distinct pages dirtied in
 * the period are taken as
 *     (dirty-rate + 1/2) x calc-time x 2^20 / page_size   (0 when it is 0),
 * whatever the mode: page-sampling has already scaled its sample up to all
 * of guest RAM, dirty-bitmap and dirty-ring counted every page. The
 * meaning of each mode and its precision are in docs/workloads.md
 * ("Importing QEMU's dirty rate"). */
#ifndef WL_CURVE_IMPORT_H
#define WL_CURVE_IMPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* One query-dirty-rate result. */
typedef struct {
  double period_s;         /* calc-time */
  double dirty_rate_mib_s; /* dirty-rate as reported */
  double dirty_pages;      /* distinct pages dirtied in the period, whole guest
                              (rounding of dirty-rate undone, see above) */
  uint64_t sample_pages;   /* sampled pages per GiB (page-sampling), else 0 */
  char mode[16];           /* page-sampling, dirty-bitmap, dirty-ring */
} wl_dirty_result;

/* Reads one DirtyRateInfo object (or a QMP answer {"return": {...}}).
 * SIM_EFORMAT with the reason when it is not a measured result (status
 * other than "measured", no dirty-rate, calc-time missing or <= 0). */
int wl_dirty_result_parse(const json_t *info, uint32_t page_size, wl_dirty_result *out);

/* One point of an imported curve: the mean over the results that measured
 * the same period. */
typedef struct {
  double period_s;
  double dirty_pages;
  unsigned results; /* how many measurements were averaged */
} wl_curve_point;

/* Reads a file of measurements and returns its points sorted by period
 * (*points is malloc'd; free it). Two formats, told apart by the first
 * non-blank character:
 *   JSON: DirtyRateInfo objects or QMP answers, alone, in a JSON array,
 *         or several one after another (a captured QMP session);
 *   CSV:  `period,dirty_pages` or `period,dirty_rate` rows (header
 *         optional, `#` comments); a period is a duration (bare: seconds),
 *         dirty_pages a page count or a size (120MiB), dirty_rate MiB/s as
 *         QEMU reports it (a bare number, or with a rate unit).
 * Errors name the file, the record and what was wrong. */
int wl_curve_import(const char *path, uint32_t page_size, wl_curve_point **points, size_t *n);

/* Formats points as "curve:points=1s@120832+10s@458752" (pages rounded to
 * whole pages; periods in s or ms) plus ",rate=R" when rate > 0 and
 * ",wss=W" when wss > 0. *out is malloc'd. */
int wl_curve_spec_format(const wl_curve_point *points, size_t n, double rate, uint64_t wss,
                         char **out);

#endif
