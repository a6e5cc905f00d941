/* mdl_scenario: scenario parameters (one table), scenario files, results. */
#include "mdl_scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mdl_feature.h"
#include "mdl_ini.h"
#include "mdl_mem.h"
#include "wl_gen.h"
#include "wl_trace.h"
#include "sim_err.h"
#include "sim_hash.h"
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
  /* QEMU 7.2's migration parameter defaults (migration.c). */
  s->cpu_throttle_initial = 20;
  s->cpu_throttle_increment = 10;
  s->max_cpu_throttle = 99;
  s->throttle_trigger_threshold = 50;
  s->xbzrle_cache_size = 64ull << 20;
  s->multifd_channels = 2;
  snprintf(s->multifd_compression, sizeof s->multifd_compression, "none");
  s->multifd_zlib_level = 1;
  s->multifd_zstd_level = 1;
  s->compress_threads = 8;
  s->compress_level = 1;
  s->decompress_threads = 2;
}

typedef enum { P_TEXT, P_U32, P_U64, P_NS_S, P_NS_MS, P_RATE, P_BOOL, P_ALGO, P_SWITCH, P_MEMORY, P_BYTES } p_kind;
typedef struct {
  const char *key;
  p_kind kind;
  size_t offset;
  size_t size; /* for text */
  const char *def;
  const char *doc;
  /* Valid range of a numeric parameter, in the stored unit (pages, ns,
   * bytes/s, count); zero_ok: 0 is also accepted and means "the default"
   * (e.g. link = 0: the profile's link). lo == hi == 0: not numeric. */
  double lo, hi;
  int zero_ok;
  /* A feature's parameter: left out of the scenario digest at its default
   * value, so scenarios that do not use the feature keep the digests (and
   * result folders) they had before it existed. */
  int feature;
} p_field;

/* Limits shared by several parameters; see docs/scenarios.md. Simulated
 * time stays below 10^15 ns (11.6 days), rates below 1 TiB/s, so every
 * byte count (rate x time) stays below 2^63 and every time below 2^53 ns,
 * where a double still holds each nanosecond. */
#define MDL__MAX_TIME_NS 1e15
#define MDL__MIN_RATE 1024.0             /* 1 KiB/s */
#define MDL__MAX_RATE 1099511627776.0    /* 1 TiB/s */
#define MDL__MAX_PAGES 1099511627776.0   /* 2^40, the trace format's limit */

#define T(k, kind, m, def, doc, lo, hi, z) \
  {k, kind, offsetof(mdl_scenario, m), sizeof(((mdl_scenario *)0)->m), def, doc, lo, hi, z, 0}
#define F(k, kind, m, def, doc, lo, hi) \
  {k, kind, offsetof(mdl_scenario, m), sizeof(((mdl_scenario *)0)->m), def, doc, lo, hi, 0, 1}
/* A feature parameter whose 0 means "off" (QEMU's own convention for it). */
#define FZ(k, kind, m, def, doc, lo, hi) \
  {k, kind, offsetof(mdl_scenario, m), sizeof(((mdl_scenario *)0)->m), def, doc, lo, hi, 1, 1}
static const p_field mdl__params[] = {
    T("name", P_TEXT, name, "(derived)", "label for tables and plots", 0, 0, 0),
    T("workload", P_TEXT, workload, "(required; compare: the bundled trace)", "trace file or generator spec, e.g. uniform:wss=32768,rate=10000", 0, 0, 0),
    T("trace", P_TEXT, workload, "", "alias of workload", 0, 0, 0),
    T("pages", P_U64, pages, "from trace / 131072", "guest pages (0: from the trace)", 1, MDL__MAX_PAGES, 1),
    T("memory", P_MEMORY, pages, "512MiB", "guest memory (sets pages)", 1, MDL__MAX_PAGES, 0),
    T("page-size", P_U32, page_size, "4096", "page size in bytes (a power of two)", 512, 1 << 30, 0),
    T("duration", P_NS_S, workload_duration_ns, "0 (endless)", "generator length before it loops", 1, MDL__MAX_TIME_NS, 1),
    T("trace-offset", P_NS_S, trace_offset_ns, "0", "trace time at migration start", 0, MDL__MAX_TIME_NS, 0),
    T("loop", P_BOOL, loop, "1", "loop a trace shorter than the migration", 0, 0, 0),
    T("profile", P_TEXT, profile, "qemu-7.2", "hypervisor profile (built-in, shipped or .ini path)", 0, 0, 0),
    T("qemu", P_TEXT, qemu, "qemu-system-x86_64", "real runs: QEMU binary (path, or 7.2 / 10.0)", 0, 0, 0),
    T("algo", P_ALGO, algo, "precopy", "", 0, 0, 0), /* doc: the algorithm table's names */
    T("max-bandwidth", P_RATE, max_bandwidth, "128MiB/s", "hypervisor rate limit (QEMU max-bandwidth)", MDL__MIN_RATE, MDL__MAX_RATE, 0),
    /* QEMU refuses a downtime-limit above 2000 s (MAX_MIGRATE_DOWNTIME_SECONDS). */
    T("downtime-limit", P_NS_MS, downtime_limit_ns, "300ms", "QEMU downtime-limit (bare number = ms)", 0, 2000e9, 0),
    T("link", P_RATE, link_bandwidth, "profile", "physical link bandwidth (e.g. 10Gbit/s; 0: the profile's)", MDL__MIN_RATE, MDL__MAX_RATE, 1),
    T("latency", P_NS_MS, latency_ns, "0", "one-way link latency (bare number = ms)", 0, 10e9, 0),
    T("postcopy-bandwidth", P_RATE, postcopy_bandwidth, "0 (link)", "QEMU max-postcopy-bandwidth (0: the link)", MDL__MIN_RATE, MDL__MAX_RATE, 1),
    T("switch-policy", P_SWITCH, switch_policy, "syncs", "hybrid switch: syncs | nonconverge | time", 0, 0, 0),
    T("switch-after", P_U32, switch_after, "5", "hybrid: switch once dirty_sync_count reaches N", 1, 1e6, 0),
    T("switch-time", P_NS_S, switch_time_ns, "0", "hybrid: switch at this time (policy time)", 0, MDL__MAX_TIME_NS, 0),
    T("timeout", P_NS_S, timeout_ns, "60s", "give up (not_converged) after this long", 1e6, MDL__MAX_TIME_NS, 0),
    T("seed", P_U64, seed, "1", "seed of every random stream", 0, 18446744073709551616.0, 0),
    T("timeline", P_BOOL, timeline, "0", "record a per-window timeline", 0, 0, 0),
    T("guest-offset", P_U64, guest_offset, "0", "guest page of trace page 0 (trace inside a larger guest)", 0, MDL__MAX_PAGES, 0),
    T("guest-extra-pages", P_U64, guest_extra_pages, "0", "guest pages after the trace's", 0, MDL__MAX_PAGES, 0),
    T("guest-nonzero", P_TEXT, guest_nonzero, "", "extra non-zero guest pages at start, e.g. 256-300", 0, 0, 0),
    /* Features (models/mdl_feature.c), named as QEMU's capability and
     * parameters; QEMU's ranges. */
    F("auto-converge", P_BOOL, auto_converge, "0", "QEMU auto-converge: throttle the guest's vCPUs when pre-copy does not converge", 0, 0),
    F("cpu-throttle-initial", P_U32, cpu_throttle_initial, "20", "auto-converge: first throttle (%)", 1, 99),
    F("cpu-throttle-increment", P_U32, cpu_throttle_increment, "10", "auto-converge: throttle step (%)", 1, 99),
    F("cpu-throttle-tailslow", P_BOOL, cpu_throttle_tailslow, "0", "auto-converge: smaller steps near the needed throttle", 0, 0),
    F("max-cpu-throttle", P_U32, max_cpu_throttle, "99", "auto-converge: highest throttle (%)", 1, 99),
    F("throttle-trigger-threshold", P_U32, throttle_trigger_threshold, "50", "auto-converge: trigger when a period dirtied more than this % of what it sent", 1, 100),
    F("xbzrle", P_BOOL, xbzrle, "0", "QEMU xbzrle: resend pages as deltas against a cache of pages sent before", 0, 0),
    /* QEMU accepts a power-of-two number of pages (page_cache.c). */
    F("postcopy-preempt", P_BOOL, postcopy_preempt, "0", "QEMU postcopy-preempt: requested pages on a channel of their own (post-copy algorithms)", 0, 0),
    F("xbzrle-cache-size", P_BYTES, xbzrle_cache_size, "64MiB", "xbzrle: page cache size (a power-of-two number of pages)", 4096, 1099511627776.0),
    F("multifd", P_BOOL, multifd, "0", "QEMU multifd: pages in packets over multifd-channels extra sockets, each with a thread of its own", 0, 0),
    F("multifd-channels", P_U32, multifd_channels, "2", "multifd: channels (sockets and threads)", 1, 255),
    F("multifd-compression", P_TEXT, multifd_compression, "none", "multifd: none, zlib or zstd (sizes from the workload's compress_ratio)", 0, 0),
    F("multifd-zlib-level", P_U32, multifd_zlib_level, "1", "multifd: zlib level", 0, 9),
    F("multifd-zstd-level", P_U32, multifd_zstd_level, "1", "multifd: zstd level", 0, 20),
    F("compress", P_BOOL, compress, "0", "QEMU 7.2 compress: zlib pages in compress-threads (removed in QEMU 9.1)", 0, 0),
    F("compress-threads", P_U32, compress_threads, "8", "compress: source threads", 1, 255),
    F("compress-level", P_U32, compress_level, "1", "compress: zlib level", 0, 9),
    F("decompress-threads", P_U32, decompress_threads, "2", "compress: destination threads", 1, 255),
    /* QEMU 8.2+ (not in 7.2): a profile without it refuses a non-zero value. */
    FZ("avail-switchover-bandwidth", P_RATE, avail_switchover_bandwidth, "0 (estimate)", "QEMU 8.2+ avail-switchover-bandwidth: switchover bandwidth used instead of the estimate in the threshold (0: the estimate)", MDL__MIN_RATE, MDL__MAX_RATE),
};
#undef T
#undef F
#undef FZ

static const char *const mdl__switch_names[] = {"syncs", "nonconverge", "time"};

const char *mdl_switch_policy_name(mdl_switch_policy p) { return mdl__switch_names[p]; }

int mdl_switch_policy_parse(const char *name, mdl_switch_policy *out) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(name, mdl__switch_names[i])) {
      *out = (mdl_switch_policy)i;
      return 0;
    }
  return sim_errorf(SIM_EINVAL, "switch-policy=%s: expected syncs, nonconverge or time", name);
}

/* A parameter's meaning; algo's lists the algorithm table's names. */
static const char *mdl__doc(const p_field *f, char *buf, size_t len) {
  return f->kind == P_ALGO ? mdl_algo_list(buf, len, " | ", " | ") : f->doc;
}

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

static sim_quantity mdl__quantity(p_kind k) {
  switch (k) {
    case P_NS_S:
    case P_NS_MS: return SIM_QTY_NS;
    case P_RATE: return SIM_QTY_RATE;
    case P_BYTES: return SIM_QTY_BYTES;
    default: return SIM_QTY_COUNT;
  }
}

static int mdl__numeric(const p_field *f) { return f->lo != 0 || f->hi != 0; }

/* A numeric field's stored value as a double (exact below 2^53). */
static double mdl__value(const mdl_scenario *s, const p_field *f) {
  const char *at = (const char *)s + f->offset;
  switch (f->kind) {
    case P_U32: return (double)*(const uint32_t *)(const void *)at;
    case P_RATE: return *(const double *)(const void *)at;
    default: return (double)*(const uint64_t *)(const void *)at;
  }
}

/* Checks f's value against its range; `text` is what the user wrote (NULL:
 * the stored value is shown). One line naming key, value and range. */
static int mdl__check_range(const mdl_scenario *s, const p_field *f, const char *text) {
  if (!mdl__numeric(f) || (f->kind == P_MEMORY && !text)) return 0; /* memory: see pages */
  double v = mdl__value(s, f);
  if ((f->zero_ok && v == 0) || (v >= f->lo && v <= f->hi)) return 0;
  char range[160], shown[64];
  sim_quantity q = mdl__quantity(f->kind);
  if (f->kind == P_MEMORY)
    sim_format_range(range, sizeof range, SIM_QTY_BYTES, f->lo * s->page_size, f->hi * s->page_size);
  else
    sim_format_range(range, sizeof range, q, f->lo, f->hi);
  if (!text) text = sim_format_quantity(shown, sizeof shown, q, v);
  return sim_errorf(SIM_ERANGE, "%s=%s is out of range (valid: %s%s)", f->key, text,
                    f->zero_ok ? "0 or " : "", range);
}

const char *mdl_scenario_suggest(const char *key) {
  enum { N = sizeof mdl__params / sizeof mdl__params[0] };
  const char *names[N + 1];
  for (size_t i = 0; i < N; i++) names[i] = mdl__params[i].key;
  names[N] = MDL_BANDWIDTH_KEY;
  return sim_suggest(key, strlen(key), names, N + 1);
}

const char *mdl_scenario_same_param(const char *a, const char *b) {
  const p_field *fa = mdl__find_param(a), *fb = mdl__find_param(b);
  if (!fa || !fb || fa == fb || fa->offset != fb->offset) return NULL;
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++)
    if (mdl__params[i].offset == fa->offset) return mdl__params[i].key; /* the first is the parameter */
  return NULL;
}

int mdl_scenario_set(mdl_scenario *s, const char *key, const char *value) {
  const p_field *f = mdl__find_param(key);
  if (!f) {
    const char *near = mdl_scenario_suggest(key);
    if (near) return sim_errorf(SIM_ENOTFOUND, "unknown scenario parameter '%s'; did you mean '%s'?", key, near);
    return sim_errorf(SIM_ENOTFOUND, "unknown scenario parameter '%s'", key);
  }
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
    case P_U64:
    case P_NS_S:
    case P_NS_MS:
    case P_RATE:
    case P_BYTES:
    case P_MEMORY: {
      /* Parsed into a copy, range-checked there, stored only when valid. */
      mdl_scenario probe = *s;
      char *dst = (char *)&probe + f->offset;
      if (f->kind == P_RATE) {
        if ((rc = sim_parse_rate(value, SIM_RATE_BYTES, &r))) break;
        *(double *)(void *)dst = sim_rate_bytes_per_s(r, s->page_size);
      } else if (f->kind == P_BYTES) {
        if ((rc = sim_parse_bytes(value, s->page_size, &u))) break;
        *(uint64_t *)(void *)dst = u;
      } else if (f->kind == P_MEMORY) {
        if ((rc = sim_parse_bytes(value, s->page_size, &u))) break;
        if (u % s->page_size)
          return sim_errorf(SIM_ERANGE, "memory=%s must be a multiple of the page size (%u)",
                            value, s->page_size);
        probe.pages = u / s->page_size;
      } else if (f->kind == P_U32 || f->kind == P_U64) {
        if ((rc = sim_parse_count(value, &u))) break;
        if (f->kind == P_U32 && u > UINT32_MAX) u = UINT32_MAX; /* out of every U32 range */
        if (f->kind == P_U32) *(uint32_t *)(void *)dst = (uint32_t)u;
        else *(uint64_t *)(void *)dst = u;
      } else {
        if ((rc = sim_parse_duration(value, f->kind == P_NS_S ? SIM_NS_PER_S : SIM_NS_PER_MS, &u))) break;
        *(uint64_t *)(void *)dst = u;
      }
      if ((rc = mdl__check_range(&probe, f, value))) return rc;
      memcpy(at, dst, f->kind == P_U32 ? sizeof(uint32_t) : f->kind == P_RATE ? sizeof(double) : sizeof(uint64_t));
      return 0;
    }
    case P_BOOL:
      if (!strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on"))
        *(int *)(void *)at = 1;
      else if (!strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off"))
        *(int *)(void *)at = 0;
      else
        return sim_errorf(SIM_EINVAL, "%s=%s: expected yes or no", key, value);
      return 0;
    case P_ALGO: return strchr(value, '+') ? mdl_variant_apply(s, value) : mdl_algo_parse(value, &s->algo);
    case P_SWITCH: return mdl_switch_policy_parse(value, &s->switch_policy);
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
    case P_U64:
    case P_BYTES: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)(const void *)at); break;
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
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++) {
    int rc = mdl__check_range(s, &mdl__params[i], NULL);
    if (rc) return rc;
  }
  if (s->page_size & (s->page_size - 1))
    return sim_errorf(SIM_ERANGE, "page-size=%u: expected a power of two", s->page_size);
  if ((unsigned)s->algo >= MDL_ALGO_COUNT || (unsigned)s->switch_policy > MDL_SWITCH_TIME)
    return sim_errorf(SIM_EINVAL, "algo or switch-policy out of range"); /* defensive: set by code */
  if (s->postcopy_preempt && !mdl_algorithm_has_capability(mdl_algorithm_of(s->algo), "postcopy-ram"))
    return sim_errorf(SIM_EINVAL, "postcopy-preempt needs a post-copy algorithm (postcopy or hybrid), not %s",
                      mdl_algo_name(s->algo));
  uint64_t cache_pages = s->xbzrle_cache_size / s->page_size;
  if (s->xbzrle_cache_size % s->page_size || (cache_pages & (cache_pages - 1)))
    return sim_errorf(SIM_ERANGE, "xbzrle-cache-size=%llu: expected a power-of-two number of %u-byte pages "
                      "(QEMU's page cache), e.g. 64MiB", (unsigned long long)s->xbzrle_cache_size, s->page_size);
  if (strcmp(s->multifd_compression, "none") && strcmp(s->multifd_compression, "zlib") &&
      strcmp(s->multifd_compression, "zstd"))
    return sim_errorf(SIM_EINVAL, "multifd-compression=%s: expected none, zlib or zstd", s->multifd_compression);
  if (s->multifd && s->compress)
    return sim_errorf(SIM_EUNSUPPORTED, "multifd and compress together: QEMU 7.2 would compress every page in the "
                      "compress threads and leave multifd idle, later QEMUs refuse it; choose one");
  if (s->multifd && s->xbzrle)
    return sim_errorf(SIM_EUNSUPPORTED, "multifd with xbzrle: QEMU sends multifd pages without XBZRLE; not modelled, "
                      "choose one");
  if ((double)s->pages + (double)s->guest_offset + (double)s->guest_extra_pages > MDL__MAX_PAGES)
    return sim_errorf(SIM_ERANGE, "pages + guest-offset + guest-extra-pages exceed 2^40");
  return 0;
}

uint64_t mdl_scenario_digest(const mdl_scenario *s, const char *const *skip, size_t nskip) {
  uint64_t h = SIM_HASH_INIT;
  char buf[MDL_TEXT_MAX + 64], def[MDL_TEXT_MAX + 64];
  mdl_scenario d;
  mdl_scenario_defaults(&d);
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++) {
    const p_field *f = &mdl__params[i];
    int skipped = !strcmp(f->key, "trace") || !strcmp(f->key, "memory"); /* aliases */
    for (size_t k = 0; k < nskip && !skipped; k++) skipped = !strcmp(skip[k], f->key);
    if (skipped) continue;
    mdl_scenario_get(s, f->key, buf, sizeof buf);
    if (f->feature && !strcmp(buf, (mdl_scenario_get(&d, f->key, def, sizeof def), def))) continue;
    h = sim_hash_str(sim_hash_str(h, f->key), buf);
  }
  return h;
}

int mdl_scenario_is_flag(const char *key) {
  const p_field *f = mdl__find_param(key);
  return f && f->kind == P_BOOL;
}

void mdl_scenario_ranges_md(FILE *out) {
  fprintf(out, "| parameter | valid range | default | meaning |\n|---|---|---|---|\n");
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++) {
    const p_field *f = &mdl__params[i];
    char r[128] = "";
    if (mdl__numeric(f)) {
      if (!strcmp(f->key, "seed")) snprintf(r, sizeof r, "0..18446744073709551615 (exact)");
      else if (f->kind == P_MEMORY)
        sim_format_range(r, sizeof r, SIM_QTY_COUNT, f->lo, f->hi), strcat(r, " pages");
      else sim_format_range(r, sizeof r, mdl__quantity(f->kind), f->lo, f->hi);
    }
    char algos[256], doc[256];
    const char *kind = f->kind == P_BOOL     ? "yes, no"
                       : f->kind == P_ALGO   ? mdl_algo_list(algos, sizeof algos, ", ", ", ")
                       : f->kind == P_SWITCH ? "syncs, nonconverge, time"
                                             : "text";
    fprintf(out, "| `%s` | %s%s | %s | ", f->key, f->zero_ok ? "0 or " : "", r[0] ? r : kind, f->def);
    for (const char *c = mdl__doc(f, doc, sizeof doc); *c; c++) fputs(*c == '|' ? "or" : (char[2]){*c, 0}, out);
    fputs(" |\n", out);
  }
}

void mdl_scenario_help(FILE *out) {
  for (size_t i = 0; i < sizeof mdl__params / sizeof mdl__params[0]; i++) {
    const p_field *f = &mdl__params[i];
    char range[160] = "";
    if (mdl__numeric(f) && strcmp(f->key, "seed") != 0) {
      char r[128];
      if (f->kind == P_MEMORY) sim_format_range(r, sizeof r, SIM_QTY_BYTES, f->lo * 4096, f->hi * 4096);
      else sim_format_range(r, sizeof r, mdl__quantity(f->kind), f->lo, f->hi);
      snprintf(range, sizeof range, ", valid %s%s", f->zero_ok ? "0 or " : "", r);
    }
    char doc[256];
    fprintf(out, "  --%-20s %s [default %s%s]\n", f->key, mdl__doc(f, doc, sizeof doc), f->def, range);
  }
}

/* ------------------------------------------------------ sweep values */

void mdl_sweep_values_free(char **values, size_t count) {
  for (size_t i = 0; values && i < count; i++) free(values[i]);
  free(values);
}

int mdl_sweep_split(const char *key, const char *text, char ***values_out, size_t *count_out) {
  int is_workload = !strcmp(key, "workload") || !strcmp(key, "trace");
  *values_out = NULL;
  *count_out = 0;
  char *copy = strdup(text);
  char **values = NULL;
  size_t count = 0, cap = 0;
  int rc = copy ? 0 : sim_errorf(SIM_ENOMEM, "out of memory");
  char *item = copy;
  for (char *p = copy; !rc; p++) {
    int end = *p == '\0';
    int split = end || *p == ';';
    if (*p == ',') {
      if (!is_workload) {
        split = 1;
      } else {
        /* The next item (up to ',' or ';') starts a new spec when it has
         * ':' or '/', names a generator, or is not a key=value. */
        char *next = p + 1;
        size_t len = strcspn(next, ",;");
        char saved = next[len];
        next[len] = '\0';
        split = strchr(next, ':') || strchr(next, '/') || wl_gen_is_spec(next) || !strchr(next, '=');
        next[len] = saved;
      }
    }
    if (!split) continue;
    *p = '\0';
    if (!*item) {
      /* "32MiB/s,,64MiB/s": a value lost in typing, not one to skip */
      rc = sim_errorf(SIM_EINVAL, "%s: an empty item in the list '%s'", key, text);
      break;
    }
    {
      char **g = sim_grow(values, &cap, count + 1, sizeof *g);
      char *v = g ? strdup(item) : NULL;
      if (g) values = g;
      if (!v) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory");
        break;
      }
      values[count++] = v;
    }
    if (end) break;
    item = p + 1;
  }
  free(copy);
  if (!rc && count == 0) rc = sim_errorf(SIM_EINVAL, "--%s: no values", key);
  if (rc) {
    mdl_sweep_values_free(values, count);
    return rc;
  }
  *values_out = values;
  *count_out = count;
  return 0;
}

/* ------------------------------------------------ values actually used */

/* Memory a run may use beyond the bitmaps: event batches, the player's
 * buffer of one time instant (bounded by the workloads' limit), engine. */
#define MDL__RUN_OVERHEAD_BYTES (80ull << 20)

static uint64_t mdl__memory_limit(void) {
  const char *env = getenv("MIGSIM_MAX_MEMORY");
  uint64_t v;
  if (env && *env && sim_parse_bytes(env, 0, &v) == 0 && v > 0) return v;
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  uint64_t phys = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < phys)
    phys = (uint64_t)rl.rlim_cur;
  return phys;
}

/* What resolve learns by opening a workload and reading its first events
 * (at most MDL__PROBE_EVENTS, or up to the end of a shorter trace). */
#define MDL__PROBE_EVENTS 1000000
typedef struct {
  char workload[MDL_TEXT_MAX];
  uint64_t pages_asked, duration_ns, until_ns;
  uint32_t page_size;
  int valid;
  /* results */
  uint64_t pages;
  uint32_t meta_page_size;
  uint64_t count, first, last, period;
  int ended;
} mdl__probe;

/* Sweeps resolve many points of one workload in a row: the last probe of
 * each thread is kept (the seed is left out of the key: it changes which
 * pages a generator writes, not how many). */
static _Thread_local mdl__probe mdl__last_probe;

static int mdl__probe_workload(const mdl_scenario *s, mdl__probe *out) {
  uint64_t pages_asked = s->pages ? s->pages : 131072;
  uint64_t until = s->trace_offset_ns + s->timeout_ns;
  mdl__probe *c = &mdl__last_probe;
  if (c->valid && !strcmp(c->workload, s->workload) && c->pages_asked == pages_asked &&
      c->page_size == s->page_size && c->duration_ns == s->workload_duration_ns && c->until_ns >= until) {
    *out = *c;
    return 0;
  }
  wl_open_opts o = {pages_asked, s->page_size, s->seed, s->workload_duration_ns};
  wl_source *src = NULL;
  int rc = wl_source_open(s->workload, &o, &src);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  const wl_meta *m = wl_source_meta(src);
  out->pages = m->pages;
  out->meta_page_size = m->page_size;
  out->first = UINT64_MAX;
  wl_event *buf = malloc(4096 * sizeof *buf);
  if (!buf) rc = sim_errorf(SIM_ENOMEM, "out of memory");
  while (!rc && out->count < MDL__PROBE_EVENTS) {
    long n = wl_source_read(src, buf, 4096);
    if (n < 0) rc = (int)n;
    if (n <= 0) {
      out->ended = n == 0;
      break;
    }
    if (out->first == UINT64_MAX) out->first = buf[0].time_ns;
    out->count += (uint64_t)n;
    out->last = buf[n - 1].time_ns;
    if (out->last > until) break; /* the run ends before the rest matters */
  }
  free(buf);
  out->period = wl_meta_period(m, out->last);
  wl_source_close(src);
  if (rc) return rc;
  snprintf(out->workload, sizeof out->workload, "%s", s->workload);
  out->pages_asked = pages_asked;
  out->page_size = s->page_size;
  out->duration_ns = s->workload_duration_ns;
  out->until_ns = until;
  out->valid = 1;
  *c = *out;
  return 0;
}

/* Page events a run may have to replay, estimated from the probe and the
 * timeout, refused above MIGSIM_MAX_EVENTS (default 10^10, about a minute
 * and a half at the simulator's speed): a tiny trace looping every few
 * nanoseconds, or a generator at an absurd rate, would otherwise keep a
 * run busy for hours. */
static int mdl__check_event_work(const mdl_scenario *s, const mdl__probe *p) {
  double limit = 1e10;
  const char *env = getenv("MIGSIM_MAX_EVENTS");
  uint64_t v;
  if (env && *env && sim_parse_count(env, &v) == 0 && v > 0) limit = (double)v;
  if (p->count == 0) return 0;
  double horizon = (double)s->timeout_ns, span, events;
  int looped = p->ended && s->loop;
  if (looped) {
    span = (double)p->period;
    events = (double)p->count * ((double)s->trace_offset_ns + horizon) / span;
  } else {
    span = (double)(p->last > p->first ? p->last - p->first : 1);
    events = p->ended ? (double)p->count : (double)p->count * horizon / span;
  }
  if (events > limit)
    return sim_errorf(SIM_ERANGE,
                      "%.60s: about %.3g page events in the %.6g s timeout (%llu events in %.6g s%s); more than "
                      "the %.3g a run may replay (MIGSIM_MAX_EVENTS sets the limit)",
                      s->workload, events, horizon / 1e9, (unsigned long long)p->count, span / 1e9,
                      looped ? ", looped" : "", limit);
  return 0;
}

int mdl_scenario_resolve(const mdl_scenario *s, mdl_scenario *used, mdl_profile *profile,
                         uint64_t *memory_bytes) {
  int rc = mdl_scenario_validate(s);
  if (rc) return rc;
  mdl_profile local;
  if (!profile) profile = &local;
  if ((rc = mdl_profile_load(s->profile, profile))) return rc;
  if ((rc = mdl_profile_validate(profile))) return rc;
  *used = *s;
  /* The guest size as the simulator takes it: the scenario's, else the
   * trace's, else 131072 pages for a generator. */
  mdl__probe probe;
  if ((rc = mdl__probe_workload(s, &probe))) return rc;
  if (!s->pages) used->pages = probe.pages;
  if (probe.meta_page_size != s->page_size)
    return sim_errorf(SIM_EINVAL, "%s: page size %u differs from the scenario's %u", s->workload,
                      probe.meta_page_size, s->page_size);
  if (probe.pages > used->pages)
    return sim_errorf(SIM_ERANGE, "%s: trace has %llu pages but the guest only %llu", s->workload,
                      (unsigned long long)probe.pages, (unsigned long long)used->pages);
  if ((rc = mdl__check_event_work(s, &probe))) return rc;
  if (used->link_bandwidth == 0) used->link_bandwidth = profile->link_bytes_per_s;
  if (used->postcopy_bandwidth == 0) used->postcopy_bandwidth = used->link_bandwidth;
  /* Memory: the bitmaps (mdl_mem.h) of every guest page plus other RAM
   * blocks, one byte per KVM chunk, and the fixed buffers. Refused before
   * anything is allocated. */
  double pages = (double)used->guest_offset + (double)used->pages + (double)used->guest_extra_pages +
                 (double)profile->extra_nonzero_pages + (double)profile->extra_zero_pages;
  double bytes = (double)mdl_mem_bytes((uint64_t)pages) + pages / (double)profile->chunk_pages +
                 (double)MDL__RUN_OVERHEAD_BYTES;
  uint64_t limit = mdl__memory_limit();
  if (bytes > (double)limit) {
    char need[32], have[32];
    return sim_errorf(SIM_ERANGE,
                      "the run needs about %s of memory for %.0f guest pages, more than the %s "
                      "available (MIGSIM_MAX_MEMORY sets the limit)",
                      sim_format_bytes(need, sizeof need, bytes), pages,
                      sim_format_bytes(have, sizeof have, (double)limit));
  }
  if (memory_bytes) *memory_bytes = (uint64_t)bytes;
  return 0;
}

/* ------------------------------------------------- linked: bandwidth */

static const struct {
  const char *key;
  unsigned bit;
} mdl__linked[] = {{"max-bandwidth", MDL_BW_MAX}, {"postcopy-bandwidth", MDL_BW_POSTCOPY}, {"link", MDL_BW_LINK}};

unsigned mdl_bandwidth_part(const char *key) {
  for (size_t k = 0; k < sizeof mdl__linked / sizeof mdl__linked[0]; k++)
    if (!strcmp(key, mdl__linked[k].key)) return mdl__linked[k].bit;
  return 0;
}

int mdl_scenario_set_bandwidth(mdl_scenario *s, const char *value, unsigned keep) {
  mdl_scenario probe = *s;
  for (size_t k = 0; k < sizeof mdl__linked / sizeof mdl__linked[0]; k++) {
    if (keep & mdl__linked[k].bit) continue;
    int rc = mdl_scenario_set(&probe, mdl__linked[k].key, value);
    if (rc) {
      char why[512]; /* the message buffer is about to be rewritten */
      snprintf(why, sizeof why, "%s", sim_error_message());
      return sim_errorf(rc, "bandwidth (sets %s): %s", mdl__linked[k].key, why);
    }
  }
  *s = probe;
  return 0;
}

/* ------------------------------------------------------ scenario files */

/* MDL_BW_* bits of the keys section `section` gives itself. O(entries). */
static unsigned mdl__section_keeps(const mdl_ini *ini, const char *section) {
  unsigned keep = 0;
  for (size_t i = 0; i < ini->count; i++)
    if (!strcmp(ini->entries[i].section, section)) keep |= mdl_bandwidth_part(ini->entries[i].key);
  return keep;
}

/* Every scenario of the file is built and checked (parameters, ranges,
 * profile) before the first one is handed to fn, so an error anywhere in
 * the file stops the command before it writes anything. */
int mdl_scenario_file_each(const char *path, const mdl_scenario *base,
                           int (*fn)(void *ctx, const mdl_scenario *s), void *ctx) {
  mdl_ini ini;
  int rc = mdl_ini_read(path, &ini);
  if (rc) return rc;
  mdl_scenario defaults = *base, *list = NULL;
  size_t n = 0, cap = 0;
  const char *current = NULL; /* section of list[n-1] */
  for (size_t i = 0; i < ini.count && !rc; i++) {
    const mdl_ini_entry *e = &ini.entries[i];
    int is_defaults = e->section[0] == '\0' || strcmp(e->section, "defaults") == 0;
    if (is_defaults && n > 0) {
      rc = sim_errorf(SIM_EFORMAT, "%s:%u: [defaults] must come before the first scenario section", path,
                      e->line);
      break;
    }
    if (!is_defaults && (!current || strcmp(current, e->section) != 0)) {
      if (strlen(e->section) >= sizeof list->name) {
        rc = sim_errorf(SIM_ERANGE, "%s:%u: scenario name [%.40s...] longer than %zu characters", path,
                        e->line, e->section, sizeof list->name - 1);
        break;
      }
      mdl_scenario *g = sim_grow(list, &cap, n + 1, sizeof *g);
      if (!g) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory");
        break;
      }
      list = g;
      list[n] = defaults;
      current = e->section;
      n++;
      /* Named after the section unless a name = line says otherwise. */
      if (!defaults.name[0]) snprintf(list[n - 1].name, sizeof list->name, "%s", e->section);
    }
    mdl_scenario *target = is_defaults ? &defaults : &list[n - 1];
    /* An alias and its parameter in one section (memory and pages): the
     * file says two things, and which one wins would be line order. */
    for (size_t j = i; j-- > 0 && !strcmp(ini.entries[j].section, e->section);) {
      const char *what = mdl_scenario_same_param(ini.entries[j].key, e->key);
      if (what) {
        rc = sim_errorf(SIM_EINVAL, "%s:%u: [%s] %s and %s (line %u) both set %s: give one", path, e->line,
                        e->section, e->key, ini.entries[j].key, ini.entries[j].line, what);
        break;
      }
    }
    if (rc) break;
    if (!strcmp(e->key, MDL_BANDWIDTH_KEY)) {
      /* [defaults] counts the keys of "" and "defaults" alike. */
      unsigned keep = is_defaults ? mdl__section_keeps(&ini, "") | mdl__section_keeps(&ini, "defaults")
                                  : mdl__section_keeps(&ini, e->section);
      if ((rc = mdl_scenario_set_bandwidth(target, e->value, keep)))
        rc = sim_errorf(rc, "%s:%u: [%s] %s", path, e->line, e->section, sim_error_message());
    } else if ((rc = mdl_scenario_set(target, e->key, e->value)))
      rc = sim_errorf(rc, "%s:%u: [%s] %s", path, e->line, e->section, sim_error_message());
  }
  if (!rc && n == 0) {
    /* A file without scenario sections is one scenario: its defaults. */
    list = malloc(sizeof *list);
    if (!list) rc = sim_errorf(SIM_ENOMEM, "out of memory");
    else {
      list[0] = defaults;
      n = 1;
      if (!list[0].name[0]) snprintf(list[0].name, sizeof list[0].name, "scenario");
    }
  }
  for (size_t i = 0; i < n && !rc; i++) {
    mdl_profile profile;
    if ((rc = mdl_scenario_validate(&list[i])) || (rc = mdl_profile_load(list[i].profile, &profile)))
      rc = sim_errorf(rc, "%s: scenario [%s]: %s", path, list[i].name, sim_error_message());
  }
  for (size_t i = 0; i < n && !rc; i++) rc = fn(ctx, &list[i]);
  free(list);
  mdl_ini_free(&ini);
  return rc;
}

/* ------------------------------------------------------------ results */

static const char *const mdl__status_names[] = {"completed", "not_converged", "failed"};
const char *mdl_status_name(mdl_status s) { return mdl__status_names[s]; }

mdl_status mdl_status_parse(const char *name) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(name, mdl__status_names[i])) return (mdl_status)i;
  return MDL_STATUS_FAILED;
}

void mdl_result_init(mdl_result *r, const char *source) {
  memset(r, 0, sizeof *r);
  snprintf(r->source, sizeof r->source, "%s", source);
  r->switch_time_ms = -1;
  r->replay_lag_ms = -1;
  r->replay_on_time = -1;
  r->cpu_vcpu_ms = r->cpu_migration_ms = r->cpu_workers_ms = -1;
  r->cpu_source_ms = r->cpu_dest_ms = r->cpu_wait_ms = -1;
  r->delayed_share = r->delay_p50_ms = r->delay_p99_ms = -1;
  r->compression_rate = -1;
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
