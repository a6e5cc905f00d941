/* sim_units: unit-aware number parsing. Table-driven: one table per kind of
 * quantity, one generic scanner. */
#include "sim_units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"

typedef struct {
  const char *name;
  double factor;
} sim__unit;

static const sim__unit sim__size_units[] = {
    {"", 1.0},          {"B", 1.0},
    {"KiB", 1024.0},    {"MiB", 1048576.0},
    {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
    {"K", 1024.0},      {"M", 1048576.0},
    {"G", 1073741824.0}, {"T", 1099511627776.0},
    {"KB", 1e3},        {"MB", 1e6},
    {"GB", 1e9},        {"TB", 1e12},
    {NULL, 0}};

static const sim__unit sim__duration_units[] = {
    {"ns", 1.0},  {"us", 1e3},   {"ms", 1e6},   {"s", 1e9},
    {"sec", 1e9}, {"min", 60e9}, {"h", 3600e9}, {NULL, 0}};

static const sim__unit sim__byte_rate_units[] = {
    {"B/s", 1.0},          {"KiB/s", 1024.0},
    {"MiB/s", 1048576.0},  {"GiB/s", 1073741824.0},
    {"KB/s", 1e3},         {"MB/s", 1e6},
    {"GB/s", 1e9},         {"bit/s", 1.0 / 8},
    {"bps", 1.0 / 8},      {"kbit/s", 1e3 / 8},
    {"Kbit/s", 1e3 / 8},   {"Mbit/s", 1e6 / 8},
    {"Gbit/s", 1e9 / 8},   {"kbps", 1e3 / 8},
    {"Mbps", 1e6 / 8},     {"Gbps", 1e9 / 8},
    {NULL, 0}};

static const sim__unit sim__page_rate_units[] = {
    {"pages/s", 1.0}, {"page/s", 1.0}, {"p/s", 1.0}, {"pps", 1.0}, {NULL, 0}};

/* Splits text into a finite non-negative number and a unit suffix (leading
 * blanks of the suffix skipped). */
static int sim__split(const char *text, const char *what, double *number,
                      const char **suffix) {
  if (text == NULL || *text == '\0')
    return sim_errorf(SIM_EINVAL, "empty %s", what);
  errno = 0;
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || errno == ERANGE || !isfinite(v))
    return sim_errorf(SIM_EINVAL, "'%s' is not a valid %s", text, what);
  if (v < 0)
    return sim_errorf(SIM_ERANGE, "%s '%s' must not be negative", what, text);
  while (*end == ' ') end++;
  *number = v;
  *suffix = end;
  return 0;
}

static const sim__unit *sim__find(const sim__unit *table, const char *name) {
  for (; table->name; table++)
    if (strcmp(table->name, name) == 0) return table;
  return NULL;
}

/* Rounds v (finite, >= 0) to the nearest integer. Values of 2^64 and more
 * are refused rather than clamped or converted (the cast would be
 * undefined behaviour). */
static int sim__to_u64(double v, const char *text, const char *what,
                       uint64_t *out) {
  double r = nearbyint(v);
  if (!(r < 18446744073709551616.0))
    return sim_errorf(SIM_ERANGE, "%s '%s' is too large (more than 2^64-1)", what, text);
  *out = (uint64_t)r;
  return 0;
}

int sim_parse_bytes(const char *text, uint64_t page_size, uint64_t *bytes) {
  double v = 0;
  const char *suffix = "";
  int rc = sim__split(text, "size", &v, &suffix);
  if (rc) return rc;
  const sim__unit *u = sim__find(sim__size_units, suffix);
  if (u) return sim__to_u64(v * u->factor, text, "size", bytes);
  if (page_size > 0 && (strcmp(suffix, "pages") == 0 ||
                        strcmp(suffix, "page") == 0 || strcmp(suffix, "p") == 0))
    return sim__to_u64(v * (double)page_size, text, "size", bytes);
  return sim_errorf(SIM_EUNIT,
                    "unknown size unit '%s' in '%s' (use B, KiB, MiB, GiB, "
                    "TiB, KB, MB, GB or pages)",
                    suffix, text);
}

int sim_parse_duration(const char *text, uint64_t bare_unit_ns, uint64_t *ns) {
  double v = 0;
  const char *suffix = "";
  int rc = sim__split(text, "duration", &v, &suffix);
  if (rc) return rc;
  if (*suffix == '\0') return sim__to_u64(v * (double)bare_unit_ns, text, "duration", ns);
  const sim__unit *u = sim__find(sim__duration_units, suffix);
  if (!u)
    return sim_errorf(SIM_EUNIT,
                      "unknown duration unit '%s' in '%s' (use ns, us, ms, "
                      "s, min or h)",
                      suffix, text);
  return sim__to_u64(v * u->factor, text, "duration", ns);
}

int sim_parse_rate(const char *text, sim_rate_kind bare_kind, sim_rate *rate) {
  double v = 0;
  const char *suffix = "";
  int rc = sim__split(text, "rate", &v, &suffix);
  if (rc) return rc;
  if (*suffix == '\0') {
    rate->value = v;
    rate->kind = bare_kind;
    return 0;
  }
  const sim__unit *u = sim__find(sim__byte_rate_units, suffix);
  if (u) {
    rate->value = v * u->factor;
    rate->kind = SIM_RATE_BYTES;
    return 0;
  }
  u = sim__find(sim__page_rate_units, suffix);
  if (u) {
    rate->value = v * u->factor;
    rate->kind = SIM_RATE_PAGES;
    return 0;
  }
  return sim_errorf(SIM_EUNIT,
                    "unknown rate unit '%s' in '%s' (use pages/s, B/s, "
                    "KiB/s, MiB/s, GiB/s, Mbit/s, Gbit/s, ...)",
                    suffix, text);
}

double sim_rate_bytes_per_s(sim_rate rate, uint64_t page_size) {
  return rate.kind == SIM_RATE_BYTES ? rate.value
                                     : rate.value * (double)page_size;
}

double sim_rate_pages_per_s(sim_rate rate, uint64_t page_size) {
  return rate.kind == SIM_RATE_PAGES ? rate.value
                                     : rate.value / (double)page_size;
}

int sim_parse_count(const char *text, uint64_t *count) {
  static const sim__unit count_units[] = {
      {"", 1.0}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {NULL, 0}};
  /* Plain digits are read exactly (a seed of 2^53 + 1 stays itself). */
  if (text && *text >= '0' && *text <= '9' && text[strspn(text, "0123456789")] == '\0') {
    errno = 0;
    unsigned long long exact = strtoull(text, NULL, 10);
    if (errno == ERANGE)
      return sim_errorf(SIM_ERANGE, "count '%s' is too large (more than 2^64-1)", text);
    *count = exact;
    return 0;
  }
  double v = 0;
  const char *suffix = "";
  int rc = sim__split(text, "count", &v, &suffix);
  if (rc) return rc;
  const sim__unit *u = sim__find(count_units, suffix);
  if (!u)
    return sim_errorf(SIM_EUNIT, "unknown count suffix '%s' in '%s'", suffix,
                      text);
  v *= u->factor;
  if (v != floor(v))
    return sim_errorf(SIM_EINVAL, "count '%s' is not a whole number", text);
  /* Above 2^53 a double no longer holds every integer: "1e16" or
   * "9007199254740993.0" may not be the number that was meant. */
  if (v > 9007199254740992.0)
    return sim_errorf(SIM_ERANGE,
                      "count '%s' is not exact in this notation above 2^53; write it in plain digits",
                      text);
  return sim__to_u64(v, text, "count", count);
}

int sim_parse_double(const char *text, double *value) {
  if (text == NULL || *text == '\0')
    return sim_errorf(SIM_EINVAL, "empty number");
  errno = 0;
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
    return sim_errorf(SIM_EINVAL, "'%s' is not a number", text);
  *value = v;
  return 0;
}

int sim_parse_fraction(const char *text, double *fraction) {
  double v = 0;
  const char *suffix = "";
  int rc = sim__split(text, "fraction", &v, &suffix);
  if (rc) return rc;
  if (strcmp(suffix, "%") == 0)
    v /= 100.0;
  else if (*suffix != '\0')
    return sim_errorf(SIM_EUNIT, "fraction '%s' must be like 0.25 or 25%%",
                      text);
  if (v > 1.0)
    return sim_errorf(SIM_ERANGE, "fraction '%s' exceeds 1 (100%%)", text);
  *fraction = v;
  return 0;
}

char *sim_format_bytes(char *buf, size_t len, double bytes) {
  static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t i = 0;
  while (bytes >= 1024.0 && i + 1 < sizeof names / sizeof names[0]) {
    bytes /= 1024.0;
    i++;
  }
  snprintf(buf, len, i == 0 ? "%.0f %s" : "%.2f %s", bytes, names[i]);
  return buf;
}

char *sim_format_duration(char *buf, size_t len, uint64_t ns) {
  double v = (double)ns;
  if (ns < SIM_NS_PER_US)
    snprintf(buf, len, "%.0f ns", v);
  else if (ns < SIM_NS_PER_MS)
    snprintf(buf, len, "%.1f us", v / 1e3);
  else if (ns < SIM_NS_PER_S)
    snprintf(buf, len, "%.1f ms", v / 1e6);
  else
    snprintf(buf, len, "%.3f s", v / 1e9);
  return buf;
}

/* Writes v in the largest unit of `units` that divides it exactly (units
 * ordered from small to large), or in the first unit. */
static void sim__format_exact(char *buf, size_t len, double v, const sim__unit *units) {
  const sim__unit *best = units;
  if (v == 0) {
    snprintf(buf, len, "0");
    return;
  }
  for (const sim__unit *u = units; u->name; u++)
    if (v >= u->factor && fmod(v, u->factor) == 0.0) best = u;
  snprintf(buf, len, "%.15g%s", v / best->factor, best->name);
}

char *sim_format_quantity(char *buf, size_t len, sim_quantity q, double v) {
  static const sim__unit bytes[] = {{"B", 1.0}, {"KiB", 1024.0}, {"MiB", 1048576.0},
                                    {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {NULL, 0}};
  static const sim__unit rates[] = {{"B/s", 1.0}, {"KiB/s", 1024.0}, {"MiB/s", 1048576.0},
                                    {"GiB/s", 1073741824.0}, {"TiB/s", 1099511627776.0}, {NULL, 0}};
  static const sim__unit ns[] = {{"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {NULL, 0}};
  switch (q) {
    case SIM_QTY_BYTES: sim__format_exact(buf, len, v, bytes); break;
    case SIM_QTY_RATE: sim__format_exact(buf, len, v, rates); break;
    case SIM_QTY_NS: sim__format_exact(buf, len, v, ns); break;
    case SIM_QTY_COUNT:
      if (v >= 18446744073709551615.0) snprintf(buf, len, "18446744073709551615");
      else snprintf(buf, len, "%.0f", v);
      break;
    case SIM_QTY_NUMBER: snprintf(buf, len, "%.15g", v); break;
  }
  return buf;
}

char *sim_format_range(char *buf, size_t len, sim_quantity q, double lo, double hi) {
  char a[64], b[64];
  snprintf(buf, len, "%s..%s", sim_format_quantity(a, sizeof a, q, lo),
           sim_format_quantity(b, sizeof b, q, hi));
  return buf;
}
