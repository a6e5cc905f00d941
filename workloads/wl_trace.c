/* wl_trace: trace metadata, page ranges and the generic source wrapper. */
#include "wl_trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_err.h"
#include "wl_gen.h"
#include "wl_internal.h"

/* ---------------------------------------------------------------- meta */

void wl_meta_init(wl_meta *m) {
  memset(m, 0, sizeof *m);
  m->page_size = WL_DEFAULT_PAGE_SIZE;
}

void wl_meta_free(wl_meta *m) {
  if (!m) return;
  for (size_t i = 0; i < m->kv_count; i++) {
    free(m->kv[i].key);
    free(m->kv[i].value);
  }
  free(m->kv);
  free(m->nonzero);
  wl_meta_init(m);
}

const char *wl_meta_get(const wl_meta *m, const char *key) {
  for (size_t i = 0; i < m->kv_count; i++)
    if (m->kv[i].value && strcmp(m->kv[i].key, key) == 0) return m->kv[i].value;
  return NULL;
}

static int wl__parse_u64(const char *key, const char *value, uint64_t *out) {
  if (!value || !*value)
    return sim_errorf(SIM_EFORMAT, "metadata %s has no value", key);
  char *end = NULL;
  errno = 0;
  /* strtoull would skip blanks and accept a sign ("-1" as 2^64-1). */
  if (*value < '0' || *value > '9')
    return sim_errorf(SIM_EFORMAT, "metadata %s=%s: expected a non-negative integer", key, value);
  unsigned long long v = strtoull(value, &end, 10);
  if (errno == ERANGE || *end != '\0')
    return sim_errorf(SIM_EFORMAT, "metadata %s=%s: expected a non-negative integer", key, value);
  *out = v;
  return 0;
}

/* Applies a known key to the typed fields; unknown keys are accepted. */
static int wl__meta_apply(wl_meta *m, const char *key, const char *value) {
  uint64_t v;
  int rc;
  if (strcmp(key, "pages") == 0) {
    if ((rc = wl__parse_u64(key, value, &v))) return rc;
    if (v == 0 || v > WL_MAX_PAGES)
      return sim_errorf(SIM_ERANGE, "metadata pages=%s: expected 1..%llu", value,
                        (unsigned long long)WL_MAX_PAGES);
    m->pages = v;
  } else if (strcmp(key, "page_size") == 0) {
    if ((rc = wl__parse_u64(key, value, &v))) return rc;
    if (v < 512 || v > WL_MAX_PAGE_SIZE || (v & (v - 1)))
      return sim_errorf(SIM_ERANGE,
                        "metadata page_size=%s: expected a power of two in 512..%u",
                        value, WL_MAX_PAGE_SIZE);
    m->page_size = (uint32_t)v;
  } else if (strcmp(key, "duration_ns") == 0) {
    if ((rc = wl__parse_u64(key, value, &v))) return rc;
    m->duration_ns = v;
  } else if (strcmp(key, "nonzero") == 0) {
    /* Ranges are checked against pages by wl_meta_validate_nonzero once the
     * whole header is known (pages may come after nonzero). */
    wl_range *r = NULL;
    size_t n = 0;
    if ((rc = wl_ranges_parse(value ? value : "", UINT64_MAX, &r, &n))) return rc;
    free(m->nonzero);
    m->nonzero = r;
    m->nonzero_count = n;
  }
  return 0;
}

int wl_meta_set(wl_meta *m, const char *key, const char *value) {
  int rc = value ? wl__meta_apply(m, key, value) : 0;
  if (rc) return rc;
  if (value) {
    for (size_t i = 0; i < m->kv_count; i++) {
      if (m->kv[i].value && strcmp(m->kv[i].key, key) == 0) {
        char *copy = strdup(value);
        if (!copy) return sim_errorf(SIM_ENOMEM, "out of memory");
        free(m->kv[i].value);
        m->kv[i].value = copy;
        return 0;
      }
    }
  }
  if (m->kv_count >= WL_MAX_KV)
    return sim_errorf(SIM_ERANGE, "more than %u metadata lines", WL_MAX_KV);
  wl_kv *grown = realloc(m->kv, (m->kv_count + 1) * sizeof *grown);
  if (!grown) return sim_errorf(SIM_ENOMEM, "out of memory");
  m->kv = grown;
  wl_kv *kv = &m->kv[m->kv_count];
  kv->key = strdup(key);
  kv->value = value ? strdup(value) : NULL;
  if (!kv->key || (value && !kv->value)) {
    free(kv->key);
    free(kv->value);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  m->kv_count++;
  return 0;
}

static int wl__range_cmp(const void *a, const void *b) {
  const wl_range *x = a, *y = b;
  return x->first < y->first ? -1 : x->first > y->first;
}

size_t wl_ranges_normalize(wl_range *r, size_t n) {
  if (n < 2) return n;
  qsort(r, n, sizeof *r, wl__range_cmp);
  size_t w = 0;
  for (size_t i = 1; i < n; i++) {
    if (r[i].first <= r[w].last + 1) {
      if (r[i].last > r[w].last) r[w].last = r[i].last;
    } else {
      r[++w] = r[i];
    }
  }
  return w + 1;
}

int wl_ranges_parse(const char *text, uint64_t pages, wl_range **ranges,
                    size_t *count) {
  size_t cap = 0, n = 0;
  wl_range *r = NULL;
  const char *p = text;
  while (*p) {
    char *end = NULL;
    if (*p < '0' || *p > '9') goto bad;
    errno = 0;
    unsigned long long first = strtoull(p, &end, 10), last = first;
    if (errno == ERANGE) goto bad;
    p = end;
    if (*p == '-') {
      p++;
      if (*p < '0' || *p > '9') goto bad;
      last = strtoull(p, &end, 10);
      if (errno == ERANGE) goto bad;
      p = end;
    }
    if (*p == ',') {
      p++;
      if (!*p) goto bad;
    } else if (*p) {
      goto bad;
    }
    if (last < first || last >= pages) {
      free(r);
      if (last < first)
        return sim_errorf(SIM_EFORMAT, "nonzero range %llu-%llu is reversed", first, last);
      return sim_errorf(SIM_ERANGE, "nonzero range %llu-%llu exceeds pages=%llu",
                        first, last, (unsigned long long)pages);
    }
    if (n == cap) {
      if (cap >= WL_MAX_NONZERO_RANGES) goto bad;
      cap = cap ? cap * 2 : 8;
      wl_range *g = realloc(r, cap * sizeof *g);
      if (!g) {
        free(r);
        return sim_errorf(SIM_ENOMEM, "out of memory parsing nonzero ranges");
      }
      r = g;
    }
    r[n].first = first;
    r[n].last = last;
    n++;
  }
  n = wl_ranges_normalize(r, n);
  *ranges = r;
  *count = n;
  return 0;
bad:
  free(r);
  return sim_errorf(SIM_EFORMAT, "nonzero='%.60s': expected ranges like 0-65535,70000", text);
}

int wl_ranges_format(const wl_range *ranges, size_t count, char **out) {
  size_t cap = count * 42 + 1, len = 0;
  char *s = malloc(cap);
  if (!s) return sim_errorf(SIM_ENOMEM, "out of memory");
  s[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    const char *sep = i ? "," : "";
    if (ranges[i].first == ranges[i].last)
      len += (size_t)snprintf(s + len, cap - len, "%s%" PRIu64, sep, ranges[i].first);
    else
      len += (size_t)snprintf(s + len, cap - len, "%s%" PRIu64 "-%" PRIu64, sep,
                              ranges[i].first, ranges[i].last);
  }
  *out = s;
  return 0;
}

int wl_meta_set_nonzero(wl_meta *m, const wl_range *ranges, size_t count) {
  char *text = NULL;
  int rc = wl_ranges_format(ranges, count, &text);
  if (rc) return rc;
  rc = wl_meta_set(m, "nonzero", text);
  free(text);
  return rc;
}

uint64_t wl_meta_nonzero_pages(const wl_meta *m) {
  uint64_t n = 0;
  for (size_t i = 0; i < m->nonzero_count; i++)
    n += m->nonzero[i].last - m->nonzero[i].first + 1;
  return n;
}

int wl_meta_validate(const wl_meta *m) {
  if (m->pages == 0) return sim_errorf(SIM_EFORMAT, "trace header lacks pages=N");
  if (m->nonzero_count && m->nonzero[m->nonzero_count - 1].last >= m->pages)
    return sim_errorf(SIM_ERANGE, "nonzero page %llu is outside pages=%llu",
                      (unsigned long long)m->nonzero[m->nonzero_count - 1].last,
                      (unsigned long long)m->pages);
  return 0;
}

uint64_t wl_meta_period(const wl_meta *m, uint64_t last_event_ns) {
  if (m->duration_ns > last_event_ns) return m->duration_ns;
  return last_event_ns + 1;
}

/* ------------------------------------------------------------- sources */

struct wl_source {
  const wl_source_ops *ops;
  void *state;
  wl_meta meta;
  uint64_t disk_bytes;
  int error; /* sticky: once a read fails, every later read fails the same */
};

int wl__source_new(const wl_source_ops *ops, void *state, wl_meta *meta,
                   uint64_t disk_bytes, wl_source **out) {
  wl_source *s = calloc(1, sizeof *s);
  if (!s) {
    ops->close(state);
    wl_meta_free(meta);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  s->ops = ops;
  s->state = state;
  s->meta = *meta;
  wl_meta_init(meta);
  s->disk_bytes = disk_bytes;
  *out = s;
  return 0;
}

const wl_meta *wl_source_meta(const wl_source *s) { return &s->meta; }

uint64_t wl_source_disk_bytes(const wl_source *s) { return s->disk_bytes; }

long wl_source_read(wl_source *s, wl_event *buf, size_t max) {
  if (s->error) return s->error;
  long n = s->ops->read(s->state, buf, max);
  if (n < 0) s->error = (int)n;
  return n;
}

int wl_source_rewind(wl_source *s) {
  if (s->error) return s->error;
  int rc = s->ops->rewind(s->state);
  if (rc) s->error = rc;
  return rc;
}

int wl_source_seek(wl_source *s, uint64_t time_ns) {
  if (s->error) return s->error;
  if (s->ops->seek) {
    int rc = s->ops->seek(s->state, time_ns);
    if (rc) s->error = rc;
    return rc;
  }
  return sim_errorf(SIM_EUNSUPPORTED, "source '%s' cannot seek", s->ops->name);
}

void wl_source_close(wl_source *s) {
  if (!s) return;
  s->ops->close(s->state);
  wl_meta_free(&s->meta);
  free(s);
}

int wl_source_open(const char *spec, const wl_open_opts *opts, wl_source **out) {
  if (wl_gen_is_spec(spec)) {
    if (!opts || opts->pages == 0)
      return sim_errorf(SIM_EINVAL,
                        "workload '%s' is a generator: give the guest size (--pages or --memory)",
                        spec);
    return wl_gen_open(spec, opts, out);
  }
  FILE *f = fopen(spec, "rb");
  if (!f) {
    const char *near = errno == ENOENT ? wl_gen_suggest(spec) : NULL;
    if (near)
      return sim_errorf(SIM_EIO, "no trace file '%s' and no generator '%.*s': did you mean '%s'?", spec,
                        (int)strcspn(spec, ":"), spec, near);
    return sim_errorf(SIM_EIO, "cannot open trace %s: %s", spec, strerror(errno));
  }
  char head[WL_BIN_MAGIC_LEN];
  size_t got = fread(head, 1, sizeof head, f);
  rewind(f);
  if (got == WL_BIN_MAGIC_LEN && memcmp(head, WL_BIN_MAGIC, WL_BIN_MAGIC_LEN) == 0)
    return wl__bin_open(spec, f, out);
  if (got >= 8 && memcmp(head, WL_CSV_MAGIC, 8) == 0) return wl__csv_open(spec, f, out);
  fclose(f);
  return sim_errorf(SIM_EFORMAT,
                    "%s: not a migsim trace (expected a binary trace or a CSV "
                    "starting with '%s')",
                    spec, WL_CSV_MAGIC);
}

/* --------------------------------------------------------------- copy */

wl_format wl_format_for_path(const char *path) {
  size_t n = strlen(path);
  return (n >= 4 && strcmp(path + n - 4, ".csv") == 0) ? WL_FORMAT_CSV : WL_FORMAT_BINARY;
}

int wl_copy(wl_source *src, const char *path, wl_format format) {
  enum { BATCH = 4096 };
  wl_writer *w = NULL;
  int rc = wl_writer_open(path, format, wl_source_meta(src), &w);
  if (rc) return rc;
  wl_event *buf = malloc(BATCH * sizeof *buf);
  if (!buf) {
    wl_writer_abort(w);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  for (;;) {
    long n = wl_source_read(src, buf, BATCH);
    if (n < 0) {
      rc = (int)n;
      break;
    }
    if (n == 0) break;
    if ((rc = wl_writer_write(w, buf, (size_t)n))) break;
  }
  free(buf);
  if (rc) {
    wl_writer_abort(w);
    return rc;
  }
  return wl_writer_close(w);
}
