/* mdl_scenario: one migration experiment, and the result schema shared by
 * the simulator and kvmreplay.
 *
 * Scenario = guest + workload + link + profile + algorithm + seed. Every
 * parameter has one name used alike by CLI flags (--name), scenario files
 * (INI: name = value) and sweeps (--sweep name=v1,v2), through
 * mdl_scenario_set(); so a new parameter is added in exactly one table. */
#ifndef MDL_SCENARIO_H
#define MDL_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mdl_algo.h"
#include "mdl_profile.h"

/* When a hybrid run issues the switch to post-copy. */
typedef enum {
  MDL_SWITCH_SYNCS,       /* once dirty_sync_count reaches switch_after */
  MDL_SWITCH_NONCONVERGE, /* a sync period dirtied more bytes than it sent */
  MDL_SWITCH_TIME         /* at switch_time_ns after the start */
} mdl_switch_policy;

#define MDL_TEXT_MAX 1024

typedef struct {
  char name[MDL_TEXT_MAX];      /* label for reports; default derived */
  char workload[MDL_TEXT_MAX];  /* trace path or generator spec */
  uint64_t pages;               /* guest pages (0: from the trace) */
  uint32_t page_size;           /* 4096 */
  uint64_t workload_duration_ns;/* generator length before it loops; 0 = endless */
  uint64_t trace_offset_ns;     /* trace time that coincides with migration start */
  int loop;                     /* loop a trace shorter than the run (default 1) */
  char profile[MDL_TEXT_MAX];   /* profile name or file */
  char qemu[512];               /* real runs (kvmreplay): QEMU binary, a path
                                   or a short name such as 10.0; "" = the
                                   qemu-system-x86_64 in PATH */
  mdl_algo algo;
  double max_bandwidth;         /* bytes/s, QEMU max-bandwidth */
  uint64_t downtime_limit_ns;   /* QEMU downtime-limit */
  double link_bandwidth;        /* bytes/s; 0 = the profile's link speed */
  uint64_t latency_ns;          /* one-way */
  double postcopy_bandwidth;    /* bytes/s; 0 = link speed */
  mdl_switch_policy switch_policy;
  uint32_t switch_after;        /* dirty syncs before a hybrid switch */
  uint64_t switch_time_ns;      /* hybrid switch time for MDL_SWITCH_TIME */
  uint64_t timeout_ns;          /* simulated-time limit (not_converged) */
  uint64_t seed;
  int timeline;                 /* record a per-window timeline */
  /* Where the trace sits in a larger guest (e.g. kvmreplay's guest, whose
   * kernel and module come first): trace page p is guest page
   * guest_offset + p, guest_extra_pages follow the trace, and the pages of
   * guest_nonzero (ranges of guest pages) are non-zero at the start. */
  uint64_t guest_offset;
  uint64_t guest_extra_pages;
  char guest_nonzero[MDL_TEXT_MAX];
  /* Features (mdl_feature.h, docs/features.md), named as QEMU's
   * capabilities and parameters. auto-converge: */
  int auto_converge;
  uint32_t cpu_throttle_initial;       /* % (QEMU default 20) */
  uint32_t cpu_throttle_increment;     /* % (10) */
  int cpu_throttle_tailslow;           /* (no) */
  uint32_t max_cpu_throttle;           /* % (99) */
  uint32_t throttle_trigger_threshold; /* % of the bytes sent (50) */
  /* xbzrle: */
  int xbzrle;
  uint64_t xbzrle_cache_size;          /* bytes, a power-of-two number of pages (64 MiB) */
  /* postcopy-preempt: */
  int postcopy_preempt;
  /* multifd: */
  int multifd;
  uint32_t multifd_channels;           /* (2) */
  char multifd_compression[8];         /* none | zlib | zstd (none) */
  uint32_t multifd_zlib_level;         /* 0..9 (1) */
  uint32_t multifd_zstd_level;         /* 0..20 (1) */
  /* compress (QEMU 7.2's legacy compress threads; gone in 9.1): */
  int compress;
  uint32_t compress_threads;           /* (8) */
  uint32_t compress_level;             /* 0..9 (1) */
  uint32_t decompress_threads;         /* (2) */
  /* QEMU 8.2+ avail-switchover-bandwidth: bytes/s the switchover may use,
   * replacing the bandwidth estimate in the threshold and in
   * expected-downtime; 0 = the estimate (and the only value 7.2 has). */
  double avail_switchover_bandwidth;
} mdl_scenario;

/* Defaults: qemu-7.2, precopy, 128 MiB/s, 300 ms, 60 s timeout, seed 1,
 * 512 MiB guest for generators, hybrid switch after 5 syncs. */
void mdl_scenario_defaults(mdl_scenario *s);

/* Sets parameter `key` from text (units accepted). 0, SIM_ENOTFOUND for an
 * unknown key, or a parse error naming the key. */
int mdl_scenario_set(mdl_scenario *s, const char *key, const char *value);

/* The linked parameter `bandwidth`: one rate for max-bandwidth,
 * postcopy-bandwidth and link, so that algorithms are compared at the same
 * speed (docs/scenarios.md). A flag, a sweep axis and a key of scenario
 * files. Each of the three that is given as well wins for its part,
 * whatever the order: its MDL_BW_* bit is in `keep`. */
enum { MDL_BW_MAX = 1, MDL_BW_POSTCOPY = 2, MDL_BW_LINK = 4 };
#define MDL_BANDWIDTH_KEY "bandwidth"

/* The MDL_BW_* bit of `key` (the name of one of the three), else 0. */
unsigned mdl_bandwidth_part(const char *key);

/* Sets the three parameters but those in `keep` to `value`, all or
 * nothing (checked on a copy). 0 or the parse error naming the part, e.g.
 * "bandwidth (sets link): ...". */
int mdl_scenario_set_bandwidth(mdl_scenario *s, const char *value, unsigned keep);

/* Checks the scenario as a whole (a workload is given, bandwidths > 0, ...)
 * and loads nothing. */
int mdl_scenario_validate(const mdl_scenario *s);

/* A stable 64-bit digest of every parameter's canonical text, leaving out
 * the keys in skip[0..nskip) (e.g. a sweep's axes): two scenarios with the
 * same digest are the same experiment. */
uint64_t mdl_scenario_digest(const mdl_scenario *s, const char *const *skip, size_t nskip);

/* The scenario with the values a simulation actually uses (`used`): pages
 * from the trace (or the generators' 131072) when not given, the
 * profile's link when link = 0, the link when postcopy-bandwidth = 0.
 * Loads and checks the profile (into *profile when not NULL), opens the
 * workload's header, and estimates the memory the run needs
 * (*memory_bytes when not NULL), refusing with the figure when it exceeds
 * the machine's memory or MIGSIM_MAX_MEMORY. Cost: one workload open. */
int mdl_scenario_resolve(const mdl_scenario *s, mdl_scenario *used, mdl_profile *profile,
                         uint64_t *memory_bytes);

/* Splits a sweep's value list for parameter `key`: at every ',' or ';',
 * except that a workload list splits at ',' only before an item that
 * starts a new spec or path (it has ':' or '/', names a generator, or is
 * not key=value), since specs contain commas themselves. Empty items are
 * dropped. 0 and a malloc'ed array of malloc'ed strings (free with
 * mdl_sweep_values_free), SIM_EINVAL for no values, SIM_ENOMEM. O(n). */
int mdl_sweep_split(const char *key, const char *text, char ***values, size_t *count);
void mdl_sweep_values_free(char **values, size_t count);

/* The parameter name (or `bandwidth`) at most two edits from `key`, for a
 * "did you mean"; NULL when none is. */
const char *mdl_scenario_suggest(const char *key);
/* For two different names of one parameter (an alias and what it stands
 * for: trace and workload, memory and pages), that parameter's name; NULL
 * otherwise (the same name, other parameters, an unknown key). Both in one
 * section or on one command line contradict each other. */
const char *mdl_scenario_same_param(const char *a, const char *b);

/* True for yes/no parameters (a CLI flag may then stand alone). */
int mdl_scenario_is_flag(const char *key);

/* Lists every parameter with its default and meaning. */
void mdl_scenario_help(FILE *out);

/* The parameter table as Markdown (key, valid range, default, meaning):
 * the source of docs/scenarios.md's table. */
void mdl_scenario_ranges_md(FILE *out);

/* Canonical text of one parameter's value (for result rows). */
void mdl_scenario_get(const mdl_scenario *s, const char *key, char *buf, size_t len);

const char *mdl_switch_policy_name(mdl_switch_policy p);
/* The policy named `name` into *out: 0, or SIM_EINVAL naming the choices
 * (*out unchanged). */
int mdl_switch_policy_parse(const char *name, mdl_switch_policy *out);

/* Reads a scenario file: INI with an optional [defaults] section applied to
 * every scenario and one section per scenario ([name]); keys are the
 * parameter names and `bandwidth` (mdl_scenario_set_bandwidth: within a
 * section, max-bandwidth, postcopy-bandwidth or link beside it win for
 * their part; a scenario section's `bandwidth` replaces all three of the
 * [defaults] but those the section gives itself). A file without sections is one scenario. Calls
 * fn(ctx, scenario) for each in file order; stops at the first non-zero
 * return. Errors name the file, line and key. */
int mdl_scenario_file_each(const char *path, const mdl_scenario *base,
                           int (*fn)(void *ctx, const mdl_scenario *s), void *ctx);

/* ---------------------------------------------------------------- */
/* Results: docs/design.md's metric names, for sim and kvmreplay    */
/* (their CSV columns, loader and QEMU fields: mdl_schema.h)        */

typedef enum { MDL_STATUS_COMPLETED, MDL_STATUS_NOT_CONVERGED, MDL_STATUS_FAILED } mdl_status;
const char *mdl_status_name(mdl_status s);
/* The status named `name`; anything else is MDL_STATUS_FAILED. */
mdl_status mdl_status_parse(const char *name);

/* One dirty sync ("round"): from this sync to the next (or the end). */
typedef struct {
  uint32_t round;             /* 1 = the setup sync */
  double start_ms, end_ms;
  uint64_t pages_sent, bytes_sent;
  uint64_t dirty_pages_at_sync;
  double bandwidth_est;       /* bytes/s, the estimate at the sync */
  uint32_t throttle_pct;      /* auto-converge: CPU throttle after the sync */
} mdl_round;

/* One timeline sample (per estimation window), on request. */
typedef struct {
  double t_ms;
  uint64_t transferred_bytes;
  uint64_t dirty_pages;
  double bandwidth_est;
  double threshold_bytes;
  uint32_t dirty_sync_count;
  char phase[12];             /* setup precopy stopped postcopy done */
  /* QEMU's dirty-pages-rate (pages/s, over the last sync period of at
   * least a second; -1 until one has ended: not measured yet) and the
   * auto-converge CPU throttle (%): what the send rate races against. */
  double dirty_pages_rate;
  uint32_t throttle_pct;
} mdl_sample;

typedef struct {
  char source[12];            /* "sim" | "kvmreplay" */
  mdl_status status;
  char failure[256];          /* reason when failed / not converged */
  double total_time_ms, downtime_ms, setup_time_ms, expected_downtime_ms;
  double guest_stall_ms;
  /* Guest degradation (docs/guest-metrics.md): the share of the workload's
   * accesses delayed by 1 ms or more, and the median and 99th
   * percentile of those delays; -1 when no access was delayed. */
  double delayed_share, delay_p50_ms, delay_p99_ms;
  uint64_t transferred_bytes, precopy_bytes, postcopy_bytes;
  uint64_t normal_pages, zero_pages, dirty_sync_count, postcopy_requests;
  double switch_time_ms;      /* hybrid/post-copy switch; -1 if none */
  /* auto-converge (docs/features.md): the highest CPU throttle reached,
   * and the workload time the guest lost to it. */
  uint64_t cpu_throttle_pct;
  double guest_throttle_ms;
  /* xbzrle (QEMU's xbzrle-cache counters): pages that hit the cache and
   * were encoded (overflows and unchanged pages included), their bytes
   * (encoded, or the page size for an overflow, page headers excluded),
   * cache misses, and pages whose encoding overflowed. */
  uint64_t xbzrle_pages, xbzrle_bytes, xbzrle_cache_miss, xbzrle_overflow;
  /* multifd (query-migrate ram.multifd-bytes): bytes QEMU counted for the
   * multifd channels (7.2: raw pages + packet headers, at hand-off; 10.0:
   * what the channels wrote). multifd_packets: packets sent, syncs
   * included (no QEMU counter). */
  uint64_t multifd_bytes, multifd_packets;
  /* compress (query-migrate's "compression" section): pages compressed,
   * times no thread was free (busy) and its rate, compressed bytes, and
   * the last period's raw / compressed ratio (-1 before the first). */
  uint64_t compression_pages, compression_busy, compressed_size;
  double compression_busy_rate, compression_rate;
  /* Real-run extras (empty for sim). */
  char integrity[48];         /* "ok", "N differing pages", "" */
  char accel[16];             /* kvm | tcg */
  char qemu_version[32];
  /* The machine: its CPU's model name as /proc/cpuinfo gives it (rows
   * from before the column existed hold a part of it, or nothing;
   * docs/hosts.md). */
  char host_cpu[MDL_HOST_CPU_MAX];
  double replay_lag_ms;       /* guest pacing lag */
  double replay_on_time;      /* fraction of writes on time */
  /* Host CPU time (ms) during the migration, per QEMU thread role
   * (docs/kvmreplay.md, "Host CPU"); -1: not measured. cpu_workers_ms
   * (compress threads, multifd channels) is simulated too. */
  double cpu_vcpu_ms, cpu_migration_ms, cpu_workers_ms, cpu_source_ms, cpu_dest_ms, cpu_wait_ms;

  mdl_round *rounds;
  size_t round_count, round_cap;
  mdl_sample *samples;
  size_t sample_count, sample_cap;
} mdl_result;

void mdl_result_init(mdl_result *r, const char *source);
/* Fills delayed_share, delay_p50_ms and delay_p99_ms from `accesses` (all
 * accesses the workload made) and a histogram of the delayed ones in
 * sim_hist.h buckets (`hist[SIM_HIST_BUCKETS]`). The one estimator both the
 * simulator and kvmreplay use, so their figures compare. */
void mdl_result_set_delays(mdl_result *r, uint64_t accesses, const uint64_t *hist);
void mdl_result_free(mdl_result *r);
/* Appends a round / sample (amortised O(1)). 0 or SIM_ENOMEM. */
int mdl_result_add_round(mdl_result *r, const mdl_round *round);
int mdl_result_add_sample(mdl_result *r, const mdl_sample *sample);

#endif
