/* mdl_algo: the algorithm table (see mdl_algo.h). */
#include "mdl_algo.h"

#include <string.h>

#include "sim_err.h"

static const char *const mdl__none[] = {NULL};
static const char *const mdl__postcopy_caps[] = {"postcopy-ram", NULL};
static const char *const mdl__postcopy_keys[] = {"postcopy-bandwidth", NULL};
static const char *const mdl__hybrid_keys[] = {"postcopy-bandwidth", "switch-policy", "switch-after", "switch-time",
                                               NULL};

static const mdl_algorithm mdl__algorithms[MDL_ALGO_COUNT] = {
    [MDL_ALGO_PRECOPY] = {MDL_ALGO_PRECOPY, "precopy",
                          "copy memory while the guest runs, then its dirty pages, until the rest fits "
                          "downtime-limit",
                          mdl__none, mdl__none, 0, 0},
    [MDL_ALGO_POSTCOPY] = {MDL_ALGO_POSTCOPY, "postcopy",
                           "post-copy at once: the destination runs and faults pages in on demand while "
                           "the rest streams",
                           mdl__postcopy_caps, mdl__postcopy_keys, 1, 0},
    [MDL_ALGO_HYBRID] = {MDL_ALGO_HYBRID, "hybrid",
                         "pre-copy, then post-copy when switch-policy says (syncs, non-convergence, time)",
                         mdl__postcopy_caps, mdl__hybrid_keys, 0, 1},
};

const mdl_algorithm *mdl_algorithm_of(mdl_algo a) { return &mdl__algorithms[a]; }

const mdl_algorithm *mdl_algorithm_find(const char *name) {
  for (int i = 0; i < MDL_ALGO_COUNT; i++)
    if (!strcmp(name, mdl__algorithms[i].name)) return &mdl__algorithms[i];
  return NULL;
}

static int mdl__listed(const char *const *list, const char *s) {
  for (; *list; list++)
    if (!strcmp(*list, s)) return 1;
  return 0;
}

int mdl_algorithm_has_capability(const mdl_algorithm *a, const char *cap) {
  return mdl__listed(a->capabilities, cap);
}

int mdl_algorithm_applies(const mdl_algorithm *a, const char *key) {
  if (mdl__listed(a->keys, key)) return 1;
  for (int i = 0; i < MDL_ALGO_COUNT; i++)
    if (mdl__listed(mdl__algorithms[i].keys, key)) return 0;
  return 1;
}

const char *mdl_algo_name(mdl_algo a) { return mdl__algorithms[a].name; }

int mdl_algo_parse(const char *name, mdl_algo *out) {
  const mdl_algorithm *a = mdl_algorithm_find(name);
  if (a) {
    *out = a->id;
    return 0;
  }
  char names[256];
  return sim_errorf(SIM_EINVAL, "algo=%s: expected %s", name, mdl_algo_list(names, sizeof names, ", ", " or "));
}

char *mdl_algo_list(char *buf, size_t len, const char *sep, const char *last) {
  size_t at = 0;
  if (len) buf[0] = '\0';
  for (int i = 0; i < MDL_ALGO_COUNT && at < len; i++) {
    int n = snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : i + 1 == MDL_ALGO_COUNT ? last : sep,
                     mdl__algorithms[i].name);
    if (n < 0) break;
    at += (size_t)n;
  }
  return buf;
}

void mdl_algo_help(FILE *out) {
  for (int i = 0; i < MDL_ALGO_COUNT; i++)
    fprintf(out, "  %-22s %s\n", mdl__algorithms[i].name, mdl__algorithms[i].description);
}

static void mdl__md_list(FILE *out, const char *const *list) {
  if (!*list) fputs("-", out);
  for (const char *const *p = list; *p; p++) fprintf(out, "%s`%s`", p == list ? "" : ", ", *p);
}

void mdl_algo_md(FILE *out) {
  fprintf(out, "| algorithm | QEMU capabilities | its parameters (besides the common ones) | what it does |\n|---|---|---|---|\n");
  for (int i = 0; i < MDL_ALGO_COUNT; i++) {
    const mdl_algorithm *a = &mdl__algorithms[i];
    fprintf(out, "| `%s` | ", a->name);
    mdl__md_list(out, a->capabilities);
    fputs(" | ", out);
    mdl__md_list(out, a->keys);
    fprintf(out, " | %s |\n", a->description);
  }
}
