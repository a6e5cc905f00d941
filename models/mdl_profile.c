/* mdl_profile: built-in hypervisor profiles and INI profile files. */
#include "mdl_profile.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdl_ini.h"
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
  .chunk_pages = (1u << 30) / 4096, .dest_region_pages = 512

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
    /* userfaultfd wakes the faulting thread: microseconds on an idle host
     * (docs/postcopy-faults.md, "Placed to running"). */
    .fault_resume_ns = 20000.0,
    /* QEMU leaves Nagle on the main channel's return path, and Linux holds
     * an acknowledgement up to 40 ms (TCP_DELACK_MIN) when it has no data
     * to carry it (docs/postcopy-faults.md, "Requests held by a delayed
     * acknowledgement"). */
    .rp_delayed_ack_ns = 40e6,
    /* The post-copy switch's discard list: the source walks the bitmap,
     * ~0.2 us a run; the destination discards each run it had received (a
     * madvise that splits the huge page holding it), ~7.5 us a run before
     * it can read the device state. Traced on the project's machine, QEMU
     * 7.2 and 10.0 alike (docs/postcopy-faults.md, "The switch's
     * discards"); a bare-metal host is likely faster. */
    .discard_run_ns = 210.0,
    .dest_discard_run_ns = 7500.0,
    /* XBZRLE: two 4 KiB copies and a 4 KiB compare (docs/features.md). */
    .xbzrle_page_ns = 2000.0,
    /* multifd and compress (docs/features.md). zlib: measured on the
     * project's 2-core machine with `migsim bench --compress` (pages of
     * the replay guest at compress_ratio 0.3): one stream per multifd
     * channel ~22 us a page at level 1, a stream per page as 7.2's
     * compress threads do ~45 us. zstd: the generic curve by level (500
     * MB/s at level 1, 5 MB/s at 20) scaled to level 1's 2.4 us a page,
     * and a channel's own cost 1.1 us a page: both measured on QEMU 7.2
     * and 10.0 with kvmreplay's cpu_workers_ms (docs/features.md, "What a
     * channel costs"); inflating costs a few microseconds. */
    .multifd_queue_page_ns = 100.0,
    .multifd_page_ns = 1100.0,
    .zlib_page_ns = {1600, 22000, 22000, 22000, 27000, 27000, 28000, 28000, 34000, 41000},
    .compress_page_ns = {2200, 45000, 45000, 45000, 50000, 50000, 50000, 50000, 51000, 52000},
    .zstd_page_ns = {3600, 2400, 3000, 3600, 4200, 6000, 7500, 9000, 10500, 12000, 15000,
                     21000, 24000, 36000, 42000, 54000, 75000, 105000, 135000, 180000, 240000},
    .zlib_dest_page_ns = 8000.0,
    .zstd_dest_page_ns = 3000.0,
    .legacy_compress = 1,
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

/* One table describes every settable constant: INI key, type, offset and
 * valid range (in the stored unit: bytes, ns, bytes/s, pages). The ranges
 * keep the simulator's arithmetic defined: no division by zero (windows,
 * step_check_pages, chunk_pages, rates are > 0), and every time and byte
 * count the simulator derives from them stays far below 2^63 for the
 * scenario ranges of mdl_scenario.c. See docs/profiles.md. */
typedef enum { MDL__U32, MDL__U64, MDL__DBL, MDL__NS, MDL__RATE, MDL__ENUM_LOG, MDL__ENUM_DRV, MDL__LEVELS } mdl__kind;
typedef struct {
  const char *key;
  mdl__kind kind;
  size_t offset;
  const char *doc;
  double lo, hi; /* both 0: an enum */
  size_t count;  /* MDL__LEVELS: doubles in the list (one per level) */
} mdl__field;

#define MDL__WIRE 65536.0     /* any one header or message: at most 64 KiB */
#define MDL__NS_MAX 3600e9    /* any one fixed cost: at most an hour */
#define MDL__RATE_MIN 1024.0  /* 1 KiB/s */
#define MDL__RATE_MAX 1099511627776.0 /* 1 TiB/s */
#define MDL__PAGES_MAX 1099511627776.0 /* 2^40 */

#define F(key, kind, member, doc, lo, hi) {key, kind, offsetof(mdl_profile, member), doc, lo, hi, 0}
/* A per-level list: "a,b,c" (levels past the last value take it). */
#define FL(key, member, doc, lo, hi) \
  {key, MDL__LEVELS, offsetof(mdl_profile, member), doc, lo, hi, sizeof(((mdl_profile *)0)->member) / sizeof(double)}
static const mdl__field mdl__fields[] = {
    F("driver", MDL__ENUM_DRV, driver, "qemu | xen", 0, 0),
    F("dirty_log", MDL__ENUM_LOG, dirty_log, "tcg | kvm: what a sync adds", 0, 0),
    F("detect_zero_pages", MDL__U32, detect_zero_pages, "1: zero pages cost header + 1 byte", 0, 1),
    F("transferred_all", MDL__U32, transferred_all, "1: transferred counts every byte of the stream (10.0), 0: RAM only (7.2)", 0, 1),
    F("rate_at_flush", MDL__U32, rate_at_flush, "1: rate limit and estimate count flushed bytes (10.0), 0: queued bytes (7.2)", 0, 1),
    F("expected_downtime_frozen", MDL__U32, expected_downtime_frozen, "1: expected-downtime not updated in post-copy (10.0), 0: updated (7.2)", 0, 1),
    F("avail_switchover_bandwidth", MDL__U32, avail_switchover_bandwidth, "1: the QEMU has avail-switchover-bandwidth (8.2+), 0: refused (7.2)", 0, 1),
    F("page_header_bytes", MDL__U32, page_header_bytes, "bytes before each page", 0, MDL__WIRE),
    F("block_name_bytes", MDL__U32, block_name_bytes, "extra header bytes when the RAM block changes", 0, MDL__WIRE),
    F("zero_page_extra", MDL__U32, zero_page_extra, "bytes after a zero page's header", 0, MDL__WIRE),
    F("eos_bytes", MDL__U32, eos_bytes, "end marker per iteration step", 0, MDL__WIRE),
    F("discard_run_bytes", MDL__U32, discard_run_bytes, "post-copy discard list bytes per run", 0, MDL__WIRE),
    F("discard_header_bytes", MDL__U32, discard_header_bytes, "bytes per discard command", 0, MDL__WIRE),
    F("request_bytes", MDL__U32, request_bytes, "post-copy page request size", 0, MDL__WIRE),
    F("window", MDL__NS, window_ns, "rate-limit and estimation window", 1e6, 60e9),
    F("max_step", MDL__NS, max_step_ns, "cap on one iteration step", 1e3, 60e9),
    F("step_check_pages", MDL__U32, step_check_pages, "pages between step-time checks", 1, 1048576),
    F("link", MDL__RATE, link_bytes_per_s, "default link (loopback) speed", MDL__RATE_MIN, MDL__RATE_MAX),
    F("stopped_link", MDL__RATE, stopped_link_bytes_per_s, "loopback speed while the source's guest is stopped at a pre-copy completion (0B/s: link)", 0, MDL__RATE_MAX),
    F("multifd_link", MDL__RATE, multifd_link_bytes_per_s, "loopback speed of each multifd channel on its own (0B/s: the channels share link)", 0, MDL__RATE_MAX),
    F("zero_page_ns", MDL__DBL, zero_page_ns, "CPU ns per zero page", 0, 1e9),
    F("normal_page_ns", MDL__DBL, normal_page_ns, "CPU ns per normal page", 0, 1e9),
    F("setup", MDL__NS, setup_ns, "migration setup before the first sync", 0, MDL__NS_MAX),
    F("sync_base", MDL__NS, sync_base_ns, "fixed cost of a dirty sync", 0, MDL__NS_MAX),
    F("sync_ns_per_gib", MDL__DBL, sync_ns_per_gib, "sync cost per GiB of guest", 0, 60e9),
    F("stop", MDL__NS, stop_ns, "stopping the guest at switchover", 0, MDL__NS_MAX),
    F("device_state_bytes", MDL__U64, device_state_bytes, "device state at completion", 0, 1099511627776.0),
    F("vmdesc_bytes", MDL__U64, vmdesc_bytes, "of device_state_bytes, the VM description (JSON), which QEMU does not send at a post-copy switch", 0, 1099511627776.0),
    F("device_save", MDL__NS, device_save_ns, "saving the device state and VM description at a pre-copy completion (not at a post-copy switch)", 0, MDL__NS_MAX),
    F("discard_run_ns", MDL__DBL, discard_run_ns, "post-copy switch: source CPU ns per run of the discard list", 0, 1e9),
    F("dest_discard_run_ns", MDL__DBL, dest_discard_run_ns, "post-copy switch: destination ns to discard one run of pages it had received, before the device state", 0, 1e9),
    F("dest_load", MDL__NS, dest_load_ns, "destination load and start (return path)", 0, MDL__NS_MAX),
    F("socket_buffer_bytes", MDL__U64, socket_buffer_bytes, "bytes in flight before the sender blocks", 0, 1073741824.0),
    F("postcopy_place_ns", MDL__DBL, postcopy_place_ns, "destination ns to place a normal page in post-copy", 0, 1e9),
    F("postcopy_place_zero_ns", MDL__DBL, postcopy_place_zero_ns, "destination ns to place a zero page in post-copy", 0, 1e9),
    F("dest_page_ns", MDL__DBL, dest_page_ns, "destination ns to load a normal page in pre-copy", 0, 1e9),
    F("dest_zero_page_ns", MDL__DBL, dest_zero_page_ns, "destination ns to handle a zero page in pre-copy", 0, 1e9),
    F("dest_region_pages", MDL__U64, dest_region_pages, "pages per destination huge page (a multiple of 64)", 64, MDL__PAGES_MAX),
    F("dest_region_ns", MDL__DBL, dest_region_ns, "destination ns to allocate a huge page on its first loaded page in pre-copy", 0, 1e9),
    F("preempt_urgent", MDL__U32, preempt_urgent, "1: with postcopy-preempt the return path sends requested pages itself (8.0+), 0: the migration thread, after its rate limit (7.2)", 0, 1),
    F("fault_resume_ns", MDL__DBL, fault_resume_ns, "post-copy: from placing a faulted page to its vCPU running again", 0, 1e9),
    F("fault_burst_ns", MDL__DBL, fault_burst_ns, "post-copy: how much longer a fault takes when its page lands while the main stream sends a rate-limited window's burst (its threads, woken from the rate-limit sleep, hold the host's cores)", 0, 1e9),
    F("fault_resume_busy_ns", MDL__DBL, fault_resume_busy_ns, "post-copy: how much longer the wake takes while the main stream is sending (its threads hold the host's cores)", 0, 1e9),
    F("rp_delayed_ack_ns", MDL__DBL, rp_delayed_ack_ns, "post-copy: how long the source may hold its TCP acknowledgement of a page request while the main stream sends nothing back; a request sent meanwhile waits for it (Nagle's algorithm on the return path; 0: never)", 0, 1e9),
    F("xbzrle_page_ns", MDL__DBL, xbzrle_page_ns, "source CPU ns per page through XBZRLE (cache, copy, encode)", 0, 1e9),
    F("multifd_queue_page_ns", MDL__DBL, multifd_queue_page_ns, "multifd: migration thread ns to queue a normal page", 0, 1e9),
    F("multifd_page_ns", MDL__DBL, multifd_page_ns, "multifd: channel thread ns to send one page", 0, 1e9),
    FL("zlib_page_ns", zlib_page_ns, "source ns to deflate one page, by level 0..9 (a comma list; missing levels: the last)", 0, 1e9),
    FL("compress_page_ns", compress_page_ns, "source ns for a legacy compress thread to deflate one page as its own stream, by level 0..9 (as zlib_page_ns)", 0, 1e9),
    F("worker_cpus", MDL__U32, worker_cpus, "host cores the multifd channels or compress threads share with the source's vCPU, equally among the runnable ones (0: a core each)", 0, 4096),
    F("vcpu_halt_min_ns", MDL__DBL, vcpu_halt_min_ns, "with worker_cpus: the guest halts through gaps between its accesses at least this long (0: never; its vCPU is always runnable)", 0, 1e12),
    F("vcpu_wake_spin_ns", MDL__DBL, vcpu_wake_spin_ns, "with vcpu_halt_min_ns: how long the vCPU is runnable before the access that ends a halt", 0, 1e12),
    FL("zstd_page_ns", zstd_page_ns, "source ns to zstd-compress one page, by level 0..20 (as zlib_page_ns)", 0, 1e9),
    F("zlib_dest_page_ns", MDL__DBL, zlib_dest_page_ns, "destination ns to inflate one page", 0, 1e9),
    F("zstd_dest_page_ns", MDL__DBL, zstd_dest_page_ns, "destination ns to zstd-decompress one page", 0, 1e9),
    F("multifd_zero_in_threads", MDL__U32, multifd_zero_in_threads, "1: multifd channels find zero pages (10.0), 0: the migration thread (7.2)", 0, 1),
    F("multifd_sync_per_round", MDL__U32, multifd_sync_per_round, "1: multifd channels synced when the cursor wraps (10.0), 0: after every iteration step (7.2)", 0, 1),
    F("multifd_count_sent", MDL__U32, multifd_count_sent, "1: multifd-bytes and the rate limit count bytes the channels wrote (10.0), 0: raw pages at hand-off (7.2)", 0, 1),
    F("multifd_count_on_wait", MDL__U32, multifd_count_on_wait, "with multifd_count_sent, 1: a channel's packet reaches the rate limit when the migration thread next waits (CPU-starved channels), 0: at hand-off", 0, 1),
    F("multifd_no_postcopy", MDL__U32, multifd_no_postcopy, "1: multifd with a post-copy algorithm refused (10.0), 0: allowed, unused in post-copy (7.2)", 0, 1),
    F("legacy_compress", MDL__U32, legacy_compress, "1: the compress capability exists (7.2), 0: refused (removed in 9.1)", 0, 1),
    F("chunk_pages", MDL__U64, chunk_pages, "KVM lazy-clear chunk in pages", 1, MDL__PAGES_MAX),
    F("extra_nonzero_pages", MDL__U64, extra_nonzero_pages, "non-zero pages of other RAM blocks (firmware, ROMs)", 0, 1073741824.0),
    F("extra_zero_pages", MDL__U64, extra_zero_pages, "zero pages of other RAM blocks", 0, 1073741824.0),
    F("xen_min_rate", MDL__RATE, xen_min_rate, "Xen first-round rate (>= 1KiB/s with driver xen)", 0, MDL__RATE_MAX),
    F("xen_rate_increment", MDL__RATE, xen_rate_increment, "Xen per-round rate increment", 0, MDL__RATE_MAX),
    F("xen_stop_bytes", MDL__U64, xen_stop_bytes, "Xen: stop when less remains", 0, 1099511627776.0),
    F("xen_max_rounds", MDL__U32, xen_max_rounds, "Xen: iteration cap (>= 1 with driver xen)", 0, 1e6),
    F("xen_max_sent_factor", MDL__DBL, xen_max_sent_factor, "Xen: stop after sending this x memory", 0, 1000),
};
#undef F
#undef FL

static sim_quantity mdl__field_quantity(const mdl__field *f) {
  switch (f->kind) {
    case MDL__NS: return SIM_QTY_NS;
    case MDL__RATE: return SIM_QTY_RATE;
    case MDL__DBL:
    case MDL__LEVELS: return SIM_QTY_NUMBER;
    default: return strstr(f->key, "bytes") ? SIM_QTY_BYTES : SIM_QTY_COUNT;
  }
}

static double mdl__field_value(const mdl_profile *p, const mdl__field *f) {
  const char *at = (const char *)p + f->offset;
  switch (f->kind) {
    case MDL__U32: return (double)*(const uint32_t *)(const void *)at;
    case MDL__DBL:
    case MDL__RATE: return *(const double *)(const void *)at;
    case MDL__ENUM_LOG: case MDL__ENUM_DRV: return 0;
    case MDL__LEVELS: { /* the list's value out of range, else its first */
      const double *v = (const void *)at;
      for (size_t i = 0; i < f->count; i++)
        if (!(v[i] >= f->lo && v[i] <= f->hi)) return v[i];
      return v[0];
    }
    default: return (double)*(const uint64_t *)(const void *)at;
  }
}

/* One line naming key, value (as written, or the stored one) and range. */
static int mdl__field_check(const mdl_profile *p, const mdl__field *f, const char *text) {
  /* A 64-page dirty-bitmap word must lie inside one huge page: checked
   * with the range, so that a key refused by the file's loader is refused
   * when it is set too. */
  if (f->offset == offsetof(mdl_profile, dest_region_pages) && p->dest_region_pages % 64)
    return sim_errorf(SIM_ERANGE, "profile dest_region_pages=%llu is not a multiple of 64",
                      (unsigned long long)p->dest_region_pages);
  if (f->lo == 0 && f->hi == 0) return 0;
  double v = mdl__field_value(p, f);
  if (v >= f->lo && v <= f->hi) return 0;
  char range[160], shown[64];
  sim_quantity q = mdl__field_quantity(f);
  sim_format_range(range, sizeof range, q, f->lo, f->hi);
  if (!text) text = sim_format_quantity(shown, sizeof shown, q, v);
  return sim_errorf(SIM_ERANGE, "profile %s=%s is out of range (valid: %s)", f->key, text, range);
}

int mdl_profile_validate(const mdl_profile *p) {
  for (size_t i = 0; i < sizeof mdl__fields / sizeof mdl__fields[0]; i++) {
    int rc = mdl__field_check(p, &mdl__fields[i], NULL);
    if (rc) return rc;
  }
  if ((unsigned)p->driver > MDL_DRIVER_XEN || (unsigned)p->dirty_log > MDL_DIRTY_LOG_KVM)
    return sim_errorf(SIM_EINVAL, "profile %s: driver or dirty_log out of range", p->name);
  if (p->vmdesc_bytes > p->device_state_bytes)
    return sim_errorf(SIM_ERANGE, "profile vmdesc_bytes=%llu is more than device_state_bytes=%llu, which includes it",
                      (unsigned long long)p->vmdesc_bytes, (unsigned long long)p->device_state_bytes);
  /* Xen's rounds divide by their rate and need at least one round. */
  if (p->driver == MDL_DRIVER_XEN && !(p->xen_min_rate >= MDL__RATE_MIN))
    return sim_errorf(SIM_ERANGE, "profile xen_min_rate=%g B/s is out of range for driver xen (valid: 1KiB/s..1TiB/s)",
                      p->xen_min_rate);
  if (p->driver == MDL_DRIVER_XEN && p->xen_max_rounds < 1)
    return sim_errorf(SIM_ERANGE, "profile xen_max_rounds=0 is out of range for driver xen (valid: 1..1000000)");
  return 0;
}

void mdl_profile_help(FILE *out) {
  for (size_t i = 0; i < sizeof mdl__fields / sizeof mdl__fields[0]; i++) {
    const mdl__field *f = &mdl__fields[i];
    char range[160] = "";
    if (f->lo != 0 || f->hi != 0) sim_format_range(range, sizeof range, mdl__field_quantity(f), f->lo, f->hi);
    fprintf(out, "| `%s` | %s | ", f->key, range[0] ? range : f->kind == MDL__ENUM_DRV ? "qemu, xen" : "tcg, kvm");
    for (const char *c = f->doc; *c; c++) fputs(*c == '|' ? "or" : (char[2]){*c, 0}, out);
    fputs(" |\n", out);
  }
}

int mdl_host_is(const char *part, const char *model) {
  return !part || !part[0] || (model && strstr(model, part));
}

int mdl_profile_host_matches(const mdl_profile *p, const char *cpu_model) {
  return mdl_host_is(p->host, cpu_model);
}

int mdl_profile_set(mdl_profile *p, const char *key, const char *value) {
  if (!strcmp(key, "host")) {
    size_t n = strlen(value);
    if (n >= sizeof p->host)
      return sim_errorf(SIM_ERANGE, "profile host = %.40s...: longer than %zu characters", value,
                        sizeof p->host - 1);
    memcpy(p->host, value, n + 1);
    return 0;
  }
  for (size_t i = 0; i < sizeof mdl__fields / sizeof mdl__fields[0]; i++) {
    const mdl__field *f = &mdl__fields[i];
    if (strcmp(f->key, key) != 0) continue;
    mdl_profile probe = *p;
    char *at = (char *)&probe + f->offset;
    uint64_t u;
    double d;
    sim_rate r;
    int rc = 0;
    switch (f->kind) {
      case MDL__U32:
        if ((rc = sim_parse_count(value, &u))) break;
        *(uint32_t *)(void *)at = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u; /* out of every range */
        break;
      case MDL__U64:
        if ((rc = sim_parse_bytes(value, 0, &u))) break;
        *(uint64_t *)(void *)at = u;
        break;
      case MDL__DBL:
        if ((rc = sim_parse_double(value, &d))) break;
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
      case MDL__LEVELS: {
        double *v = (double *)(void *)at;
        const char *c = value;
        size_t k = 0;
        for (; k < f->count && *c; k++) {
          char item[64];
          size_t n = strcspn(c, ",");
          if (n >= sizeof item) n = sizeof item - 1;
          memcpy(item, c, n);
          item[n] = '\0';
          if ((rc = sim_parse_double(item, &v[k]))) break;
          c += strcspn(c, ",");
          if (*c == ',') c++;
        }
        if (!rc && (k == 0 || *c))
          return sim_errorf(SIM_EINVAL, "profile %s=%s: expected 1 to %zu comma-separated numbers", key, value, f->count);
        for (; !rc && k < f->count; k++) v[k] = v[k - 1];
        break;
      }
      case MDL__ENUM_LOG:
        if (strcmp(value, "tcg") == 0) probe.dirty_log = MDL_DIRTY_LOG_TCG;
        else if (strcmp(value, "kvm") == 0) probe.dirty_log = MDL_DIRTY_LOG_KVM;
        else return sim_errorf(SIM_EINVAL, "profile dirty_log=%s: expected tcg or kvm", value);
        break;
      case MDL__ENUM_DRV:
        if (strcmp(value, "qemu") == 0) probe.driver = MDL_DRIVER_QEMU;
        else if (strcmp(value, "xen") == 0) probe.driver = MDL_DRIVER_XEN;
        else return sim_errorf(SIM_EINVAL, "profile driver=%s: expected qemu or xen", value);
        break;
    }
    if (rc) return sim_errorf(rc, "profile %s: %s", key, sim_error_message());
    if ((rc = mdl__field_check(&probe, f, value))) return rc;
    *p = probe;
    return 0;
  }
  return sim_errorf(SIM_ENOTFOUND, "unknown profile key '%s'", key);
}

/* Applies a profile file on top of its base (recursively resolved). The
 * file is read with the strict reader (mdl_ini.h): a repeated key, an
 * empty section or a malformed line is an error naming the line. */
static int mdl__load_file(const char *path, const char *display, mdl_profile *out, int depth) {
  if (depth > 8) return sim_errorf(SIM_EFORMAT, "%s: profile 'base' chain too deep", path);
  mdl_ini ini;
  int rc = mdl_ini_read(path, &ini);
  if (rc) return rc;
  char base[64] = "qemu-7.2";
  for (size_t i = 0; i < ini.count && !rc; i++)
    if (!strcmp(ini.entries[i].key, "base")) {
      if (strlen(ini.entries[i].value) >= sizeof base || !ini.entries[i].value[0] ||
          strchr(ini.entries[i].value, '/'))
        rc = sim_errorf(SIM_EFORMAT, "%s:%u: base = %.80s: expected a profile name", path,
                        ini.entries[i].line, ini.entries[i].value);
      else
        snprintf(base, sizeof base, "%s", ini.entries[i].value);
    }
  if (!rc && strcmp(base, display) == 0) rc = sim_errorf(SIM_EFORMAT, "%s: profile is its own base", path);
  /* Resolve the base first (recursively), then apply this file on top. */
  const mdl_profile *builtin = NULL;
  for (size_t i = 0; i < sizeof mdl__builtins / sizeof mdl__builtins[0]; i++)
    if (strcmp(mdl__builtins[i]->name, base) == 0) builtin = mdl__builtins[i];
  if (!rc && builtin) {
    *out = *builtin;
  } else if (!rc) {
    char base_path[1024];
    const char *dir = getenv("MIGSIM_PROFILE_DIR");
    snprintf(base_path, sizeof base_path, "%s/%s.ini", dir ? dir : MIGSIM_PROFILE_DIR, base);
    rc = mdl__load_file(base_path, base, out, depth + 1);
  }
  for (size_t i = 0; i < ini.count && !rc; i++) {
    const mdl_ini_entry *e = &ini.entries[i];
    if (!strcmp(e->key, "base") || !strcmp(e->key, "name") || !strcmp(e->key, "comment")) continue;
    if ((rc = mdl_profile_set(out, e->key, e->value)))
      rc = sim_errorf(rc, "%s:%u: %s", path, e->line, sim_error_message());
  }
  mdl_ini_free(&ini);
  if (!rc && (rc = mdl_profile_validate(out))) rc = sim_errorf(rc, "%s: %s", path, sim_error_message());
  if (!rc) snprintf(out->name, sizeof out->name, "%s", display);
  return rc;
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
  if (p->host[0])
    fprintf(o, "; the machine whose constants these are (its CPU's model name; docs/hosts.md)\nhost = %s\n",
            p->host);
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
      case MDL__LEVELS:
        for (size_t k = 0; k < fl->count; k++)
          fprintf(o, "%s%.6g", k ? "," : "", ((const double *)(const void *)at)[k]);
        fputc('\n', o);
        break;
    }
  }
  return sim_file_commit(f);
}

static int mdl__cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void mdl_profile_list(FILE *out, const char *cpu_model) {
  for (size_t i = 0; i < sizeof mdl__builtins / sizeof mdl__builtins[0]; i++)
    fprintf(out, "  %s (built-in)\n", mdl__builtins[i]->name);
  const char *dir = getenv("MIGSIM_PROFILE_DIR");
  if (!dir) dir = MIGSIM_PROFILE_DIR;
  /* Shipped files in name order (readdir's order is the file system's),
   * each with the machine it was calibrated on (docs/hosts.md). */
  char *names[256];
  size_t count = 0;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d)) && count < sizeof names / sizeof names[0];) {
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".ini") == 0 && (names[count] = strndup(e->d_name, n - 4))) count++;
  }
  if (d) closedir(d);
  qsort(names, count, sizeof names[0], mdl__cmp_str);
  for (size_t i = 0; i < count; i++) {
    char host[MDL_PROFILE_HOST_MAX + 64] = "";
    mdl_profile p;
    if (mdl_profile_load(names[i], &p) == 0 && p.host[0])
      snprintf(host, sizeof host, "; calibrated on '%s'%s", p.host,
               !cpu_model ? "" : mdl_profile_host_matches(&p, cpu_model) ? ", this machine" : ", not this machine");
    fprintf(out, "  %s (%s/%s.ini%s)\n", names[i], dir, names[i], host);
    free(names[i]);
  }
  fprintf(out, "  or a path to an .ini profile file (docs/profiles.md)\n");
}
