/* mdl_profile: built-in hypervisor profiles and INI profile files (inih). */
#include "mdl_profile.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_err.h"
#include "sim_file.h"
#include "sim_units.h"

#ifndef MIGSIM_PROFILE_DIR
#define MIGSIM_PROFILE_DIR "models/profiles"
#endif

/* What both built-in profiles share: the page and message formats (QEMU's,
 * reused for Xen so its bytes compare), the loop constants and the link.
 * Fields not named are zero. */
#define MDL__SHARED_FIELDS                                                   \
  .page_header_bytes = 8, .zero_page_extra = 1, .discard_run_bytes = 16,    \
  .discard_header_bytes = 10, .request_bytes = 12,                          \
  .window_ns = 100 * SIM_NS_PER_MS, .max_step_ns = 50 * SIM_NS_PER_MS,      \
  .step_check_pages = 64, .link_bytes_per_s = 1.25e9,                       \
  .chunk_pages = (1u << 30) / 4096

/* QEMU 7.2 per docs/qemu-7.2.md. Machine constants are
 * generic defaults (a host with a 10 Gbit/s link and KVM); the TCG/loopback
 * values of this kind of machine live in models/profiles/qemu-7.2-tcg.ini. */
const mdl_profile mdl_profile_qemu72 = {
    MDL__SHARED_FIELDS,
    .name = "qemu-7.2",
    .driver = MDL_DRIVER_QEMU,
    .dirty_log = MDL_DIRTY_LOG_KVM,
    .detect_zero_pages = 1,
    .block_name_bytes = 7,
    .eos_bytes = 8,
    .zero_page_ns = 100.0,
    .normal_page_ns = 300.0,
    .setup_ns = 5 * SIM_NS_PER_MS,
    .sync_base_ns = 100 * SIM_NS_PER_US,
    .sync_ns_per_gib = 1.0e6,
    .stop_ns = 200 * SIM_NS_PER_US,
    .device_state_bytes = 120 * 1024,
    .dest_load_ns = 2 * SIM_NS_PER_MS,
    .socket_buffer_bytes = 2u << 20,
    /* A 4 KiB UFFDIO_COPY and a UFFDIO_ZEROPAGE on a current host: a few
     * microseconds (docs/postcopy-faults.md); calibration replaces them. */
    .postcopy_place_ns = 3000.0,
    .postcopy_place_zero_ns = 1500.0,
    /* Loading a received page in pre-copy: a 4 KiB copy, or a zero check
     * for a zero page (docs/simulator.md, "Socket and receiver"). */
    .dest_page_ns = 500.0,
    .dest_zero_page_ns = 300.0,
};

/* Xen's classic pre-copy (Clark et al. 2005, section 5): the first round at
 * a minimum rate, each later one at the previous round's dirty rate plus
 * 50 Mbit/s, pages re-dirtied during a round skipped; stop when under
 * 256 KiB remain, when the rate would exceed the maximum, after 30 rounds,
 * or after sending three times the guest's memory. Whole pages, no CPU or
 * setup costs: the paper's model. */
const mdl_profile mdl_profile_xen_classic = {
    MDL__SHARED_FIELDS,
    .name = "xen-classic",
    .driver = MDL_DRIVER_XEN,
    .dirty_log = MDL_DIRTY_LOG_TCG,
    .xen_min_rate = 100e6 / 8,
    .xen_rate_increment = 50e6 / 8,
    .xen_stop_bytes = 256 * 1024,
    .xen_max_rounds = 30,
    .xen_max_sent_factor = 3.0,
};

static const mdl_profile *const mdl__builtins[] = {&mdl_profile_qemu72,
                                                   &mdl_profile_xen_classic};

/* One table describes every settable constant: INI key, type, offset. */
typedef enum { MDL__U32, MDL__U64, MDL__DBL, MDL__NS, MDL__RATE, MDL__ENUM_LOG, MDL__ENUM_DRV } mdl__kind;
typedef struct {
  const char *key;
  mdl__kind kind;
  size_t offset;
  const char *doc;
} mdl__field;

#define F(key, kind, member, doc) {key, kind, offsetof(mdl_profile, member), doc}
static const mdl__field mdl__fields[] = {
    F("driver", MDL__ENUM_DRV, driver, "qemu | xen"),
    F("dirty_log", MDL__ENUM_LOG, dirty_log, "tcg | kvm: what a sync adds"),
    F("detect_zero_pages", MDL__U32, detect_zero_pages, "1: zero pages cost header + 1 byte"),
    F("page_header_bytes", MDL__U32, page_header_bytes, "bytes before each page"),
    F("block_name_bytes", MDL__U32, block_name_bytes, "extra header bytes when the RAM block changes"),
    F("zero_page_extra", MDL__U32, zero_page_extra, "bytes after a zero page's header"),
    F("eos_bytes", MDL__U32, eos_bytes, "end marker per iteration step"),
    F("discard_run_bytes", MDL__U32, discard_run_bytes, "post-copy discard list bytes per run"),
    F("discard_header_bytes", MDL__U32, discard_header_bytes, "bytes per discard command"),
    F("request_bytes", MDL__U32, request_bytes, "post-copy page request size"),
    F("window", MDL__NS, window_ns, "rate-limit and estimation window"),
    F("max_step", MDL__NS, max_step_ns, "cap on one iteration step"),
    F("step_check_pages", MDL__U32, step_check_pages, "pages between step-time checks"),
    F("link", MDL__RATE, link_bytes_per_s, "default link (loopback) speed"),
    F("zero_page_ns", MDL__DBL, zero_page_ns, "CPU ns per zero page"),
    F("normal_page_ns", MDL__DBL, normal_page_ns, "CPU ns per normal page"),
    F("setup", MDL__NS, setup_ns, "migration setup before the first sync"),
    F("sync_base", MDL__NS, sync_base_ns, "fixed cost of a dirty sync"),
    F("sync_ns_per_gib", MDL__DBL, sync_ns_per_gib, "sync cost per GiB of guest"),
    F("stop", MDL__NS, stop_ns, "stopping the guest at switchover"),
    F("device_state_bytes", MDL__U64, device_state_bytes, "device state at completion"),
    F("dest_load", MDL__NS, dest_load_ns, "destination load and start (return path)"),
    F("socket_buffer_bytes", MDL__U64, socket_buffer_bytes, "bytes in flight before the sender blocks"),
    F("postcopy_place_ns", MDL__DBL, postcopy_place_ns, "destination ns to place a normal page in post-copy"),
    F("postcopy_place_zero_ns", MDL__DBL, postcopy_place_zero_ns, "destination ns to place a zero page in post-copy"),
    F("dest_page_ns", MDL__DBL, dest_page_ns, "destination ns to load a normal page in pre-copy"),
    F("dest_zero_page_ns", MDL__DBL, dest_zero_page_ns, "destination ns to handle a zero page in pre-copy"),
    F("chunk_pages", MDL__U64, chunk_pages, "KVM lazy-clear chunk in pages"),
    F("extra_nonzero_pages", MDL__U64, extra_nonzero_pages, "non-zero pages of other RAM blocks (firmware, ROMs)"),
    F("extra_zero_pages", MDL__U64, extra_zero_pages, "zero pages of other RAM blocks"),
    F("xen_min_rate", MDL__RATE, xen_min_rate, "Xen first-round rate"),
    F("xen_rate_increment", MDL__RATE, xen_rate_increment, "Xen per-round rate increment"),
    F("xen_stop_bytes", MDL__U64, xen_stop_bytes, "Xen: stop when less remains"),
    F("xen_max_rounds", MDL__U32, xen_max_rounds, "Xen: iteration cap"),
    F("xen_max_sent_factor", MDL__DBL, xen_max_sent_factor, "Xen: stop after sending this x memory"),
};
#undef F

int mdl_profile_set(mdl_profile *p, const char *key, const char *value) {
  for (size_t i = 0; i < sizeof mdl__fields / sizeof mdl__fields[0]; i++) {
    const mdl__field *f = &mdl__fields[i];
    if (strcmp(f->key, key) != 0) continue;
    char *at = (char *)p + f->offset;
    uint64_t u;
    double d;
    sim_rate r;
    int rc = 0;
    switch (f->kind) {
      case MDL__U32:
        if ((rc = sim_parse_count(value, &u))) break;
        if (u > UINT32_MAX) return sim_errorf(SIM_ERANGE, "profile %s=%s is too large", key, value);
        *(uint32_t *)(void *)at = (uint32_t)u;
        break;
      case MDL__U64:
        if ((rc = sim_parse_bytes(value, 0, &u))) break;
        *(uint64_t *)(void *)at = u;
        break;
      case MDL__DBL:
        if ((rc = sim_parse_double(value, &d))) break;
        if (d < 0) return sim_errorf(SIM_ERANGE, "profile %s=%s must not be negative", key, value);
        *(double *)(void *)at = d;
        break;
      case MDL__NS:
        if ((rc = sim_parse_duration(value, SIM_NS_PER_MS, &u))) break;
        *(uint64_t *)(void *)at = u;
        break;
      case MDL__RATE:
        if ((rc = sim_parse_rate(value, SIM_RATE_BYTES, &r))) break;
        *(double *)(void *)at = sim_rate_bytes_per_s(r, 4096);
        break;
      case MDL__ENUM_LOG:
        if (strcmp(value, "tcg") == 0) p->dirty_log = MDL_DIRTY_LOG_TCG;
        else if (strcmp(value, "kvm") == 0) p->dirty_log = MDL_DIRTY_LOG_KVM;
        else return sim_errorf(SIM_EINVAL, "profile dirty_log=%s: expected tcg or kvm", value);
        break;
      case MDL__ENUM_DRV:
        if (strcmp(value, "qemu") == 0) p->driver = MDL_DRIVER_QEMU;
        else if (strcmp(value, "xen") == 0) p->driver = MDL_DRIVER_XEN;
        else return sim_errorf(SIM_EINVAL, "profile driver=%s: expected qemu or xen", value);
        break;
    }
    if (rc) return sim_errorf(rc, "profile %s: %s", key, sim_error_message());
    return 0;
  }
  return sim_errorf(SIM_ENOTFOUND, "unknown profile key '%s'", key);
}

typedef struct {
  mdl_profile *p;
  const char *path;
  int rc;
} mdl__ini_ctx;

static int mdl__ini_handler(void *user, const char *section, const char *name,
                            const char *value) {
  mdl__ini_ctx *c = user;
  (void)section;
  if (strcmp(name, "base") == 0 || strcmp(name, "name") == 0 ||
      strcmp(name, "comment") == 0)
    return 1;
  int rc = mdl_profile_set(c->p, name, value);
  if (rc) {
    c->rc = sim_errorf(rc, "%s: [%s] %s: %s", c->path, section, name, sim_error_message());
    return 0;
  }
  return 1;
}

/* Reads only the `base` key of a profile file. */
typedef struct {
  char base[64];
} mdl__base_ctx;

static int mdl__base_handler(void *user, const char *section, const char *name,
                             const char *value) {
  (void)section;
  mdl__base_ctx *c = user;
  if (strcmp(name, "base") == 0) snprintf(c->base, sizeof c->base, "%s", value);
  return 1;
}

static int mdl__load_file(const char *path, const char *display, mdl_profile *out, int depth) {
  if (depth > 8) return sim_errorf(SIM_EFORMAT, "%s: profile 'base' chain too deep", path);
  mdl__base_ctx b = {"qemu-7.2"};
  int perr = ini_parse(path, mdl__base_handler, &b);
  if (perr < 0) return sim_errorf(SIM_EIO, "cannot read profile %s: %s", path, strerror(errno));
  int rc;
  if (strcmp(b.base, display) == 0) return sim_errorf(SIM_EFORMAT, "%s: profile is its own base", path);
  /* Resolve the base first (recursively), then apply this file on top. */
  const mdl_profile *builtin = NULL;
  for (size_t i = 0; i < sizeof mdl__builtins / sizeof mdl__builtins[0]; i++)
    if (strcmp(mdl__builtins[i]->name, b.base) == 0) builtin = mdl__builtins[i];
  if (builtin) {
    *out = *builtin;
  } else {
    char base_path[1024];
    const char *dir = getenv("MIGSIM_PROFILE_DIR");
    snprintf(base_path, sizeof base_path, "%s/%s.ini", dir ? dir : MIGSIM_PROFILE_DIR, b.base);
    if ((rc = mdl__load_file(base_path, b.base, out, depth + 1))) return rc;
  }
  mdl__ini_ctx c = {out, path, 0};
  perr = ini_parse(path, mdl__ini_handler, &c);
  if (c.rc) return c.rc;
  if (perr > 0) return sim_errorf(SIM_EFORMAT, "%s:%d: malformed INI line", path, perr);
  snprintf(out->name, sizeof out->name, "%s", display);
  return 0;
}

int mdl_profile_load(const char *name, mdl_profile *out) {
  for (size_t i = 0; i < sizeof mdl__builtins / sizeof mdl__builtins[0]; i++) {
    if (strcmp(mdl__builtins[i]->name, name) == 0) {
      *out = *mdl__builtins[i];
      return 0;
    }
  }
  if (strchr(name, '/') || strstr(name, ".ini")) {
    if (access(name, R_OK) != 0)
      return sim_errorf(SIM_ENOTFOUND, "profile file %s: %s", name, strerror(errno));
    return mdl__load_file(name, name, out, 0);
  }
  char path[1024];
  const char *dir = getenv("MIGSIM_PROFILE_DIR");
  snprintf(path, sizeof path, "%s/%s.ini", dir ? dir : MIGSIM_PROFILE_DIR, name);
  if (access(path, R_OK) == 0) return mdl__load_file(path, name, out, 0);
  return sim_errorf(SIM_ENOTFOUND,
                    "unknown profile '%s' (built-in: qemu-7.2, xen-classic; or a "
                    "profile file in %s, or a path to an .ini file)",
                    name, dir ? dir : MIGSIM_PROFILE_DIR);
}

int mdl_profile_save(const mdl_profile *p, const char *base, const char *path,
                     const char *comment) {
  sim_file *f;
  int rc = sim_file_open(path, &f);
  if (rc) return rc;
  FILE *o = sim_file_stream(f);
  fprintf(o, "; migsim hypervisor profile\n");
  if (comment) fprintf(o, "; %s\n", comment);
  fprintf(o, "[profile]\nbase = %s\n", base ? base : "qemu-7.2");
  for (size_t i = 0; i < sizeof mdl__fields / sizeof mdl__fields[0]; i++) {
    const mdl__field *fl = &mdl__fields[i];
    const char *at = (const char *)p + fl->offset;
    fprintf(o, "; %s\n%s = ", fl->doc, fl->key);
    switch (fl->kind) {
      case MDL__U32: fprintf(o, "%" PRIu32 "\n", *(const uint32_t *)(const void *)at); break;
      case MDL__U64: fprintf(o, "%" PRIu64 "\n", *(const uint64_t *)(const void *)at); break;
      case MDL__DBL: fprintf(o, "%.6g\n", *(const double *)(const void *)at); break;
      case MDL__NS: fprintf(o, "%" PRIu64 "ns\n", *(const uint64_t *)(const void *)at); break;
      case MDL__RATE: fprintf(o, "%.6gB/s\n", *(const double *)(const void *)at); break;
      case MDL__ENUM_LOG: fprintf(o, "%s\n", p->dirty_log == MDL_DIRTY_LOG_TCG ? "tcg" : "kvm"); break;
      case MDL__ENUM_DRV: fprintf(o, "%s\n", p->driver == MDL_DRIVER_QEMU ? "qemu" : "xen"); break;
    }
  }
  return sim_file_commit(f);
}

void mdl_profile_list(FILE *out) {
  for (size_t i = 0; i < sizeof mdl__builtins / sizeof mdl__builtins[0]; i++)
    fprintf(out, "  %s (built-in)\n", mdl__builtins[i]->name);
  const char *dir = getenv("MIGSIM_PROFILE_DIR");
  if (!dir) dir = MIGSIM_PROFILE_DIR;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".ini") == 0)
      fprintf(out, "  %.*s (%s/%s)\n", (int)(n - 4), e->d_name, dir, e->d_name);
  }
  if (d) closedir(d);
  fprintf(out, "  or a path to an .ini profile file (docs/profiles.md)\n");
}
