/* mdl_scenario: scenario parameters (one table), scenario files, results. */
#include "mdl_scenario.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_hist.h"
#include "sim_units.h"
#include "sim_vec.h"

void mdl_scenario_defaults(mdl_scenario *s) {
  memset(s, 0, sizeof *s);
  s->page_size = 4096;
  s->loop = 1;
  snprintf(s->profile, sizeof s->profile, "qemu-7.2");
  s->algo = MDL_ALGO_PRECOPY;
  s->max_bandwidth = 134217728.0; /* QEMU 7.2 default max-bandwidth */
  s->downtime_limit_ns = 300 * SIM_NS_PER_MS;
  s->switch_policy = MDL_SWITCH_SYNCS;
  s->switch_after = 5; /* QEMU's guestperf harness default */
  s->timeout_ns = 60 * SIM_NS_PER_S;
  s->seed = 1;
}

typedef enum { P_TEXT, P_U32, P_U64, P_NS_S, P_NS_MS, P_RATE, P_BOOL, P_ALGO, P_SWITCH, P_MEMORY } p_kind;
typedef struct {
  const char *key;
  p_kind kind;
  size_t offset;
  size_t size; /* for text */
  const char *def;
  const char *doc;
} p_field;

#define T(k, kind, m, def, doc) {k, kind, offsetof(mdl_scenario, m), sizeof(((mdl_scenario *)0)->m), def, doc}
static const p_field mdl__params[] = {
    T("name", P_TEXT, name, "(derived)", "label for tables and plots"),
    T("workload", P_TEXT, workload, "(required)", "trace file or generator spec, e.g. uniform:wss=32768,rate=10000"),
    T("trace", P_TEXT, workload, "", "alias of workload"),
    T("pages", P_U64, pages, "from trace / 131072", "guest pages"),
    T("memory", P_MEMORY, pages, "512MiB", "guest memory (sets pages)"),
    T("page-size", P_U32, page_size, "4096", "page size in bytes"),
    T("duration", P_NS_S, workload_duration_ns, "0 (endless)", "generator length before it loops"),
    T("trace-offset", P_NS_S, trace_offset_ns, "0", "trace time at migration start"),
    T("loop", P_BOOL, loop, "1", "loop a trace shorter than the migration"),
    T("profile", P_TEXT, profile, "qemu-7.2", "hypervisor profile (built-in, shipped or .ini path)"),
    T("algo", P_ALGO, algo, "precopy", "precopy | postcopy | hybrid"),
    T("max-bandwidth", P_RATE, max_bandwidth, "128MiB/s", "hypervisor rate limit (QEMU max-bandwidth)"),
    T("downtime-limit", P_NS_MS, downtime_limit_ns, "300ms", "QEMU downtime-limit (bare number = ms)"),
    T("link", P_RATE, link_bandwidth, "profile", "physical link bandwidth (e.g. 10Gbit/s)"),
    T("latency", P_NS_MS, latency_ns, "0", "one-way link latency (bare number = ms)"),
    T("postcopy-bandwidth", P_RATE, postcopy_bandwidth, "0 (link)", "QEMU max-postcopy-bandwidth"),
    T("switch-policy", P_SWITCH, switch_policy, "syncs", "hybrid switch: syncs | nonconverge | time"),
    T("switch-after", P_U32, switch_after, "5", "hybrid: switch once dirty_sync_count reaches N"),
    T("switch-time", P_NS_S, switch_time_ns, "0", "hybrid: switch at this time (policy time)"),
    T("timeout", P_NS_S, timeout_ns, "60s", "give up (not_converged) after this long"),
    T("seed", P_U64, seed, "1", "seed of every random stream"),
    T("timeline", P_BOOL, timeline, "0", "record a per-window timeline"),
    T("guest-offset", P_U64, guest_offset, "0", "guest page of trace page 0 (trace inside a larger guest)"),
    T("guest-extra-pages", P_U64, guest_extra_pages, "0", "guest pages after the trace's"),
    T("guest-nonzero", P_TEXT, guest_nonzero, "", "extra non-zero guest pages at start, e.g. 256-300"),
};
#undef T

static const char *const mdl__algo_names[] = {"precopy", "postcopy", "hybrid"};
static const char *const mdl__switch_names[] = {"syncs", "nonconverge", "time"};

const char *mdl_algo_name(mdl_algo a) { return mdl__algo_names[a]; }
const char *mdl_switch_policy_name(mdl_switch_policy p) { return mdl__switch_names[p]; }

static const p_field *mdl__find_param(const char *key) {
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++)
    if (strcmp(mdl__params[i].key, key) == 0) return &mdl__params[i];
  /* Accept snake_case too (scenario files written by other tools). */
  char dashed[64];
  snprintf(dashed, sizeof dashed, "%s", key);
  for (char *p = dashed; *p; p++)
    if (*p == '_') *p = '-';
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++)
    if (strcmp(mdl__params[i].key, dashed) == 0) return &mdl__params[i];
  return NULL;
}

int mdl_scenario_set(mdl_scenario *s, const char *key, const char *value) {
  const p_field *f = mdl__find_param(key);
  if (!f) return sim_errorf(SIM_ENOTFOUND, "unknown scenario parameter '%s'", key);
  char *at = (char *)s + f->offset;
  uint64_t u;
  sim_rate r;
  int rc = 0;
  switch (f->kind) {
    case P_TEXT:
      if (strlen(value) >= f->size)
        return sim_errorf(SIM_ERANGE, "%s: value longer than %zu characters", key, f->size - 1);
      memcpy(at, value, strlen(value) + 1);
      return 0;
    case P_U32:
      if ((rc = sim_parse_count(value, &u))) break;
      if (u > UINT32_MAX) return sim_errorf(SIM_ERANGE, "%s=%s is too large", key, value);
      *(uint32_t *)(void *)at = (uint32_t)u;
      return 0;
    case P_U64:
      if ((rc = sim_parse_count(value, &u))) break;
      *(uint64_t *)(void *)at = u;
      return 0;
    case P_MEMORY:
      if ((rc = sim_parse_bytes(value, s->page_size, &u))) break;
      if (u == 0 || u % s->page_size)
        return sim_errorf(SIM_ERANGE, "memory=%s must be a positive multiple of the page size (%u)",
                          value, s->page_size);
      s->pages = u / s->page_size;
      return 0;
    case P_NS_S:
      if ((rc = sim_parse_duration(value, SIM_NS_PER_S, &u))) break;
      *(uint64_t *)(void *)at = u;
      return 0;
    case P_NS_MS:
      if ((rc = sim_parse_duration(value, SIM_NS_PER_MS, &u))) break;
      *(uint64_t *)(void *)at = u;
      return 0;
    case P_RATE:
      if ((rc = sim_parse_rate(value, SIM_RATE_BYTES, &r))) break;
      *(double *)(void *)at = sim_rate_bytes_per_s(r, s->page_size);
      return 0;
    case P_BOOL:
      if (!strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on"))
        *(int *)(void *)at = 1;
      else if (!strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off"))
        *(int *)(void *)at = 0;
      else
        return sim_errorf(SIM_EINVAL, "%s=%s: expected yes or no", key, value);
      return 0;
    case P_ALGO:
      for (int i = 0; i < 3; i++)
        if (!strcmp(value, mdl__algo_names[i])) {
          s->algo = (mdl_algo)i;
          return 0;
        }
      return sim_errorf(SIM_EINVAL, "algo=%s: expected precopy, postcopy or hybrid", value);
    case P_SWITCH:
      for (int i = 0; i < 3; i++)
        if (!strcmp(value, mdl__switch_names[i])) {
          s->switch_policy = (mdl_switch_policy)i;
          return 0;
        }
      return sim_errorf(SIM_EINVAL, "switch-policy=%s: expected syncs, nonconverge or time", value);
  }
  return sim_errorf(rc, "%s: %s", key, sim_error_message());
}

void mdl_scenario_get(const mdl_scenario *s, const char *key, char *buf, size_t len) {
  const p_field *f = mdl__find_param(key);
  if (!f) {
    if (len) buf[0] = '\0';
    return;
  }
  const char *at = (const char *)s + f->offset;
  switch (f->kind) {
    case P_TEXT: snprintf(buf, len, "%s", at); break;
    case P_U32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)(const void *)at); break;
    case P_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)(const void *)at); break;
    case P_MEMORY: snprintf(buf, len, "%" PRIu64, s->pages * s->page_size); break;
    case P_NS_S: snprintf(buf, len, "%.9g", (double)*(const uint64_t *)(const void *)at / 1e9); break;
    case P_NS_MS: snprintf(buf, len, "%.6g", (double)*(const uint64_t *)(const void *)at / 1e6); break;
    case P_RATE: snprintf(buf, len, "%.10g", *(const double *)(const void *)at); break;
    case P_BOOL: snprintf(buf, len, "%d", *(const int *)(const void *)at); break;
    case P_ALGO: snprintf(buf, len, "%s", mdl_algo_name(s->algo)); break;
    case P_SWITCH: snprintf(buf, len, "%s", mdl_switch_policy_name(s->switch_policy)); break;
  }
}

int mdl_scenario_validate(const mdl_scenario *s) {
  if (!s->workload[0]) return sim_errorf(SIM_EINVAL, "no workload: give --workload SPEC or --trace FILE");
  if (s->page_size < 512 || (s->page_size & (s->page_size - 1)))
    return sim_errorf(SIM_ERANGE, "page-size=%u: expected a power of two >= 512", s->page_size);
  if (!(s->max_bandwidth > 0)) return sim_errorf(SIM_ERANGE, "max-bandwidth must be > 0");
  if (s->link_bandwidth < 0 || s->postcopy_bandwidth < 0)
    return sim_errorf(SIM_ERANGE, "bandwidths must not be negative");
  if (s->timeout_ns == 0) return sim_errorf(SIM_ERANGE, "timeout must be > 0");
  if (s->algo == MDL_ALGO_HYBRID && s->switch_policy == MDL_SWITCH_SYNCS && s->switch_after < 1)
    return sim_errorf(SIM_ERANGE, "switch-after must be >= 1");
  return 0;
}

int mdl_scenario_is_flag(const char *key) {
  const p_field *f = mdl__find_param(key);
  return f && f->kind == P_BOOL;
}

void mdl_scenario_help(FILE *out) {
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++)
    fprintf(out, "  --%-20s %s [default %s]\n", mdl__params[i].key, mdl__params[i].doc, mdl__params[i].def);
}

/* ------------------------------------------------------ scenario files */

typedef struct {
  const char *path;
  mdl_scenario defaults;
  mdl_scenario current;
  char section[128];
  int have_current;
  int rc;
  int (*fn)(void *ctx, const mdl_scenario *s);
  void *ctx;
  const mdl_scenario *base;
} mdl__file_ctx;

static int mdl__emit(mdl__file_ctx *c) {
  if (!c->have_current) return 0;
  c->have_current = 0;
  if (!c->current.name[0]) snprintf(c->current.name, sizeof c->current.name, "%s", c->section);
  int rc = mdl_scenario_validate(&c->current);
  if (rc) return sim_errorf(rc, "%s: scenario [%s]: %s", c->path, c->section, sim_error_message());
  return c->fn(c->ctx, &c->current);
}

static int mdl__file_handler(void *user, const char *section, const char *name,
                             const char *value) {
  mdl__file_ctx *c = user;
  int is_defaults = strcmp(section, "defaults") == 0 || section[0] == '\0';
  if (!is_defaults && (!c->have_current || strcmp(section, c->section) != 0)) {
    if ((c->rc = mdl__emit(c))) return 0;
    c->current = c->defaults;
    snprintf(c->section, sizeof c->section, "%s", section);
    c->have_current = 1;
  }
  mdl_scenario *target = is_defaults ? &c->defaults : &c->current;
  int rc = mdl_scenario_set(target, name, value);
  if (rc) {
    c->rc = sim_errorf(rc, "%s: [%s] %s: %s", c->path, section, name, sim_error_message());
    return 0;
  }
  return 1;
}

int mdl_scenario_file_each(const char *path, const mdl_scenario *base,
                           int (*fn)(void *ctx, const mdl_scenario *s), void *ctx) {
  mdl__file_ctx *c = calloc(1, sizeof *c);
  if (!c) return sim_errorf(SIM_ENOMEM, "out of memory");
  c->path = path;
  c->defaults = *base;
  c->fn = fn;
  c->ctx = ctx;
  int perr = ini_parse(path, mdl__file_handler, c);
  int rc = c->rc;
  if (!rc && perr < 0) rc = sim_errorf(SIM_EIO, "cannot read scenario file %s: %s", path, strerror(errno));
  if (!rc && perr > 0) rc = sim_errorf(SIM_EFORMAT, "%s:%d: malformed line (expected key = value or [section])", path, perr);
  if (!rc) {
    int had_sections = c->have_current || c->section[0];
    rc = mdl__emit(c);
    if (!rc && !had_sections) {
      /* A file without sections is one scenario: its defaults. */
      c->current = c->defaults;
      snprintf(c->section, sizeof c->section, "%s", "scenario");
      c->have_current = 1;
      rc = mdl__emit(c);
    }
  }
  free(c);
  return rc;
}

/* ------------------------------------------------------------ results */

static const char *const mdl__status_names[] = {"completed", "not_converged", "failed"};
const char *mdl_status_name(mdl_status s) { return mdl__status_names[s]; }

void mdl_result_init(mdl_result *r, const char *source) {
  memset(r, 0, sizeof *r);
  snprintf(r->source, sizeof r->source, "%s", source);
  r->switch_time_ms = -1;
  r->replay_lag_ms = -1;
  r->replay_on_time = -1;
  r->delayed_share = r->delay_p50_ms = r->delay_p99_ms = -1;
}

/* The q-quantile of a sim_hist histogram with `total` entries, in ns:
 * geometric interpolation inside the bucket that holds it. */
static double mdl__hist_quantile(const uint64_t *hist, uint64_t total, double q) {
  double target = q * (double)total, cum = 0;
  for (uint32_t i = 0; i < SIM_HIST_BUCKETS; i++) {
    if (!hist[i]) continue;
    if (cum + (double)hist[i] >= target) {
      double f = (target - cum) / (double)hist[i];
      return (double)sim_hist_lower_ns(i) * pow(2.0, f / SIM_HIST_SUB);
    }
    cum += (double)hist[i];
  }
  return (double)sim_hist_lower_ns(SIM_HIST_BUCKETS - 1);
}

void mdl_result_set_delays(mdl_result *r, uint64_t accesses, const uint64_t *hist) {
  uint64_t delayed = 0;
  for (uint32_t i = 0; i < SIM_HIST_BUCKETS; i++) delayed += hist[i];
  r->delayed_share = accesses ? (double)delayed / (double)accesses : 0;
  r->delay_p50_ms = delayed ? mdl__hist_quantile(hist, delayed, 0.50) / 1e6 : -1;
  r->delay_p99_ms = delayed ? mdl__hist_quantile(hist, delayed, 0.99) / 1e6 : -1;
}

void mdl_result_free(mdl_result *r) {
  if (!r) return;
  free(r->rounds);
  free(r->samples);
  r->rounds = NULL;
  r->samples = NULL;
  r->round_count = r->round_cap = r->sample_count = r->sample_cap = 0;
}

int mdl_result_add_round(mdl_result *r, const mdl_round *round) {
  mdl_round *g = sim_grow(r->rounds, &r->round_cap, r->round_count + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory recording rounds");
  r->rounds = g;
  r->rounds[r->round_count++] = *round;
  return 0;
}

int mdl_result_add_sample(mdl_result *r, const mdl_sample *sample) {
  mdl_sample *g = sim_grow(r->samples, &r->sample_cap, r->sample_count + 1, sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory recording the timeline");
  r->samples = g;
  r->samples[r->sample_count++] = *sample;
  return 0;
}
