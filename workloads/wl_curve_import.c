/* wl_curve_import: QEMU calc-dirty-rate results (JSON) or a CSV of
 * measured periods turned into dirty-curve points. See wl_curve_import.h
 * for the conversion and docs/workloads.md for what QEMU's numbers mean. */
#include "wl_curve_import.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_units.h"

/* Files larger than this are not measurement logs. */
#define WL__IMPORT_MAX_BYTES (64u << 20)

int wl_dirty_result_parse(const json_t *info, uint32_t page_size, wl_dirty_result *out) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(info)) return sim_errorf(SIM_EFORMAT, "not a JSON object");
  const json_t *ret = json_object_get(info, "return");
  if (ret) info = ret;
  if (!json_is_object(info)) return sim_errorf(SIM_EFORMAT, "\"return\" is not an object");
  const json_t *status = json_object_get(info, "status");
  if (status && (!json_is_string(status) || strcmp(json_string_value(status), "measured")))
    return sim_errorf(SIM_EFORMAT, "status is %s, not \"measured\"",
                      json_is_string(status) ? json_string_value(status) : "not a string");
  const json_t *rate = json_object_get(info, "dirty-rate");
  const json_t *calc = json_object_get(info, "calc-time");
  if (!json_is_number(rate))
    return sim_errorf(SIM_EFORMAT, "no \"dirty-rate\" (the measurement has not finished)");
  if (!json_is_number(calc) || json_number_value(calc) <= 0)
    return sim_errorf(SIM_EFORMAT, "\"calc-time\" is missing or not a positive number");
  out->period_s = json_number_value(calc);
  out->dirty_rate_mib_s = json_number_value(rate);
  if (out->dirty_rate_mib_s < 0) return sim_errorf(SIM_EFORMAT, "\"dirty-rate\" is negative");
  /* MiB: QEMU shifts bytes right by 20 and divides in integers, so the
   * true rate lies in [rate, rate + 1) MiB/s; the middle of that interval
   * removes the rounding's bias (a rate of 0 stays 0: nothing was
   * dirtied, or less than 1 MiB/s). docs/workloads.md has the details. */
  double mib_s = out->dirty_rate_mib_s > 0 ? out->dirty_rate_mib_s + 0.5 : 0.0;
  out->dirty_pages = mib_s * out->period_s * 1048576.0 / page_size;
  const json_t *mode = json_object_get(info, "mode");
  snprintf(out->mode, sizeof out->mode, "%s",
           json_is_string(mode) ? json_string_value(mode) : "page-sampling");
  const json_t *samples = json_object_get(info, "sample-pages");
  if (json_is_integer(samples) && json_integer_value(samples) > 0 &&
      strcmp(out->mode, "page-sampling") == 0)
    out->sample_pages = (uint64_t)json_integer_value(samples);
  return 0;
}

static int wl__read_all(const char *path, char **text, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return sim_errorf(SIM_EIO, "%s: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  int rc = 0;
  while (buf) {
    if (n == cap) {
      if (cap >= WL__IMPORT_MAX_BYTES) {
        rc = sim_errorf(SIM_ERANGE, "%s: larger than %u MiB", path, WL__IMPORT_MAX_BYTES >> 20);
        break;
      }
      char *bigger = realloc(buf, 2 * cap + 1);
      if (!bigger) break;
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) rc = sim_errorf(SIM_EIO, "%s: %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (!buf) return sim_errorf(SIM_ENOMEM, "out of memory");
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

/* A growing list of raw measurements (one per result or CSV row). */
typedef struct {
  wl_curve_point *p;
  size_t n, cap;
} wl__points;

static int wl__points_add(wl__points *l, double period_s, double pages) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    wl_curve_point *bigger = realloc(l->p, cap * sizeof *bigger);
    if (!bigger) return sim_errorf(SIM_ENOMEM, "out of memory");
    l->p = bigger;
    l->cap = cap;
  }
  l->p[l->n++] = (wl_curve_point){period_s, pages, 1};
  return 0;
}

static int wl__import_json_value(const char *path, size_t index, const json_t *v,
                                 uint32_t page_size, wl__points *l) {
  if (json_is_array(v)) {
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      int rc = wl__import_json_value(path, index + i, item, page_size, l);
      if (rc) return rc;
    }
    return 0;
  }
  /* A captured session also holds the greeting, capability answers,
   * events and calc-dirty-rate's empty answer: only results count. */
  const json_t *body = json_object_get(v, "return");
  if (!json_is_object(v) || json_object_get(v, "QMP") || json_object_get(v, "event") ||
      (body && !json_object_get(body, "calc-time")))
    return 0;
  wl_dirty_result r;
  int rc = wl_dirty_result_parse(v, page_size, &r);
  if (rc) {
    char detail[200];
    snprintf(detail, sizeof detail, "%s", sim_error_message());
    return sim_errorf(SIM_EFORMAT, "%s: JSON value %zu: %s", path, index + 1, detail);
  }
  return wl__points_add(l, r.period_s, r.dirty_pages);
}

static int wl__import_json(const char *path, const char *text, size_t len, uint32_t page_size,
                           wl__points *l) {
  size_t pos = 0, index = 0;
  while (pos < len) {
    while (pos < len && isspace((unsigned char)text[pos])) pos++;
    if (pos == len) break;
    json_error_t err;
    json_t *v = json_loadb(text + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &err);
    if (!v) {
      /* jansson counts lines from the start of this value. */
      int line = err.line;
      for (size_t i = 0; i < pos; i++) line += text[i] == '\n';
      return sim_errorf(SIM_EFORMAT, "%s: line %d: %s", path, line, err.text);
    }
    int rc = wl__import_json_value(path, index, v, page_size, l);
    json_decref(v);
    if (rc) return rc;
    pos += (size_t)err.position;
    index++;
  }
  return 0;
}

/* Splits a CSV line (no quoting needed for these files) into at most two
 * trimmed fields; returns the number of fields. */
static size_t wl__csv_fields(char *line, char **f) {
  size_t n = 0;
  for (char *c = line; n < 3;) {
    while (*c == ' ' || *c == '\t') c++;
    f[n++] = c;
    char *comma = strchr(c, ',');
    char *end = comma ? comma : c + strlen(c);
    while (end > c && isspace((unsigned char)end[-1])) end--;
    *end = '\0';
    if (!comma) break;
    c = comma + 1;
  }
  return n;
}

static int wl__import_csv(const char *path, char *text, uint32_t page_size, wl__points *l) {
  enum { PAGES, RATE } kind = PAGES;
  size_t line_no = 0;
  int header_seen = 0;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = '\0';
    line_no++;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *f[3];
    size_t nf = wl__csv_fields(line, f);
    line = next;
    if (nf == 1 && f[0][0] == '\0') continue;
    if (nf != 2)
      return sim_errorf(SIM_EFORMAT, "%s: line %zu: expected 2 fields (period, dirty pages "
                        "or dirty rate), got %zu", path, line_no, nf);
    if (!header_seen && isalpha((unsigned char)f[0][0])) {
      header_seen = 1;
      if (strcmp(f[1], "dirty_pages") == 0) kind = PAGES;
      else if (strcmp(f[1], "dirty_rate") == 0 || strcmp(f[1], "dirty-rate") == 0) kind = RATE;
      else
        return sim_errorf(SIM_EFORMAT, "%s: line %zu: second column is '%.40s', expected "
                          "dirty_pages or dirty_rate", path, line_no, f[1]);
      continue;
    }
    header_seen = 1;
    uint64_t period_ns;
    int rc = sim_parse_duration(f[0], SIM_NS_PER_S, &period_ns);
    if (!rc && period_ns == 0) rc = sim_errorf(SIM_ERANGE, "period must be > 0");
    double pages = 0;
    if (!rc && kind == PAGES) {
      uint64_t v;
      if (strspn(f[1], "0123456789.eE+-") == strlen(f[1])) {
        rc = sim_parse_double(f[1], &pages);
        if (!rc && pages < 0) rc = sim_errorf(SIM_ERANGE, "dirty pages must be >= 0");
      } else if (!(rc = sim_parse_bytes(f[1], page_size, &v))) {
        pages = (double)v / page_size;
      }
    } else if (!rc) {
      sim_rate r;
      /* A bare number is MiB/s, as query-dirty-rate reports it. */
      if (strspn(f[1], "0123456789.eE+-") == strlen(f[1])) {
        rc = sim_parse_double(f[1], &r.value);
        r.value *= 1048576.0;
        r.kind = SIM_RATE_BYTES;
      } else {
        rc = sim_parse_rate(f[1], SIM_RATE_BYTES, &r);
      }
      if (!rc) pages = sim_rate_pages_per_s(r, page_size) * (double)period_ns / 1e9;
      if (!rc && pages < 0) rc = sim_errorf(SIM_ERANGE, "dirty rate must be >= 0");
    }
    if (rc) {
      char detail[200];
      snprintf(detail, sizeof detail, "%s", sim_error_message());
      return sim_errorf(rc, "%s: line %zu: %s", path, line_no, detail);
    }
    if ((rc = wl__points_add(l, (double)period_ns / 1e9, pages))) return rc;
  }
  return 0;
}

static int wl__cmp_period(const void *a, const void *b) {
  double x = ((const wl_curve_point *)a)->period_s, y = ((const wl_curve_point *)b)->period_s;
  return x < y ? -1 : x > y;
}

int wl_curve_import(const char *path, uint32_t page_size, wl_curve_point **points, size_t *n) {
  *points = NULL;
  *n = 0;
  char *text = NULL;
  size_t len = 0;
  int rc = wl__read_all(path, &text, &len);
  if (rc) return rc;
  wl__points l = {0};
  size_t first = strspn(text, " \t\r\n");
  if (text[first] == '{' || text[first] == '[')
    rc = wl__import_json(path, text, len, page_size, &l);
  else
    rc = wl__import_csv(path, text, page_size, &l);
  free(text);
  if (!rc && l.n == 0)
    rc = sim_errorf(SIM_EFORMAT, "%s: no measurements (expected query-dirty-rate results or "
                    "period,dirty_pages rows)", path);
  if (rc) {
    free(l.p);
    return rc;
  }
  /* Same period: one point, the mean of its measurements. The sort is
   * stable enough for equal keys: they are merged anyway. */
  qsort(l.p, l.n, sizeof *l.p, wl__cmp_period);
  size_t out = 0;
  for (size_t i = 0; i < l.n; i++) {
    if (out && fabs(l.p[out - 1].period_s - l.p[i].period_s) < 1e-9) {
      wl_curve_point *q = &l.p[out - 1];
      q->dirty_pages = (q->dirty_pages * q->results + l.p[i].dirty_pages) / (q->results + 1);
      q->results++;
    } else {
      l.p[out++] = l.p[i];
    }
  }
  *points = l.p;
  *n = out;
  return 0;
}

int wl_curve_spec_format(const wl_curve_point *points, size_t n, double rate, uint64_t wss,
                         char **out) {
  size_t cap = 64 + 48 * n, len = 0;
  char *s = malloc(cap);
  if (!s) return sim_errorf(SIM_ENOMEM, "out of memory");
  len += (size_t)snprintf(s, cap, "curve:points=");
  for (size_t i = 0; i < n; i++) {
    double t = points[i].period_s;
    double ms = t * 1000.0;
    if (fabs(ms - floor(ms + 0.5)) < 1e-6 && fmod(floor(ms + 0.5), 1000.0) != 0.0)
      len += (size_t)snprintf(s + len, cap - len, "%s%.0fms", i ? "+" : "", ms);
    else
      len += (size_t)snprintf(s + len, cap - len, "%s%.9gs", i ? "+" : "", t);
    len += (size_t)snprintf(s + len, cap - len, "@%.0f", floor(points[i].dirty_pages + 0.5));
  }
  if (rate > 0) len += (size_t)snprintf(s + len, cap - len, ",rate=%.0f", rate);
  if (wss > 0) len += (size_t)snprintf(s + len, cap - len, ",wss=%llu", (unsigned long long)wss);
  (void)len;
  *out = s;
  return 0;
}
