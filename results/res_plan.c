/* res_plan: inputs, schedules, the optimiser's search and the page-exact
 * run of a capacity plan (res_plan.h; formats in docs/planning.md). */
#include "res_plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_fleet.h"
#include "mdl_ini.h"
#include "mdl_scenario.h"
#include "res_csv_read.h"
#include "res_plan_internal.h"
#include "sim_err.h"
#include "sim_units.h"
#include "wl_trace.h"

static const char *const res__policy_names[] = {"serial", "parallel", "shortest-first", "dirty-last",
                                                "optimise"};

const char *res_policy_name(res_policy p) { return p < RES_POLICY_COUNT ? res__policy_names[p] : "?"; }

int res_policy_parse(const char *name, res_policy *out) {
  for (int i = 0; i < RES_POLICY_COUNT; i++)
    if (strcmp(name, res__policy_names[i]) == 0) {
      *out = (res_policy)i;
      return 0;
    }
  if (strcmp(name, "optimize") == 0) {
    *out = RES_POLICY_OPTIMISE;
    return 0;
  }
  return sim_errorf(SIM_EINVAL, "unknown policy '%s' (serial, parallel, shortest-first, dirty-last, optimise)",
                    name);
}

static const char *const res__fallback_names[] = {"auto-converge", "hybrid", "postcopy"};

int res_fallbacks_parse(const char *list, unsigned *out) {
  if (strcmp(list, "none") == 0) {
    *out = 0;
    return 0;
  }
  unsigned bits = 0;
  for (const char *p = list;;) {
    size_t len = strcspn(p, ",");
    int found = 0;
    for (unsigned i = 0; i < 3; i++)
      if (len == strlen(res__fallback_names[i]) && strncmp(p, res__fallback_names[i], len) == 0) {
        bits |= 1u << i;
        found = 1;
      }
    if (!found)
      return sim_errorf(SIM_EINVAL, "unknown fallback '%.*s' (a list of auto-converge, hybrid, postcopy; or none)",
                        (int)len, p);
    if (!p[len]) break;
    p += len + 1;
  }
  *out = bits;
  return 0;
}

void res_plan_opts_defaults(res_plan_opts *o) {
  memset(o, 0, sizeof *o);
  o->downtime_limit_ns = 300 * SIM_NS_PER_MS;
  o->policy = RES_POLICY_OPTIMISE;
  o->max_parallel = 6;
  o->max_per_host = 2;
  o->fallbacks = RES_FALLBACK_ALL;
}

static void res__progress(const res_plan *P, const char *stage, uint64_t done, uint64_t total) {
  if (P->o.progress) P->o.progress(P->o.progress_ctx, stage, done, total);
}

/* ------------------------------------------------------------ topology */

static int res__host_index(const res_plan *P, const char *name) {
  for (size_t i = 0; i < P->nhosts; i++)
    if (strcmp(P->hosts[i].name, name) == 0) return (int)i;
  return -1;
}

static int res__rate(const char *file, unsigned line, const char *key, const char *text, double *out) {
  sim_rate r;
  if (sim_parse_rate(text, SIM_RATE_BYTES, &r) || r.kind != SIM_RATE_BYTES || !(r.value > 0))
    return sim_errorf(SIM_EINVAL, "%s:%u: %s: expected a rate > 0 such as 10Gbit/s, got '%s'", file, line, key,
                      text);
  *out = r.value;
  return 0;
}

static int res__load_topology(res_plan *P, const char *path) {
  mdl_ini ini;
  int rc = mdl_ini_read(path, &ini);
  if (rc) return rc;
  /* Sections first: hosts and racks get their indexes in file order. */
  for (size_t i = 0; i < ini.count && !rc; i++) {
    const mdl_ini_entry *e = &ini.entries[i];
    if (i > 0 && strcmp(ini.entries[i - 1].section, e->section) == 0) continue;
    if (strncmp(e->section, "host ", 5) == 0) {
      const char *name = e->section + 5;
      while (*name == ' ') name++;
      if (!*name || strlen(name) >= sizeof P->hosts[0].name || res__host_index(P, name) >= 0) {
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: [host NAME]: a new name of at most 63 characters", path, e->line);
        break;
      }
      res__host *h = realloc(P->hosts, (P->nhosts + 1) * sizeof *h);
      if (!h) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory");
        break;
      }
      P->hosts = h;
      memset(&h[P->nhosts], 0, sizeof *h);
      snprintf(h[P->nhosts].name, sizeof h->name, "%s", name);
      h[P->nhosts].rack = -1;
      h[P->nhosts].target = -1;
      h[P->nhosts].line = e->line;
      P->nhosts++;
    } else if (strncmp(e->section, "rack ", 5) == 0) {
      const char *name = e->section + 5;
      while (*name == ' ') name++;
      res__rack *r = realloc(P->racks, (P->nracks + 1) * sizeof *r);
      if (!r) {
        rc = sim_errorf(SIM_ENOMEM, "out of memory");
        break;
      }
      P->racks = r;
      memset(&r[P->nracks], 0, sizeof *r);
      snprintf(r[P->nracks].name, sizeof r->name, "%s", name);
      P->nracks++;
    } else if (e->section[0]) {
      rc = sim_errorf(SIM_EFORMAT, "%s:%u: unknown section [%s] (expected [host NAME] or [rack NAME])", path,
                      e->line, e->section);
    }
  }
  for (size_t i = 0; i < ini.count && !rc; i++) {
    const mdl_ini_entry *e = &ini.entries[i];
    uint64_t ns;
    if (!e->section[0]) {
      if (strcmp(e->key, "uplink") == 0)
        rc = res__rate(path, e->line, "uplink", e->value, &P->uplink);
      else if (strcmp(e->key, "latency") == 0) {
        if ((rc = sim_parse_duration(e->value, SIM_NS_PER_MS, &ns)))
          rc = sim_errorf(rc, "%s:%u: latency: %s", path, e->line, sim_error_message());
        P->latency_ns = ns;
      } else
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: unknown key '%s' (uplink, latency)", path, e->line, e->key);
    } else if (strncmp(e->section, "rack ", 5) == 0) {
      res__rack *r = &P->racks[P->nracks - 1];
      for (size_t k = 0; k < P->nracks; k++)
        if (strcmp(P->racks[k].name, e->section + 5) == 0) r = &P->racks[k];
      if (strcmp(e->key, "uplink") == 0)
        rc = res__rate(path, e->line, "uplink", e->value, &r->uplink);
      else
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: unknown key '%s' (uplink)", path, e->line, e->key);
    } else {
      const char *name = e->section + 5;
      while (*name == ' ') name++;
      res__host *h = &P->hosts[res__host_index(P, name)];
      if (strcmp(e->key, "nic") == 0)
        rc = res__rate(path, e->line, "nic", e->value, &h->nic);
      else if (strcmp(e->key, "latency") == 0) {
        if ((rc = sim_parse_duration(e->value, SIM_NS_PER_MS, &ns)))
          rc = sim_errorf(rc, "%s:%u: latency: %s", path, e->line, sim_error_message());
        h->latency_ns = ns;
      } else if (strcmp(e->key, "rack") == 0) {
        h->rack = -2;
        for (size_t k = 0; k < P->nracks; k++)
          if (strcmp(P->racks[k].name, e->value) == 0) h->rack = (int)k;
        if (h->rack < 0) rc = sim_errorf(SIM_EFORMAT, "%s:%u: rack '%s' has no [rack %s] section", path, e->line,
                                         e->value, e->value);
      } else if (strcmp(e->key, "target") == 0) {
        if (strcmp(e->value, "yes") == 0 || strcmp(e->value, "1") == 0)
          h->target = 1;
        else if (strcmp(e->value, "no") == 0 || strcmp(e->value, "0") == 0)
          h->target = 0;
        else
          rc = sim_errorf(SIM_EFORMAT, "%s:%u: target: expected yes or no, got '%s'", path, e->line, e->value);
      } else
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: unknown key '%s' (nic, latency, rack, target)", path, e->line,
                        e->key);
    }
  }
  for (size_t i = 0; i < P->nhosts && !rc; i++)
    if (!(P->hosts[i].nic > 0))
      rc = sim_errorf(SIM_EFORMAT, "%s:%u: [host %s] needs nic = RATE", path, P->hosts[i].line, P->hosts[i].name);
  if (!rc && P->nhosts < 2) rc = sim_errorf(SIM_EFORMAT, "%s: needs at least two [host NAME] sections", path);
  mdl_ini_free(&ini);
  return rc;
}

/* ----------------------------------------------------------- inventory */

static const char *const res__columns[] = {"name",     "host",     "dest",          "memory",       "workload",
                                           "dirty_rate", "wss",    "nonzero",       "profile",      "algo",
                                           "max_bandwidth", "max_downtime", "priority", "deadline"};
enum { RES__NCOLS = sizeof res__columns / sizeof res__columns[0] };

typedef struct {
  res_plan *P;
  int col[RES__NCOLS];
  int checked;
  int rc;
} res__inv;

static const char *res__cell(const res__inv *I, const char *const *cells, size_t n, const char *name) {
  for (int c = 0; c < RES__NCOLS; c++)
    if (strcmp(res__columns[c], name) == 0) {
      int k = I->col[c];
      return k >= 0 && (size_t)k < n ? cells[k] : "";
    }
  return "";
}

static int res__profile(res_plan *P, const char *name, uint32_t *out) {
  for (size_t i = 0; i < P->nprofiles; i++)
    if (strcmp(P->profiles[i].name, name) == 0) {
      *out = (uint32_t)i;
      return 0;
    }
  mdl_profile *g = realloc(P->profiles, (P->nprofiles + 1) * sizeof *g);
  if (!g) return sim_errorf(SIM_ENOMEM, "out of memory");
  P->profiles = g;
  int rc = mdl_profile_load(name, &g[P->nprofiles]);
  if (rc) return rc;
  /* Found again by the name it was asked by. */
  snprintf(g[P->nprofiles].name, sizeof g->name, "%s", name);
  *out = (uint32_t)P->nprofiles++;
  return 0;
}

/* Opens the workload: checks it, and reads what the estimate needs (the
 * first pass's bytes from the image, the write rate and spread from up to
 * 1 s of its writes). */
static int res__probe(res_plan *P, res__vm *v, uint64_t seed) {
  wl_open_opts o = {v->pages ? v->pages : 131072, 4096, seed, 0};
  wl_source *src = NULL;
  int rc = wl_source_open(v->workload, &o, &src);
  if (rc) return rc;
  const wl_meta *m = wl_source_meta(src);
  if (!v->pages) v->pages = m->pages;
  if (m->pages > v->pages) {
    wl_source_close(src);
    return sim_errorf(SIM_ERANGE, "the trace has %llu pages, more than memory", (unsigned long long)m->pages);
  }
  uint64_t nz = 0;
  for (size_t i = 0; i < m->nonzero_count; i++) nz += m->nonzero[i].last - m->nonzero[i].first + 1;
  const mdl_profile *pr = &P->profiles[v->profile];
  double normal = (double)(pr->page_header_bytes + 4096), zero = normal;
  if (pr->detect_zero_pages) zero = (double)(pr->page_header_bytes + pr->zero_page_extra);
  v->first_pass_bytes = (double)nz * normal + (double)(v->pages - nz) * zero;
  if (v->write_rate < 0) {
    /* Sample: writes in the first second and the distinct pages they hit;
     * uniform spread over wss: distinct(t) = wss (1 - exp(-rate t / wss)). */
    uint64_t words = (v->pages + 63) / 64;
    uint64_t *seen = calloc(words, sizeof *seen);
    wl_event *ev = malloc(4096 * sizeof *ev);
    uint64_t writes = 0, distinct = 0, last = 0;
    int more = seen && ev;
    while (more) {
      long n = wl_source_read(src, ev, 4096);
      if (n <= 0) break;
      for (long i = 0; i < n; i++) {
        if (ev[i].time_ns >= SIM_NS_PER_S || writes >= 2000000) {
          more = 0;
          break;
        }
        last = ev[i].time_ns;
        if (ev[i].op != WL_OP_WRITE || ev[i].pfn >= v->pages) continue;
        writes++;
        uint64_t bit = 1ull << (ev[i].pfn & 63);
        if (!(seen[ev[i].pfn >> 6] & bit)) distinct++;
        seen[ev[i].pfn >> 6] |= bit;
      }
    }
    free(seen);
    free(ev);
    double span = more ? 1.0 : (last > 0 ? (double)last / 1e9 : 1.0);
    if (span > 1) span = 1;
    v->write_rate = (double)writes / span;
    /* Solve distinct = W (1 - exp(-writes / W)) for W by bisection. */
    if (distinct == 0 || distinct >= writes) {
      v->wss = distinct ? (double)v->pages : 0;
    } else {
      double lo = (double)distinct, hi = (double)v->pages;
      for (int k = 0; k < 60; k++) {
        double mid = 0.5 * (lo + hi);
        if (mid * (1 - exp(-(double)writes / mid)) < (double)distinct)
          lo = mid;
        else
          hi = mid;
      }
      v->wss = 0.5 * (lo + hi);
    }
  }
  wl_source_close(src);
  return 0;
}

/* One line: "FILE:LINE: column: what". */
static int res__bad(res__inv *I, unsigned long line, const char *col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int res__bad(res__inv *I, unsigned long line, const char *col, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return I->rc = sim_errorf(SIM_EFORMAT, "%s:%lu: %s: %s", I->P->inventory, line, col, what);
}

static int res__row(void *ctx, unsigned long line, const char *const *header, size_t nheader,
                    const char *const *cells, size_t n) {
  res__inv *I = ctx;
  res_plan *P = I->P;
  const char *file = P->inventory;
  if (!I->checked) {
    for (int c = 0; c < RES__NCOLS; c++) I->col[c] = -1;
    for (size_t k = 0; k < nheader; k++) {
      int found = 0;
      for (int c = 0; c < RES__NCOLS; c++)
        if (strcmp(header[k], res__columns[c]) == 0) {
          I->col[c] = (int)k;
          found = 1;
        }
      if (!found)
        return I->rc = sim_errorf(SIM_EFORMAT,
                                  "%s:1: unknown column '%s' (name, host, dest, memory, workload, dirty_rate, wss, "
                                  "nonzero, profile, algo, max_bandwidth, max_downtime, priority, deadline)",
                                  file, header[k]);
    }
    if (I->col[0] < 0 || I->col[1] < 0)
      return I->rc = sim_errorf(SIM_EFORMAT, "%s:1: the columns 'name' and 'host' are required", file);
    I->checked = 1;
  }
  if (n == 1 && !cells[0][0]) return 0;              /* blank line */
  if (n >= 1 && cells[0][0] == '#') return 0;        /* comment */
  if (n > nheader) return res__bad(I, line, "row", "%zu cells, but the header has %zu columns", n, nheader);
  res__vm *g = realloc(P->vms, (P->nvms + 1) * sizeof *g);
  if (!g) return I->rc = sim_errorf(SIM_ENOMEM, "out of memory");
  P->vms = g;
  res__vm *v = &g[P->nvms];
  memset(v, 0, sizeof *v);
  v->line = line;
  v->write_rate = -1;
  const char *name = res__cell(I, cells, n, "name");
  if (!name[0]) return res__bad(I, line, "name", "empty (every VM needs a name)");
  for (size_t i = 0; i < P->nvms; i++)
    if (strcmp(P->vms[i].name, name) == 0)
      return res__bad(I, line, "name", "'%s' already on line %lu", name, P->vms[i].line);
  const char *host = res__cell(I, cells, n, "host");
  int h = res__host_index(P, host);
  if (h < 0) return res__bad(I, line, "host", "'%s' is not a [host] of %s", host, P->topology);
  v->src = (uint32_t)h;
  const char *dest = res__cell(I, cells, n, "dest");
  v->dst = UINT32_MAX;
  if (dest[0]) {
    int d = res__host_index(P, dest);
    if (d < 0) return res__bad(I, line, "dest", "'%s' is not a [host] of %s", dest, P->topology);
    if (d == h) return res__bad(I, line, "dest", "'%s' is the VM's own host", dest);
    v->dst = (uint32_t)d;
  }
  const char *memory = res__cell(I, cells, n, "memory");
  uint64_t bytes = 0;
  if (memory[0] && (sim_parse_bytes(memory, 4096, &bytes) || bytes < 4096 || bytes > (1ull << 44)))
    return res__bad(I, line, "memory", "expected a size from 4KiB to 16TiB such as 8GiB, got '%s'", memory);
  v->pages = (bytes + 4095) / 4096;
  const char *workload = res__cell(I, cells, n, "workload"), *rate = res__cell(I, cells, n, "dirty_rate");
  const char *wss = res__cell(I, cells, n, "wss"), *nonzero = res__cell(I, cells, n, "nonzero");
  char spec[256];
  if (workload[0] && (rate[0] || wss[0]))
    return res__bad(I, line, "workload", "give either workload or dirty_rate and wss, not both");
  if (!workload[0]) {
    if (!rate[0]) return res__bad(I, line, "workload", "empty (give workload, or dirty_rate and wss)");
    if (!v->pages) return res__bad(I, line, "memory", "empty (needed with dirty_rate)");
    sim_rate r;
    if (sim_parse_rate(rate, SIM_RATE_BYTES, &r) || !(r.value >= 0))
      return res__bad(I, line, "dirty_rate", "expected a rate such as 40MiB/s or 5000pages/s, got '%s'",
                 rate);
    double pages_per_s = r.kind == SIM_RATE_PAGES ? r.value : r.value / 4096;
    uint64_t wss_bytes = v->pages * 4096;
    if (wss[0] && (sim_parse_bytes(wss, 4096, &wss_bytes) || wss_bytes < 4096 || wss_bytes > v->pages * 4096))
      return res__bad(I, line, "wss", "expected a size from 4KiB to the memory, got '%s'", wss);
    double nz = 1;
    if (nonzero[0] && (sim_parse_fraction(nonzero, &nz) || nz < 0 || nz > 1))
      return res__bad(I, line, "nonzero", "expected a fraction such as 0.6 or 60%%, got '%s'", nonzero);
    uint64_t wss_pages = (wss_bytes + 4095) / 4096;
    if (pages_per_s > 0)
      snprintf(spec, sizeof spec, "uniform:wss=%llu,rate=%.17g,nonzero=%.17g", (unsigned long long)wss_pages,
               pages_per_s, nz);
    else
      snprintf(spec, sizeof spec, "idle:nonzero=%.17g", nz);
    v->write_rate = pages_per_s;
    v->wss = (double)wss_pages;
    workload = spec;
  } else if (nonzero[0]) {
    return res__bad(I, line, "nonzero", "only with dirty_rate (a workload sets its own image)");
  }
  v->workload = strdup(workload);
  v->name = strdup(name);
  if (!v->workload || !v->name) return I->rc = sim_errorf(SIM_ENOMEM, "out of memory");
  P->nvms++; /* owned from here: freed with the plan */
  const char *profile = res__cell(I, cells, n, "profile");
  if (res__profile(P, profile[0] ? profile : "qemu-7.2", &v->profile))
    return res__bad(I, line, "profile", "%s", sim_error_message());
  const char *algo = res__cell(I, cells, n, "algo");
  mdl_algo a = MDL_ALGO_PRECOPY;
  if (algo[0] && mdl_algo_parse(algo, &a)) return res__bad(I, line, "algo", "%s", sim_error_message());
  v->algo = (int)a;
  if (a != MDL_ALGO_PRECOPY && P->profiles[v->profile].driver != MDL_DRIVER_QEMU)
    return res__bad(I, line, "algo", "profile %s supports only precopy", P->profiles[v->profile].name);
  const char *maxbw = res__cell(I, cells, n, "max_bandwidth");
  if (maxbw[0]) {
    sim_rate r;
    if (sim_parse_rate(maxbw, SIM_RATE_BYTES, &r) || r.kind != SIM_RATE_BYTES || !(r.value > 0))
      return res__bad(I, line, "max_bandwidth", "expected a rate > 0 such as 1GiB/s, got '%s'", maxbw);
    v->max_bw = r.value;
  }
  const char *maxdt = res__cell(I, cells, n, "max_downtime");
  v->downtime_ns = P->o.downtime_limit_ns;
  if (maxdt[0] && (sim_parse_duration(maxdt, SIM_NS_PER_MS, &v->downtime_ns) || v->downtime_ns < SIM_NS_PER_MS ||
                   v->downtime_ns > 3600 * SIM_NS_PER_S))
    return res__bad(I, line, "max_downtime", "expected a duration from 1ms to 1h such as 300ms, got '%s'",
               maxdt);
  const char *prio = res__cell(I, cells, n, "priority");
  if (prio[0]) {
    char *end;
    long pv = strtol(prio, &end, 10);
    if (*end || end == prio || pv < -1000000 || pv > 1000000)
      return res__bad(I, line, "priority", "expected an integer (higher goes first), got '%s'", prio);
    v->priority = (int)pv;
  }
  const char *deadline = res__cell(I, cells, n, "deadline");
  v->deadline_ns = P->o.deadline_ns;
  if (deadline[0] && (sim_parse_duration(deadline, SIM_NS_PER_S, &v->deadline_ns) || v->deadline_ns == 0))
    return res__bad(I, line, "deadline", "expected a duration > 0 such as 15min, got '%s'", deadline);
  int rc = res__probe(P, v, 1 + P->nvms);
  if (rc) return res__bad(I, line, "workload", "%s", sim_error_message());
  if (v->pages > (1ull << 32)) return res__bad(I, line, "memory", "more than 16 TiB");
  if ((P->nvms & 1023) == 0) res__progress(P, "reading the inventory", P->nvms, 0);
  return 0;
}

/* Destinations for VMs without one: the target host with the fewest bytes
 * assigned so far (first in the file on a tie), in inventory order. */
static int res__assign(res_plan *P) {
  uint8_t *has = calloc(P->nhosts, 1);
  double *assigned = calloc(P->nhosts, sizeof *assigned);
  if (!has || !assigned) {
    free(has);
    free(assigned);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < P->nvms; i++) has[P->vms[i].src] = 1;
  for (size_t h = 0; h < P->nhosts; h++)
    if (P->hosts[h].target < 0) P->hosts[h].target = !has[h];
  int rc = 0;
  for (size_t i = 0; i < P->nvms && !rc; i++) {
    res__vm *v = &P->vms[i];
    if (v->dst != UINT32_MAX) {
      assigned[v->dst] += (double)v->pages;
      continue;
    }
    int best = -1;
    for (size_t h = 0; h < P->nhosts; h++)
      if (P->hosts[h].target && h != v->src && (best < 0 || assigned[h] < assigned[best])) best = (int)h;
    if (best < 0)
      rc = sim_errorf(SIM_EFORMAT, "%s:%lu: dest: empty and %s has no target host (a host without VMs, or target = yes)",
                      P->inventory, v->line, P->topology);
    else {
      v->dst = (uint32_t)best;
      assigned[best] += (double)v->pages;
    }
  }
  free(has);
  free(assigned);
  return rc;
}

/* Links and each VM's path (res_plan_internal.h). */
static int res__links(res_plan *P) {
  P->nlinks = 2 * P->nhosts + 1 + 2 * P->nracks;
  P->cap = calloc(P->nlinks, sizeof *P->cap);
  P->link_name = calloc(P->nlinks, sizeof *P->link_name);
  P->jobs = calloc(P->nvms + 1, sizeof *P->jobs);
  if (!P->cap || !P->link_name || !P->jobs) return sim_errorf(SIM_ENOMEM, "out of memory");
  for (size_t h = 0; h < P->nhosts; h++) {
    P->cap[2 * h] = P->cap[2 * h + 1] = P->hosts[h].nic;
    snprintf(P->link_name[2 * h], sizeof P->link_name[0], "%s out", P->hosts[h].name);
    snprintf(P->link_name[2 * h + 1], sizeof P->link_name[0], "%s in", P->hosts[h].name);
  }
  size_t sw = 2 * P->nhosts;
  P->cap[sw] = P->uplink > 0 ? P->uplink : INFINITY;
  snprintf(P->link_name[sw], sizeof P->link_name[0], "switch");
  for (size_t r = 0; r < P->nracks; r++) {
    double c = P->racks[r].uplink > 0 ? P->racks[r].uplink : INFINITY;
    P->cap[sw + 1 + 2 * r] = P->cap[sw + 2 + 2 * r] = c;
    snprintf(P->link_name[sw + 1 + 2 * r], sizeof P->link_name[0], "rack %s up", P->racks[r].name);
    snprintf(P->link_name[sw + 2 + 2 * r], sizeof P->link_name[0], "rack %s down", P->racks[r].name);
  }
  for (size_t i = 0; i < P->nvms; i++) {
    const res__vm *v = &P->vms[i];
    mdl_fleet_job *j = &P->jobs[i];
    j->src_host = v->src;
    j->dst_host = v->dst;
    j->links[j->nlinks++] = 2 * v->src;
    j->links[j->nlinks++] = 2 * v->dst + 1;
    if (P->uplink > 0) j->links[j->nlinks++] = (uint32_t)sw;
    int rs = P->hosts[v->src].rack, rd = P->hosts[v->dst].rack;
    if (rs != rd) {
      if (rs >= 0 && P->racks[rs].uplink > 0) j->links[j->nlinks++] = (uint32_t)(sw + 1 + 2 * (size_t)rs);
      if (rd >= 0 && P->racks[rd].uplink > 0) j->links[j->nlinks++] = (uint32_t)(sw + 2 + 2 * (size_t)rd);
    }
  }
  return 0;
}

/* The path's own speed (the slower NIC): the VM's link alone. */
static double res__path_rate(const res_plan *P, const res__vm *v) {
  double a = P->hosts[v->src].nic, b = P->hosts[v->dst].nic;
  return a < b ? a : b;
}

/* What the VM asks of the link: its rate limit, or its path. */
static double res__demand(const res_plan *P, const res__vm *v) {
  double path = res__path_rate(P, v);
  return v->max_bw > 0 && v->max_bw < path ? v->max_bw : path;
}

/* ------------------------------------------------------------ estimate */

typedef struct {
  double time_s, downtime_s;
  int converged;
} res__est;

/* Pages the VM dirties in a window of t seconds (uniform spread). */
static double res__dirtied(const res__vm *v, double t) {
  if (v->wss <= 0 || v->write_rate <= 0) return 0;
  return v->wss * (1 - exp(-v->write_rate * t / v->wss));
}

/* QEMU's auto-converge defaults (mdl_scenario_defaults, docs/features.md):
 * the plan runs auto-converge with them. */
enum { RES__THROTTLE_INITIAL = 20, RES__THROTTLE_INCREMENT = 10, RES__THROTTLE_MAX = 99, RES__THROTTLE_TRIGGER = 50 };

/* A fluid model of one migration at `rate` bytes/s: passes of the dirty
 * set as pre-copy sends them, QEMU's threshold (rate x downtime limit)
 * for the stop; post-copy sends the image once after a short stop; hybrid
 * pre-copies while the passes shrink by 10 % and then switches. With
 * `auto_converge` (pre-copy only) each pass counts as one dirty-rate
 * period: a pass that dirtied more than the trigger share of what it sent
 * counts, every second count starts or raises the throttle, and the guest
 * then dirties at (1 - throttle) of its rate. Cheap (no extra state), but
 * coarser than QEMU's periods of at least 1 s, so short passes throttle
 * sooner than QEMU would; the page-exact run and its repair judge. */
static res__est res__estimate(const res_plan *P, const res__vm *v, int algo, int auto_converge, double rate) {
  const mdl_profile *pr = &P->profiles[v->profile];
  double normal = (double)(pr->page_header_bytes + 4096);
  double setup = (double)pr->setup_ns / 1e9, stop = (double)pr->stop_ns / 1e9;
  double device = (double)pr->device_state_bytes / rate;
  double limit = (double)v->downtime_ns / 1e9, timeout = (double)P->o.timeout_ns / 1e9;
  res__est e = {0, 0, 1};
  /* The sender's CPU time per page caps what it can put on the link. */
  rate = 1 / (1 / rate + (double)pr->normal_page_ns / 1e9 / normal);
  double t = setup, x = v->first_pass_bytes;
  if (algo == MDL_ALGO_POSTCOPY) {
    e.downtime_s = stop + device + 0.002;
    e.time_s = setup + e.downtime_s + x / rate;
    return e;
  }
  double prev = INFINITY;
  unsigned throttle = 0, high = 0;
  for (int pass = 0; pass < 10000; pass++) {
    double dt = x / rate;
    t += dt;
    if (t >= timeout) break;
    double next = res__dirtied(v, dt * (1 - throttle / 100.0)) * normal;
    if (auto_converge && next > x * RES__THROTTLE_TRIGGER / 100 && ++high >= 2) {
      high = 0;
      throttle = throttle ? throttle + RES__THROTTLE_INCREMENT : RES__THROTTLE_INITIAL;
      if (throttle > RES__THROTTLE_MAX) throttle = RES__THROTTLE_MAX;
    }
    /* 10 % short of QEMU's threshold: the fluid model is optimistic near
     * the edge (no sync pauses, no page headers beyond the first). */
    if (next <= 0.9 * rate * limit) {
      e.downtime_s = next / rate + stop + device;
      e.time_s = t + e.downtime_s;
      return e;
    }
    if (algo == MDL_ALGO_HYBRID && pass >= 1 && next >= 0.9 * prev) {
      e.downtime_s = stop + device + 0.002;
      e.time_s = t + e.downtime_s + next / rate;
      return e;
    }
    /* stationary: never converges (a throttle that can still rise may yet) */
    if (next >= x * 0.999 && pass >= 3 && !(auto_converge && throttle < RES__THROTTLE_MAX)) break;
    prev = x;
    x = next;
  }
  e.converged = 0;
  e.time_s = timeout;
  e.downtime_s = -1;
  return e;
}

/* ------------------------------------------------- fluid fleet (search) */

typedef struct {
  double makespan_s;
  size_t violations; /* downtime over the limit, not converged, or late */
} res__score;

static int res__better(res__score a, res__score b) {
  if (a.violations != b.violations) return a.violations < b.violations;
  return a.makespan_s < b.makespan_s * (1 - 1e-9);
}

typedef struct {
  size_t vm;
  double remaining; /* bytes, or < 0 when it ends at a fixed time */
  double end_fixed, rate;
} res__flow;

static int res__est_ok(const res__vm *v, res__est e) {
  return e.converged && e.downtime_s * 1e9 <= (double)v->downtime_ns;
}

/* The schedule `order` under `lim` with the fluid model: each migration's
 * bytes are fixed at its start (its estimate at its first share), then it
 * drains them at its max-min share; one that would not converge holds its
 * share until its timeout. With `fallback`, the ladder of o.fallbacks: a
 * pre-copy VM that would not converge at its first share is planned with
 * auto-converge when the estimate says that converges within its limit,
 * else hybrid, else post-copy (else auto-converge, the only rung left);
 * one that would break its downtime limit with post-copy (sets algo_used
 * and auto_converge). Cost: O(VMs x concurrency x links). */
static res__score res__fluid(res_plan *P, const size_t *order, mdl_fleet_limits lim, int fallback, int commit) {
  size_t n = P->nvms, cap = lim.max_total ? lim.max_total : n;
  if (cap > n) cap = n;
  res__flow *fl = calloc(cap + 1, sizeof *fl);
  uint8_t *started = calloc(n + 1, 1);
  uint32_t *host_count = calloc(P->nhosts, sizeof *host_count);
  double *demand = calloc(cap + 1, sizeof *demand), *rate = calloc(cap + 1, sizeof *rate);
  double *work = calloc(2 * P->nlinks + cap + 1, sizeof *work);
  uint32_t(*path)[MDL_FLEET_MAX_PATH] = calloc(cap + 1, sizeof *path);
  uint32_t *plen = calloc(cap + 1, sizeof *plen);
  res__score sc = {INFINITY, SIZE_MAX};
  if (!fl || !started || !host_count || !demand || !rate || !work || !path || !plen) goto out;
  sc.makespan_s = 0;
  sc.violations = 0;
  size_t running = 0, first = 0, finished = 0;
  double now = 0;
  while (finished < n) {
    /* Start what fits, in order. */
    size_t newly = running;
    for (size_t i = first; i < n && running < cap; i++) {
      if (started[i]) continue;
      const mdl_fleet_job *j = &P->jobs[order[i]];
      if (lim.max_per_host &&
          (host_count[j->src_host] >= lim.max_per_host || host_count[j->dst_host] >= lim.max_per_host))
        continue;
      started[i] = 1;
      host_count[j->src_host]++;
      host_count[j->dst_host]++;
      fl[running++] = (res__flow){order[i], 0, 0, 0};
    }
    while (first < n && started[first]) first++;
    for (size_t f = 0; f < running; f++) {
      const res__vm *v = &P->vms[fl[f].vm];
      demand[f] = res__demand(P, v);
      memcpy(path[f], P->jobs[fl[f].vm].links, sizeof path[f]);
      plen[f] = P->jobs[fl[f].vm].nlinks;
    }
    mdl_fleet_maxmin(running, demand, (const uint32_t(*)[MDL_FLEET_MAX_PATH])path, plen, P->nlinks, P->cap, rate,
                     work);
    for (size_t f = newly; f < running; f++) {
      res__vm *v = &P->vms[fl[f].vm];
      int algo = v->algo, ac = 0;
      unsigned F = P->o.fallbacks;
      res__est e = res__estimate(P, v, algo, 0, rate[f]);
      if (fallback && F && algo == MDL_ALGO_PRECOPY && P->profiles[v->profile].driver == MDL_DRIVER_QEMU &&
          !res__est_ok(v, e)) {
        res__est a = {0, 0, 0};
        if (e.converged) {
          if (F & RES_FALLBACK_POSTCOPY) algo = MDL_ALGO_POSTCOPY;
        } else if ((F & RES_FALLBACK_AUTO_CONVERGE) &&
                   (res__est_ok(v, a = res__estimate(P, v, algo, 1, rate[f])) ||
                    !(F & (RES_FALLBACK_HYBRID | RES_FALLBACK_POSTCOPY)))) {
          ac = 1;
          e = a;
        } else {
          algo = F & RES_FALLBACK_HYBRID ? MDL_ALGO_HYBRID : MDL_ALGO_POSTCOPY;
        }
        if (algo != v->algo) e = res__estimate(P, v, algo, 0, rate[f]);
      }
      if (commit) {
        v->algo_used = algo;
        v->auto_converge = ac;
        v->fallback = algo != v->algo || ac;
      }
      int late = v->deadline_ns && (now + e.time_s) * 1e9 > (double)v->deadline_ns;
      if (!e.converged || e.downtime_s * 1e9 > (double)v->downtime_ns || late) sc.violations++;
      if (e.converged) {
        fl[f].remaining = e.time_s * rate[f];
      } else {
        fl[f].remaining = -1;
        fl[f].end_fixed = now + e.time_s;
      }
    }
    /* The next end. */
    double next = INFINITY;
    for (size_t f = 0; f < running; f++) {
      double end = fl[f].remaining < 0 ? fl[f].end_fixed : now + fl[f].remaining / rate[f];
      if (end < next) next = end;
    }
    if (!(next < INFINITY)) break; /* defensive: nothing can progress */
    double dt = next - now;
    now = next;
    for (size_t f = 0; f < running;) {
      int ends;
      if (fl[f].remaining < 0)
        ends = fl[f].end_fixed <= now;
      else {
        fl[f].remaining -= rate[f] * dt;
        ends = fl[f].remaining <= 1e-6 * rate[f];
      }
      if (!ends) {
        f++;
        continue;
      }
      const mdl_fleet_job *j = &P->jobs[fl[f].vm];
      host_count[j->src_host]--;
      host_count[j->dst_host]--;
      fl[f] = fl[--running];
      rate[f] = rate[running];
      finished++;
    }
  }
  sc.makespan_s = now;
out:
  free(fl);
  free(started);
  free(host_count);
  free(demand);
  free(rate);
  free(work);
  free(path);
  free(plen);
  return sc;
}

/* ------------------------------------------------------------- orders */

typedef enum { RES__BY_INVENTORY, RES__BY_SHORTEST, RES__BY_LONGEST, RES__BY_DIRTY_LAST, RES__ORDERS } res__order;
static const char *const res__order_names[] = {"inventory order", "shortest first", "longest first",
                                               "largest dirty rate last"};

/* qsort has no context argument: the plan being sorted (single-threaded,
 * as PLplot makes the whole plan anyway). */
static const res_plan *res__sort_plan;
static res__order res__sort_by;

/* Priority first (higher first), then the order's key, then inventory
 * order: a total order, so qsort's result is deterministic. */
static int res__cmp(const void *a, const void *b) {
  const res__vm *x = &res__sort_plan->vms[*(const size_t *)a], *y = &res__sort_plan->vms[*(const size_t *)b];
  if (x->priority != y->priority) return x->priority > y->priority ? -1 : 1;
  double kx = 0, ky = 0;
  switch (res__sort_by) {
  case RES__BY_SHORTEST: kx = x->est_s; ky = y->est_s; break;
  case RES__BY_LONGEST: kx = -x->est_s; ky = -y->est_s; break;
  case RES__BY_DIRTY_LAST: kx = x->write_rate; ky = y->write_rate; break;
  default: break;
  }
  if (kx != ky) return kx < ky ? -1 : 1;
  size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
  return ia < ib ? -1 : ia > ib;
}

static void res__make_order(const res_plan *P, res__order by, size_t *order) {
  for (size_t i = 0; i < P->nvms; i++) order[i] = i;
  res__sort_plan = P;
  res__sort_by = by;
  qsort(order, P->nvms, sizeof *order, res__cmp);
}

static void res__describe(res_plan *P, res__order by, mdl_fleet_limits lim) {
  char total[32] = "no limit", per[32] = "no limit";
  if (lim.max_total) snprintf(total, sizeof total, "%u", lim.max_total);
  if (lim.max_per_host) snprintf(per, sizeof per, "%u", lim.max_per_host);
  if (lim.max_total == 1)
    snprintf(P->schedule, sizeof P->schedule, "serial, %s", res__order_names[by]);
  else
    snprintf(P->schedule, sizeof P->schedule, "%s, at most %s at once, %s per host", res__order_names[by], total,
             per);
}

/* Orders x limits, estimated; the best (fewest VMs breaking a limit,
 * then the shortest makespan) wins. Serial is a candidate, so the chosen
 * estimate is never worse than serial's. */
static int res__optimise(res_plan *P, size_t *best_order) {
  static const uint32_t totals[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 0};
  static const uint32_t per_host[] = {1, 2, 3, 4, 0};
  size_t n = P->nvms, ncand = RES__ORDERS * (sizeof totals / sizeof totals[0]) * (sizeof per_host / sizeof per_host[0]);
  size_t *order = malloc(n * sizeof *order);
  if (!order) return sim_errorf(SIM_ENOMEM, "out of memory");
  res__score best = {INFINITY, SIZE_MAX};
  res__order best_by = RES__BY_INVENTORY;
  mdl_fleet_limits best_lim = {1, 0};
  size_t done = 0;
  for (int by = 0; by < RES__ORDERS; by++) {
    res__make_order(P, (res__order)by, order);
    for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++) {
      if (totals[t] > n || (totals[t] == 0 && n <= 64)) { /* the same as a larger total, or no limit */
        done += sizeof per_host / sizeof per_host[0];
        continue;
      }
      for (size_t h = 0; h < sizeof per_host / sizeof per_host[0]; h++, done++) {
        if (totals[t] == 1 && h > 0) continue; /* serial: a host limit changes nothing */
        mdl_fleet_limits lim = {totals[t], per_host[h]};
        res__score sc = res__fluid(P, order, lim, 1, 0);
        if (sc.violations == SIZE_MAX) {
          free(order);
          return sim_errorf(SIM_ENOMEM, "out of memory");
        }
        P->candidates++;
        if (res__better(sc, best)) {
          best = sc;
          best_by = (res__order)by;
          best_lim = lim;
        }
      }
      res__progress(P, "estimating schedules", done, ncand);
    }
  }
  res__make_order(P, best_by, best_order);
  P->limits = best_lim;
  res__describe(P, best_by, best_lim);
  free(order);
  return 0;
}

/* ------------------------------------------------------------ the run */

static void res__util_grow(res_plan *P, double t) {
  /* Past the last bin: merge pairs of bins (double their width). */
  while (t >= P->bin_s * RES__BINS) {
    for (size_t l = 0; l < P->nlinks; l++) {
      double *u = &P->util[l * RES__BINS];
      for (size_t b = 0; b < RES__BINS / 2; b++) u[b] = u[2 * b] + u[2 * b + 1];
      for (size_t b = RES__BINS / 2; b < RES__BINS; b++) u[b] = 0;
    }
    P->bin_s *= 2;
  }
}

/* Adds the links' allocated rates over [load_since_s, t) to the bins. */
static void res__util_until(res_plan *P, double t) {
  if (t <= P->load_since_s) return;
  res__util_grow(P, t);
  for (size_t l = 0; l < P->nlinks; l++) {
    double load = P->load_now[l];
    if (load <= 0) continue;
    double a = P->load_since_s;
    /* Bin by bin; the index moves on even when rounding puts `a` on a
     * bin's end. */
    for (size_t b = (size_t)(a / P->bin_s); a < t && b < RES__BINS; b++) {
      double bend = (double)(b + 1) * P->bin_s, e = bend < t ? bend : t;
      if (e > a) P->util[l * RES__BINS + b] += load * (e - a);
      if (e > a) a = e;
    }
  }
  P->load_since_s = t;
}

static void res__rates(void *ctx, uint64_t t_ns, const double *load, size_t nlinks) {
  res_plan *P = ctx;
  res__util_until(P, (double)t_ns / 1e9);
  memcpy(P->load_now, load, nlinks * sizeof *load);
}

static int res__prepare(void *ctx, size_t job, mdl_scenario *s, const mdl_profile **profile) {
  res_plan *P = ctx;
  const res__vm *v = &P->vms[job];
  snprintf(s->name, sizeof s->name, "%s", v->name);
  snprintf(s->workload, sizeof s->workload, "%s", v->workload);
  snprintf(s->profile, sizeof s->profile, "%s", P->profiles[v->profile].name);
  s->pages = v->pages;
  s->algo = (mdl_algo)v->algo_used;
  if (v->auto_converge) {
    int rc = mdl_scenario_set(s, "auto-converge", "yes");
    if (rc) return rc;
  }
  s->switch_policy = MDL_SWITCH_NONCONVERGE;
  s->link_bandwidth = res__path_rate(P, v);
  s->max_bandwidth = v->max_bw > 0 ? v->max_bw : s->link_bandwidth;
  s->downtime_limit_ns = v->downtime_ns;
  s->latency_ns = P->latency_ns + P->hosts[v->src].latency_ns + P->hosts[v->dst].latency_ns;
  s->timeout_ns = P->o.timeout_ns;
  s->seed = 1 + job;
  *profile = &P->profiles[v->profile];
  return P->o.adjust ? P->o.adjust(P->o.adjust_ctx, s) : 0;
}

static void res__finished(void *ctx, size_t job, uint64_t start_ns, const mdl_result *r) {
  res_plan *P = ctx;
  res__vm *v = &P->vms[job];
  v->start_s = (double)start_ns / 1e9;
  v->end_s = v->start_s + r->total_time_ms / 1e3;
  v->downtime_ms = r->status == MDL_STATUS_COMPLETED ? r->downtime_ms : -1;
  v->status = (int)r->status;
  v->transferred = r->transferred_bytes;
  v->cpu_throttle_pct = v->auto_converge ? r->cpu_throttle_pct : 0;
  v->guest_throttle_ms = v->auto_converge ? r->guest_throttle_ms : 0;
  v->done = 1;
  P->ran++;
  res__progress(P, "simulating migrations", (uint64_t)P->ran, P->nvms);
}

/* One page-exact run of the current schedule (order, limits, algo_used). */
static int res__simulate(res_plan *P) {
  memset(P->util, 0, P->nlinks * RES__BINS * sizeof *P->util);
  memset(P->load_now, 0, P->nlinks * sizeof *P->load_now);
  P->load_since_s = 0;
  P->ran = 0;
  P->bin_s = (P->est_makespan_s > 1 ? P->est_makespan_s * 1.25 : 1.25) / RES__BINS;
  for (size_t i = 0; i < P->nvms; i++) P->vms[i].done = 0;
  mdl_fleet_callbacks cb = {res__prepare, res__finished, res__rates, P};
  uint64_t makespan = 0;
  int rc = mdl_fleet_run(P->jobs, P->order, P->nvms, P->cap, P->nlinks, &P->limits, &cb, &makespan);
  if (rc) return rc;
  res__util_until(P, (double)makespan / 1e9);
  P->makespan_s = (double)makespan / 1e9;
  return 0;
}

static int res__broken(const res_plan *P, size_t i) {
  res_plan_vm_outcome o;
  res_plan_vm(P, i, &o);
  return o.status != MDL_STATUS_COMPLETED || o.over_downtime || o.late;
}

static res__score res__outcome_score(const res_plan *P) {
  res__score s = {P->makespan_s, 0};
  for (size_t i = 0; i < P->nvms; i++) s.violations += (size_t)res__broken(P, i);
  return s;
}

/* Gives the next rung of o.fallbacks to VMs that broke their downtime
 * limit or did not converge; returns how many changed. */
static size_t res__repair(res_plan *P) {
  size_t changed = 0;
  unsigned F = P->o.fallbacks;
  for (size_t i = 0; i < P->nvms; i++) {
    res__vm *v = &P->vms[i];
    res_plan_vm_outcome o;
    res_plan_vm(P, i, &o);
    if (P->profiles[v->profile].driver != MDL_DRIVER_QEMU) continue;
    if (o.status == MDL_STATUS_COMPLETED && !o.over_downtime) continue;
    /* Pre-copy that did not converge gets auto-converge (the guest stays
     * on the source, throttled), then hybrid (it pre-copies, then
     * switches when the passes stop shrinking). One that converged over
     * its limit (QEMU's threshold counts neither the device state nor the
     * sync pause) would do the same with either, which act only on
     * non-convergence: it gets post-copy, as does a hybrid fallback that
     * still broke a limit. */
    int not_converged = o.status != MDL_STATUS_COMPLETED;
    if (v->algo_used == MDL_ALGO_PRECOPY && not_converged && !v->auto_converge && (F & RES_FALLBACK_AUTO_CONVERGE))
      v->auto_converge = 1;
    else if (v->algo_used == MDL_ALGO_PRECOPY && not_converged && (F & RES_FALLBACK_HYBRID))
      v->algo_used = MDL_ALGO_HYBRID, v->auto_converge = 0;
    else if ((v->algo_used == MDL_ALGO_PRECOPY || (v->algo_used == MDL_ALGO_HYBRID && v->fallback)) &&
             (F & RES_FALLBACK_POSTCOPY))
      v->algo_used = MDL_ALGO_POSTCOPY, v->auto_converge = 0;
    else
      continue;
    v->fallback = 1;
    changed++;
  }
  if (changed) res__progress(P, "fallbacks after the page-exact run", changed, P->nvms);
  return changed;
}

/* What a page-exact run produced, to compare two schedules. */
typedef struct {
  res__vm *vms;
  size_t *order;
  double *util;
  mdl_fleet_limits limits;
  char schedule[160];
  double makespan_s, est_makespan_s, bin_s;
} res__snapshot;

static void res__snap_free(res__snapshot *s) {
  if (!s) return;
  free(s->vms);
  free(s->order);
  free(s->util);
  free(s);
}

/* from == NULL: a new snapshot of P (NULL when out of memory); otherwise
 * restores `from` into P and returns it. */
static res__snapshot *res__snap(res_plan *P, res__snapshot *from) {
  size_t nu = P->nlinks * RES__BINS;
  if (from) {
    memcpy(P->vms, from->vms, P->nvms * sizeof *P->vms);
    memcpy(P->order, from->order, P->nvms * sizeof *P->order);
    memcpy(P->util, from->util, nu * sizeof *P->util);
    P->limits = from->limits;
    memcpy(P->schedule, from->schedule, sizeof P->schedule);
    P->makespan_s = from->makespan_s;
    P->est_makespan_s = from->est_makespan_s;
    P->bin_s = from->bin_s;
    return from;
  }
  res__snapshot *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->vms = malloc(P->nvms * sizeof *s->vms);
  s->order = malloc(P->nvms * sizeof *s->order);
  s->util = malloc(nu * sizeof *s->util);
  if (!s->vms || !s->order || !s->util) {
    res__snap_free(s);
    return NULL;
  }
  memcpy(s->vms, P->vms, P->nvms * sizeof *P->vms); /* names are shared, not copied */
  memcpy(s->order, P->order, P->nvms * sizeof *P->order);
  memcpy(s->util, P->util, nu * sizeof *P->util);
  s->limits = P->limits;
  memcpy(s->schedule, P->schedule, sizeof s->schedule);
  s->makespan_s = P->makespan_s;
  s->est_makespan_s = P->est_makespan_s;
  s->bin_s = P->bin_s;
  return s;
}

int res_plan_run(res_plan *P) {
  size_t n = P->nvms;
  P->order = malloc((n + 1) * sizeof *P->order);
  P->util = calloc(P->nlinks * RES__BINS, sizeof *P->util);
  P->load_now = calloc(P->nlinks, sizeof *P->load_now);
  if (!P->order || !P->util || !P->load_now) return sim_errorf(SIM_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    res__vm *v = &P->vms[i];
    v->algo_used = v->algo;
    v->auto_converge = 0;
    v->est_s = res__estimate(P, v, v->algo, 0, res__demand(P, v)).time_s;
  }
  mdl_fleet_limits parallel = {P->o.max_parallel, P->o.max_per_host};
  int rc = 0;
  switch (P->o.policy) {
  case RES_POLICY_SERIAL:
    P->limits = (mdl_fleet_limits){1, 0};
    res__make_order(P, RES__BY_INVENTORY, P->order);
    res__describe(P, RES__BY_INVENTORY, P->limits);
    break;
  case RES_POLICY_PARALLEL:
    P->limits = parallel;
    res__make_order(P, RES__BY_INVENTORY, P->order);
    res__describe(P, RES__BY_INVENTORY, P->limits);
    break;
  case RES_POLICY_SHORTEST_FIRST:
    P->limits = parallel;
    res__make_order(P, RES__BY_SHORTEST, P->order);
    res__describe(P, RES__BY_SHORTEST, P->limits);
    break;
  case RES_POLICY_DIRTY_LAST:
    P->limits = parallel;
    res__make_order(P, RES__BY_DIRTY_LAST, P->order);
    res__describe(P, RES__BY_DIRTY_LAST, P->limits);
    break;
  default:
    rc = res__optimise(P, P->order);
    break;
  }
  if (rc) return rc;
  /* The chosen schedule's estimate; the optimiser's fallbacks are kept. */
  int optimise = P->o.policy == RES_POLICY_OPTIMISE;
  res__score sc = res__fluid(P, P->order, P->limits, optimise, 1);
  P->est_makespan_s = sc.makespan_s;
  if ((rc = res__simulate(P))) return rc;
  if (!optimise) return 0;
  /* Repair: a VM that broke its downtime limit or did not converge
   * page-exact gets the next fallback (pre-copy -> pre-copy with
   * auto-converge -> hybrid -> post-copy, the rungs of o.fallbacks), and
   * the plan runs again (once per rung at most). */
  int rounds = P->o.fallbacks & RES_FALLBACK_AUTO_CONVERGE ? 3 : 2;
  for (int round = 0; round < rounds && res__repair(P); round++)
    if ((rc = res__simulate(P))) return rc;
  /* A floor for small fleets: serial page-exact too, kept when better, so
   * the optimiser never returns a plan worse than serial. (Above 64 VMs
   * serial's simulated time, hence its cost, is too large; there the
   * guarantee holds for the estimates, serial being a candidate.) */
  if (n > 64 || P->limits.max_total == 1) return 0;
  res__snapshot *chosen = res__snap(P, NULL);
  if (!chosen) return sim_errorf(SIM_ENOMEM, "out of memory");
  res__score got = res__outcome_score(P);
  P->limits = (mdl_fleet_limits){1, 0};
  res__make_order(P, RES__BY_INVENTORY, P->order);
  for (size_t i = 0; i < n; i++) {
    P->vms[i].algo_used = P->vms[i].algo;
    P->vms[i].auto_converge = 0;
    P->vms[i].fallback = 0;
  }
  res__fluid(P, P->order, P->limits, 1, 1);
  if (!(rc = res__simulate(P)))
    for (int round = 0; round < rounds && res__repair(P); round++)
      if ((rc = res__simulate(P))) break;
  if (!rc && res__better(res__outcome_score(P), got)) {
    res__describe(P, RES__BY_INVENTORY, P->limits);
    P->est_makespan_s = res__fluid(P, P->order, P->limits, 0, 0).makespan_s;
  } else {
    res__snap(P, chosen); /* restore */
  }
  res__snap_free(chosen);
  return rc;
}

/* ------------------------------------------------------------- public */

int res_plan_load(const char *inventory, const char *topology, const res_plan_opts *o, res_plan **out) {
  *out = NULL;
  res_plan *P = calloc(1, sizeof *P);
  if (!P) return sim_errorf(SIM_ENOMEM, "out of memory");
  P->o = *o;
  if (!P->o.timeout_ns) P->o.timeout_ns = P->o.deadline_ns ? P->o.deadline_ns : 3600 * SIM_NS_PER_S;
  P->inventory = strdup(inventory);
  P->topology = strdup(topology);
  int rc = P->inventory && P->topology ? 0 : sim_errorf(SIM_ENOMEM, "out of memory");
  if (!rc) rc = res__load_topology(P, topology);
  if (!rc && o->nic_bytes_per_s > 0)
    for (size_t h = 0; h < P->nhosts; h++) P->hosts[h].nic = o->nic_bytes_per_s;
  if (!rc) {
    res__inv I = {P, {0}, 0, 0};
    rc = res_csv_each_line(inventory, res__row, &I);
    if (I.rc) rc = I.rc;
    else if (!rc && !P->nvms)
      rc = sim_errorf(SIM_EFORMAT, "%s: no VMs (a header line and one row per VM)", inventory);
  }
  if (!rc) rc = res__assign(P);
  if (!rc) rc = res__links(P);
  if (rc) {
    res_plan_free(P);
    return rc < 0 ? rc : SIM_EFORMAT;
  }
  *out = P;
  return 0;
}

void res_plan_summarise(const res_plan *P, res_plan_summary *s) {
  memset(s, 0, sizeof *s);
  s->vms = P->nvms;
  s->makespan_s = P->makespan_s;
  s->estimated_makespan_s = P->est_makespan_s;
  s->candidates = P->candidates;
  snprintf(s->schedule, sizeof s->schedule, "%s", P->schedule);
  for (size_t i = 0; i < P->nvms; i++) {
    res_plan_vm_outcome v;
    res_plan_vm(P, i, &v);
    s->completed += v.status == MDL_STATUS_COMPLETED;
    s->not_converged += v.status != MDL_STATUS_COMPLETED;
    s->over_downtime += (size_t)v.over_downtime;
    s->late += (size_t)v.late;
    s->fallbacks += (size_t)v.fallback;
  }
}

size_t res_plan_vm_count(const res_plan *P) { return P->nvms; }

int res_plan_vm(const res_plan *P, size_t i, res_plan_vm_outcome *out) {
  if (i >= P->nvms) return SIM_ERANGE;
  const res__vm *v = &P->vms[i];
  out->name = v->name;
  out->src_host = v->src;
  out->dst_host = v->dst;
  out->start_s = v->start_s;
  out->end_s = v->end_s;
  out->downtime_ms = v->downtime_ms;
  out->transferred_bytes = v->transferred;
  out->status = v->status;
  out->algo = v->algo_used;
  out->fallback = v->fallback;
  out->auto_converge = v->auto_converge;
  out->cpu_throttle_pct = v->cpu_throttle_pct;
  out->guest_throttle_ms = v->guest_throttle_ms;
  out->late = v->deadline_ns && v->end_s * 1e9 > (double)v->deadline_ns;
  out->over_downtime = v->downtime_ms >= 0 && v->downtime_ms * 1e6 > (double)v->downtime_ns;
  return 0;
}

int res_plan_vm_scenario(const res_plan *P, size_t i, mdl_scenario *s) {
  if (i >= P->nvms) return SIM_ERANGE;
  mdl_scenario_defaults(s);
  const mdl_profile *profile;
  res_plan copy = *P;
  copy.o.adjust = NULL;
  return res__prepare(&copy, i, s, &profile);
}

int res_plan_one_link(const res_plan *P, double *rate, uint64_t *latency_ns) {
  *rate = 0;
  *latency_ns = 0;
  if (!P->nvms) return sim_errorf(SIM_EINVAL, "no VMs");
  const res__vm *a = &P->vms[0];
  for (size_t i = 1; i < P->nvms; i++) {
    const res__vm *v = &P->vms[i];
    if (v->src != a->src || v->dst != a->dst)
      return sim_errorf(SIM_EUNSUPPORTED,
                        "%s goes %s -> %s, %s goes %s -> %s: a real run reproduces one shaped link, so every "
                        "VM must leave one host for one other",
                        a->name, P->hosts[a->src].name, P->hosts[a->dst].name, v->name, P->hosts[v->src].name,
                        P->hosts[v->dst].name);
  }
  const mdl_fleet_job *j = &P->jobs[0];
  double r = INFINITY;
  for (uint32_t k = 0; k < j->nlinks; k++)
    if (P->cap[j->links[k]] > 0 && P->cap[j->links[k]] < r) r = P->cap[j->links[k]];
  *rate = r;
  *latency_ns = P->latency_ns + P->hosts[a->src].latency_ns + P->hosts[a->dst].latency_ns;
  return 0;
}

void res_plan_free(res_plan *P) {
  if (!P) return;
  for (size_t i = 0; i < P->nvms; i++) {
    free(P->vms[i].name);
    free(P->vms[i].workload);
  }
  free(P->vms);
  free(P->hosts);
  free(P->racks);
  free(P->profiles);
  free(P->cap);
  free(P->link_name);
  free(P->jobs);
  free(P->order);
  free(P->util);
  free(P->load_now);
  free(P->inventory);
  free(P->topology);
  free(P);
}
