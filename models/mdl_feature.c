/* mdl_feature: the feature table (see mdl_feature.h). */
#include "mdl_feature.h"

#include <string.h>

#include "sim_err.h"

static const mdl_feature_param mdl__auto_converge_params[] = {
    {"cpu-throttle-initial", MDL_QMP_INT, 0},   {"cpu-throttle-increment", MDL_QMP_INT, 0},
    {"cpu-throttle-tailslow", MDL_QMP_BOOL, 0}, {"max-cpu-throttle", MDL_QMP_INT, 0},
    {"throttle-trigger-threshold", MDL_QMP_INT, 0}, {NULL, MDL_QMP_INT, 0},
};

static const mdl_feature_param mdl__xbzrle_params[] = {
    {"xbzrle-cache-size", MDL_QMP_INT, 0}, {NULL, MDL_QMP_INT, 0},
};

static const mdl_feature_param mdl__multifd_params[] = {
    {"multifd-channels", MDL_QMP_INT, 1},   {"multifd-compression", MDL_QMP_STRING, 1},
    {"multifd-zlib-level", MDL_QMP_INT, 0}, {"multifd-zstd-level", MDL_QMP_INT, 0},
    {NULL, MDL_QMP_INT, 0},
};

static const mdl_feature_param mdl__compress_params[] = {
    {"compress-threads", MDL_QMP_INT, 0}, {"compress-level", MDL_QMP_INT, 0},
    {"decompress-threads", MDL_QMP_INT, 1}, {NULL, MDL_QMP_INT, 0},
};

static const mdl_feature_param mdl__no_params[] = {{NULL, MDL_QMP_INT, 0}};

static const mdl_feature mdl__features[] = {
    {"auto-converge", "auto-converge",
     "throttle the guest's vCPUs when a sync period dirtied more than throttle-trigger-threshold % of "
     "what it sent, twice; raise the throttle each time it happens again",
     mdl__auto_converge_params, "7.2, 10.0", NULL},
    {"xbzrle", "xbzrle",
     "from the second pass on, send a page found in a cache of pages sent before as the XOR-RLE delta "
     "against its cached copy (workload key write_bytes: how much a write changes)",
     mdl__xbzrle_params, "7.2, 10.0", NULL},
    {"postcopy-preempt", "postcopy-preempt",
     "send pages the destination asks for in post-copy on a channel of their own, not behind the queued "
     "background pages (post-copy algorithms only)",
     mdl__no_params, "7.2, 10.0", NULL},
    {"multifd", "multifd",
     "send pre-copy pages in packets of 128 over multifd-channels sockets, one thread each, all synced at the "
     "end of every iteration step (7.2); zero pages stay on the main stream in 7.2; multifd-compression zlib or "
     "zstd compresses each packet (workload key compress_ratio)",
     mdl__multifd_params, "7.2, 10.0", NULL},
    {"compress", "compress",
     "compress each page with zlib in one of compress-threads threads, its output copied into the main stream "
     "(workload key compress_ratio); 7.2's legacy method: deprecated in 8.2, removed in 9.1",
     mdl__compress_params, "7.2 (removed in 9.1)", "9.1"},
};
enum { MDL__FEATURES = sizeof mdl__features / sizeof mdl__features[0] };

const mdl_feature *mdl_feature_at(size_t i) { return i < MDL__FEATURES ? &mdl__features[i] : NULL; }

const mdl_feature *mdl_feature_find(const char *name) {
  for (size_t i = 0; i < MDL__FEATURES; i++)
    if (!strcmp(name, mdl__features[i].name)) return &mdl__features[i];
  return NULL;
}

int mdl_feature_removed(const mdl_feature *f, const char *version) {
  unsigned major = 0, minor = 0, gone_major = 0, gone_minor = 0;
  if (!f->removed_in || sscanf(version, "%u.%u", &major, &minor) != 2 ||
      sscanf(f->removed_in, "%u.%u", &gone_major, &gone_minor) != 2)
    return 0;
  return major > gone_major || (major == gone_major && minor >= gone_minor);
}

int mdl_feature_enabled(const mdl_scenario *s, const mdl_feature *f) {
  char v[8];
  mdl_scenario_get(s, f->name, v, sizeof v);
  return !strcmp(v, "1");
}

int mdl_variant_apply(mdl_scenario *s, const char *variant) {
  mdl_scenario probe = *s;
  char buf[256];
  if (strlen(variant) >= sizeof buf) return sim_errorf(SIM_ERANGE, "algo=%.40s...: too long", variant);
  memcpy(buf, variant, strlen(variant) + 1);
  char *plus = strchr(buf, '+');
  if (plus) *plus = '\0';
  int rc = mdl_algo_parse(buf, &probe.algo);
  if (rc) return rc;
  for (char *part = plus ? plus + 1 : NULL; part;) {
    char *next = strchr(part, '+');
    if (next) *next++ = '\0';
    if (!mdl_feature_find(part)) {
      char names[256] = "";
      for (size_t i = 0; i < MDL__FEATURES; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", mdl__features[i].name);
      return sim_errorf(SIM_EINVAL, "algo=%s: unknown feature '%s' (features: %s)", variant, part, names);
    }
    if ((rc = mdl_scenario_set(&probe, part, "yes"))) return rc;
    part = next;
  }
  *s = probe;
  return 0;
}

char *mdl_variant_name(const mdl_scenario *s, char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "%s", mdl_algo_name(s->algo));
  for (size_t i = 0; i < MDL__FEATURES && n < len; i++)
    if (mdl_feature_enabled(s, &mdl__features[i]))
      n += (size_t)snprintf(buf + n, len - n, "+%s", mdl__features[i].name);
  return buf;
}

void mdl_feature_help(FILE *out) {
  for (size_t i = 0; i < MDL__FEATURES; i++) fprintf(out, "  +%-21s %s\n", mdl__features[i].name, mdl__features[i].description);
}

void mdl_feature_md(FILE *out) {
  fprintf(out, "| feature (flag, `ALGO+feature`) | QEMU capability | its parameters (QEMU's names) | QEMU | what it does |\n"
               "|---|---|---|---|---|\n");
  for (size_t i = 0; i < MDL__FEATURES; i++) {
    const mdl_feature *f = &mdl__features[i];
    fprintf(out, "| `%s` | `%s` | ", f->name, f->capability);
    for (const mdl_feature_param *p = f->params; p->key; p++) fprintf(out, "%s`%s`", p == f->params ? "" : ", ", p->key);
    fprintf(out, " | %s | %s |\n", f->qemu, f->description);
  }
}
