/* mdl_schema: the result schema, every column of summary.csv, rounds.csv
 * and timeline.csv listed once.
 *
 * The writer (results/res_output.c: header and rows), the loader
 * (results/res_load.c), kvmreplay's fill-in from query-migrate
 * (kvmreplay/kvr_run.c) and the column tables of docs/results.md
 * (`migsim run --columns`) are all expanded from the lists below, so a new
 * column is one line here (plus its field in mdl_scenario / mdl_result).
 * Like sim_err.h's SIM_ERRNO_MAP, each list is an X-macro; an entry is
 *
 *   X(column, TYPE, present, get, set, QSEC, qname, unit, meaning)
 *
 *   column   the CSV column name, spelt as a C identifier;
 *   TYPE     TEXT, U64 or DOUBLE: the cell's format (res_csv.h) and the
 *            C type of `get` and of `v` in `set` (const char *, uint64_t,
 *            double);
 *   present  expression, 0 when the value does not exist: the cell is
 *            then empty, not 0 (downtime of a run that never switched);
 *   get      expression: the value written;
 *   set      expression storing the loaded value `v` back; an empty or
 *            missing cell loads as "", 0 or -1 (TEXT, U64, DOUBLE).
 *            MDL_DERIVED for a column computed from other columns;
 *   QSEC, qname  where kvmreplay reads the metric in QEMU's query-migrate
 *            reply: TOP (the reply itself), RAM (its "ram" object), XBZ
 *            (its "xbzrle-cache" object) or CMP (its "compression"
 *            object) and
 *            the field's name; NONE and "" when QEMU has no such field;
 *   unit     the cell's unit for the docs ("" for none);
 *   meaning  one sentence for the docs, saying when the cell is empty.
 *
 * Expressions see `run_id` (a char array or pointer), `s` (mdl_scenario
 * *), `r` (mdl_result *) and, in the rounds and timeline lists, `d`
 * (mdl_round *) and `m` (mdl_sample *); helpers below. The summary is
 * MDL_KEY_COLUMNS (without algo), MDL_SCENARIO_COLUMNS, MDL_METRIC_COLUMNS;
 * rounds and timeline rows start with MDL_KEY_COLUMNS. */
#ifndef MDL_SCHEMA_H
#define MDL_SCHEMA_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mdl_scenario.h"

/* A column computed from others: not loaded (its inputs are). */
#define MDL_DERIVED ((void)0)
/* Stores text `v` into char array `dst`, cut to its size. */
#define MDL_TEXT_SET(dst, v) snprintf((dst), sizeof(dst), "%s", (v))

/* A time column back to integer ns (v in units of ns_per_unit; empty: 0).
 * Exact for the scenario's ranges (< 10^15 ns). */
static inline uint64_t mdl_schema_ns(double v, double ns_per_unit) {
  return v > 0 ? (uint64_t)llround(v * ns_per_unit) : 0;
}

/* Whether scenario parameter `key` applies to the run's algorithm (the
 * switch parameters: a hybrid's only); such columns are written only then. */
#define MDL__APPLIES(s, key) mdl_algorithm_applies(mdl_algorithm_of((s)->algo), key)

/* The first columns of every table: which run a row belongs to. `algo`
 * only in rounds and timeline (the summary has it among the scenario's
 * parameters). */
#define MDL_KEY_COLUMNS(X)                                                                            \
  X(run_id, TEXT, 1, run_id, MDL_TEXT_SET(run_id, v), NONE, "", "",                                   \
    "the run's id: the scenario's name, a sweep point's key, NAME#k for repeated real runs")          \
  X(source, TEXT, 1, r->source, MDL_TEXT_SET(r->source, v), NONE, "", "",                             \
    "`sim` (the simulator) or `kvmreplay` (a real QEMU run)")                                         \
  X(name, TEXT, 1, s->name, MDL_TEXT_SET(s->name, v), NONE, "", "", "the scenario's name")

#define MDL_ALGO_COLUMN(X)                                                                            \
  X(algo, TEXT, 1, mdl_algo_name(s->algo), mdl_algo_parse(v, &s->algo), NONE, "", "",                 \
    "migration algorithm (`migsim run --algorithms`)")

/* The scenario's parameters, as the run used them (mdl_scenario_resolve). */
#define MDL_SCENARIO_COLUMNS(X)                                                                       \
  X(workload, TEXT, 1, s->workload, MDL_TEXT_SET(s->workload, v), NONE, "", "",                       \
    "trace file or generator spec")                                                                   \
  X(pages, U64, s->pages != 0, s->pages, s->pages = v, NONE, "", "pages",                             \
    "guest pages (the trace's when not given; empty if unresolved)")                                  \
  X(page_size, U64, 1, s->page_size, s->page_size = (uint32_t)v, NONE, "", "bytes", "page size")      \
  X(memory_bytes, U64, s->pages != 0, s->pages * s->page_size, MDL_DERIVED, NONE, "", "bytes",        \
    "guest memory, pages x page_size")                                                                \
  MDL_ALGO_COLUMN(X)                                                                                  \
  X(profile, TEXT, 1, s->profile, MDL_TEXT_SET(s->profile, v), NONE, "", "", "hypervisor profile")    \
  X(max_bandwidth, DOUBLE, 1, s->max_bandwidth, s->max_bandwidth = v, NONE, "", "bytes/s",            \
    "QEMU max-bandwidth (the rate limit)")                                                            \
  X(downtime_limit_ms, DOUBLE, 1, (double)s->downtime_limit_ns / 1e6,                                 \
    s->downtime_limit_ns = mdl_schema_ns(v, 1e6), NONE, "", "ms", "QEMU downtime-limit")             \
  X(link_bandwidth, DOUBLE, s->link_bandwidth > 0, s->link_bandwidth,                                 \
    s->link_bandwidth = v > 0 ? v : 0, NONE, "", "bytes/s", "physical link (the profile's when not given)") \
  X(latency_ms, DOUBLE, 1, (double)s->latency_ns / 1e6, s->latency_ns = mdl_schema_ns(v, 1e6), NONE, \
    "", "ms", "one-way link latency")                                                                 \
  X(postcopy_bandwidth, DOUBLE, s->postcopy_bandwidth > 0, s->postcopy_bandwidth,                     \
    s->postcopy_bandwidth = v > 0 ? v : 0, NONE, "", "bytes/s",                                       \
    "QEMU max-postcopy-bandwidth (the link when not given)")                                          \
  X(switch_policy, TEXT, MDL__APPLIES(s, "switch-policy"), mdl_switch_policy_name(s->switch_policy),   \
    mdl_switch_policy_parse(v, &s->switch_policy), NONE, "", "",                                      \
    "hybrid switch policy: syncs, nonconverge or time (empty for other algorithms)")                 \
  X(switch_after, U64, MDL__APPLIES(s, "switch-after") && s->switch_policy == MDL_SWITCH_SYNCS,       \
    s->switch_after, s->switch_after = (uint32_t)v, NONE, "", "syncs",                                \
    "hybrid: switch once dirty_sync_count reaches it (empty unless policy syncs)")                   \
  X(switch_time_s, DOUBLE, MDL__APPLIES(s, "switch-time") && s->switch_policy == MDL_SWITCH_TIME,     \
    (double)s->switch_time_ns / 1e9, s->switch_time_ns = mdl_schema_ns(v, 1e9), NONE, "", "s",       \
    "hybrid: switch at this time (empty unless policy time)")                                         \
  X(timeout_s, DOUBLE, 1, (double)s->timeout_ns / 1e9, s->timeout_ns = mdl_schema_ns(v, 1e9), NONE,  \
    "", "s", "simulated-time limit; a run still going is not_converged")                             \
  X(trace_offset_s, DOUBLE, 1, (double)s->trace_offset_ns / 1e9,                                      \
    s->trace_offset_ns = mdl_schema_ns(v, 1e9), NONE, "", "s", "trace time at migration start")      \
  X(seed, U64, 1, s->seed, s->seed = v, NONE, "", "", "seed of every random stream")                 \
  X(auto_converge, U64, 1, (uint64_t)s->auto_converge, s->auto_converge = v != 0, NONE, "", "",       \
    "1 when QEMU's auto-converge was on (docs/features.md)")                                          \
  X(cpu_throttle_initial, U64, s->auto_converge, s->cpu_throttle_initial,                             \
    s->cpu_throttle_initial = (uint32_t)v, NONE, "", "%", "auto-converge: first throttle (empty when off)") \
  X(cpu_throttle_increment, U64, s->auto_converge, s->cpu_throttle_increment,                         \
    s->cpu_throttle_increment = (uint32_t)v, NONE, "", "%", "auto-converge: throttle step (empty when off)") \
  X(cpu_throttle_tailslow, U64, s->auto_converge, (uint64_t)s->cpu_throttle_tailslow,                 \
    s->cpu_throttle_tailslow = v != 0, NONE, "", "", "auto-converge: 1 with tailslow (empty when off)") \
  X(max_cpu_throttle, U64, s->auto_converge, s->max_cpu_throttle, s->max_cpu_throttle = (uint32_t)v,  \
    NONE, "", "%", "auto-converge: highest throttle (empty when off)")                                \
  X(throttle_trigger_threshold, U64, s->auto_converge, s->throttle_trigger_threshold,                 \
    s->throttle_trigger_threshold = (uint32_t)v, NONE, "", "%",                                       \
    "auto-converge: dirtied / sent per period that counts as not converging (empty when off)")       \
  X(xbzrle, U64, 1, (uint64_t)s->xbzrle, s->xbzrle = v != 0, NONE, "", "", "1 when QEMU's xbzrle was on") \
  X(xbzrle_cache_size, U64, s->xbzrle, s->xbzrle_cache_size, s->xbzrle_cache_size = v, NONE, "", "bytes", \
    "xbzrle: page cache size (empty when off)")                                                      \
  X(postcopy_preempt, U64, 1, (uint64_t)s->postcopy_preempt, s->postcopy_preempt = v != 0, NONE, "", "",  \
    "1 when QEMU's postcopy-preempt was on")                                                          \
  X(multifd, U64, 1, (uint64_t)s->multifd, s->multifd = v != 0, NONE, "", "", "1 when QEMU's multifd was on") \
  X(multifd_channels, U64, s->multifd, s->multifd_channels, s->multifd_channels = (uint32_t)v, NONE, "", "", \
    "multifd: channels (empty when off)")                                                             \
  X(multifd_compression, TEXT, s->multifd, s->multifd_compression, MDL_TEXT_SET(s->multifd_compression, v), \
    NONE, "", "", "multifd: none, zlib or zstd (empty when off)")                                     \
  X(multifd_zlib_level, U64, s->multifd && !strcmp(s->multifd_compression, "zlib"), s->multifd_zlib_level, \
    s->multifd_zlib_level = (uint32_t)v, NONE, "", "", "multifd: zlib level (empty unless zlib)")    \
  X(multifd_zstd_level, U64, s->multifd && !strcmp(s->multifd_compression, "zstd"), s->multifd_zstd_level, \
    s->multifd_zstd_level = (uint32_t)v, NONE, "", "", "multifd: zstd level (empty unless zstd)")    \
  X(compress, U64, 1, (uint64_t)s->compress, s->compress = v != 0, NONE, "", "",                      \
    "1 when QEMU 7.2's compress (legacy compress threads) was on")                                    \
  X(compress_threads, U64, s->compress, s->compress_threads, s->compress_threads = (uint32_t)v, NONE, "", "", \
    "compress: source threads (empty when off)")                                                      \
  X(compress_level, U64, s->compress, s->compress_level, s->compress_level = (uint32_t)v, NONE, "", "", \
    "compress: zlib level (empty when off)")                                                          \
  X(decompress_threads, U64, s->compress, s->decompress_threads, s->decompress_threads = (uint32_t)v, NONE, \
    "", "", "compress: destination threads (empty when off)")

/* The metrics (docs/design.md, "Metrics"), the same for both sources; a
 * column is named after QEMU's field where query-migrate has one. */
#define MDL_METRIC_COLUMNS(X)                                                                         \
  X(status, TEXT, 1, mdl_status_name(r->status), r->status = mdl_status_parse(v), NONE, "", "",       \
    "completed, not_converged (the timeout came first) or failed")                                   \
  X(total_time_ms, DOUBLE, 1, r->total_time_ms, r->total_time_ms = v, TOP, "total-time", "ms",        \
    "from migrate to completion")                                                                     \
  X(downtime_ms, DOUBLE, r->status == MDL_STATUS_COMPLETED, r->downtime_ms, r->downtime_ms = v, TOP,  \
    "downtime", "ms", "guest stopped on both sides (empty unless completed)")                        \
  X(downtime_over_limit, U64, r->status == MDL_STATUS_COMPLETED,                                      \
    r->downtime_ms > (double)s->downtime_limit_ns / 1e6, MDL_DERIVED, NONE, "", "",                   \
    "1 when downtime_ms exceeded downtime_limit_ms, else 0 (empty unless completed)")                \
  X(setup_time_ms, DOUBLE, 1, r->setup_time_ms, r->setup_time_ms = v, TOP, "setup-time", "ms",        \
    "migration setup before the first pass")                                                         \
  X(transferred_bytes, U64, 1, r->transferred_bytes, r->transferred_bytes = v, RAM, "transferred",    \
    "bytes", "RAM stream bytes: headers, payloads, end markers; no device state")                    \
  X(precopy_bytes, U64, 1, r->precopy_bytes, r->precopy_bytes = v, RAM, "precopy-bytes", "bytes",    \
    "bytes sent before a post-copy switch")                                                           \
  X(postcopy_bytes, U64, 1, r->postcopy_bytes, r->postcopy_bytes = v, RAM, "postcopy-bytes", "bytes", \
    "bytes sent after a post-copy switch")                                                            \
  X(normal_pages, U64, 1, r->normal_pages, r->normal_pages = v, RAM, "normal", "pages",               \
    "pages sent in full")                                                                             \
  X(zero_pages, U64, 1, r->zero_pages, r->zero_pages = v, RAM, "duplicate", "pages",                  \
    "pages sent as zero records")                                                                     \
  X(dirty_sync_count, U64, 1, r->dirty_sync_count, r->dirty_sync_count = v, RAM, "dirty-sync-count",  \
    "", "dirty-log syncs, the setup sync included")                                                   \
  X(postcopy_requests, U64, 1, r->postcopy_requests, r->postcopy_requests = v, RAM,                   \
    "postcopy-requests", "pages", "pages the destination asked for")                                  \
  X(guest_stall_ms, DOUBLE, 1, r->guest_stall_ms, r->guest_stall_ms = v, NONE, "", "ms",              \
    "time the guest was blocked (post-copy faults); measured inside the guest")                      \
  X(delayed_share, DOUBLE, r->delayed_share >= 0, r->delayed_share, r->delayed_share = v, NONE, "",   \
    "", "share of the workload's accesses delayed by 1 ms or more (docs/guest-metrics.md)")          \
  X(delay_p50_ms, DOUBLE, r->delay_p50_ms >= 0, r->delay_p50_ms, r->delay_p50_ms = v, NONE, "", "ms", \
    "median of those delays (empty when none was delayed)")                                          \
  X(delay_p99_ms, DOUBLE, r->delay_p99_ms >= 0, r->delay_p99_ms, r->delay_p99_ms = v, NONE, "", "ms", \
    "99th percentile of those delays (empty when none was delayed)")                                 \
  X(expected_downtime_ms, DOUBLE, 1, r->expected_downtime_ms, r->expected_downtime_ms = v, TOP,       \
    "expected-downtime", "ms", "QEMU's own estimate, last value seen while active")                  \
  X(cpu_throttle_percentage, U64, s->auto_converge, r->cpu_throttle_pct, r->cpu_throttle_pct = v, TOP, \
    "cpu-throttle-percentage", "%",                                                                   \
    "auto-converge: the highest CPU throttle reached (real: last seen while active; empty when off)") \
  X(guest_throttle_ms, DOUBLE, s->auto_converge, r->guest_throttle_ms, r->guest_throttle_ms = v, NONE, \
    "", "ms", "auto-converge: workload time the guest lost to the throttle (empty when off)")        \
  X(xbzrle_pages, U64, s->xbzrle, r->xbzrle_pages, r->xbzrle_pages = v, XBZ, "pages", "pages",         \
    "xbzrle: pages found in the cache and encoded (empty when off)")                                 \
  X(xbzrle_bytes, U64, s->xbzrle, r->xbzrle_bytes, r->xbzrle_bytes = v, XBZ, "bytes", "bytes",         \
    "xbzrle: their encoded bytes (page size for an overflow), page headers excluded (empty when off)") \
  X(xbzrle_cache_miss, U64, s->xbzrle, r->xbzrle_cache_miss, r->xbzrle_cache_miss = v, XBZ,            \
    "cache-miss", "pages", "xbzrle: pages not in the cache, sent in full (empty when off)")          \
  X(xbzrle_overflow, U64, s->xbzrle, r->xbzrle_overflow, r->xbzrle_overflow = v, XBZ, "overflow",      \
    "pages", "xbzrle: pages whose delta was larger than the page, sent in full (empty when off)")   \
  X(multifd_bytes, U64, s->multifd, r->multifd_bytes, r->multifd_bytes = v, RAM, "multifd-bytes", "bytes", \
    "multifd: bytes QEMU counted for the channels (7.2: raw pages + packet headers; empty when off)") \
  X(multifd_packets, U64, s->multifd && strcmp(r->source, "kvmreplay") != 0, r->multifd_packets, r->multifd_packets = v, NONE, "", "",       \
    "multifd: packets the channels sent, sync packets included (simulator only: empty for real runs and when off)")   \
  X(compression_pages, U64, s->compress, r->compression_pages, r->compression_pages = v, CMP, "pages", \
    "pages", "compress: pages compressed (zero pages not included; empty when off)")                \
  X(compression_busy, U64, s->compress, r->compression_busy, r->compression_busy = v, CMP, "busy", "", \
    "compress: times no thread was free and the page went uncompressed (empty when off)")           \
  X(compression_busy_rate, DOUBLE, s->compress, r->compression_busy_rate, r->compression_busy_rate = v, CMP, \
    "busy-rate", "", "compress: busy per page in the last period (empty when off)")                 \
  X(compressed_size, U64, s->compress, r->compressed_size, r->compressed_size = v, CMP, "compressed-size", \
    "bytes", "compress: bytes of the compressed pages, page headers excluded (empty when off)")     \
  X(compression_rate, DOUBLE, s->compress && r->compression_rate >= 0, r->compression_rate,            \
    r->compression_rate = v, CMP, "compression-rate", "",                                             \
    "compress: raw / compressed bytes in the last period (empty when off or before a period ended)") \
  X(switch_time_ms, DOUBLE, r->switch_time_ms >= 0, r->switch_time_ms, r->switch_time_ms = v, NONE,   \
    "", "ms", "when a post-copy switch happened (empty if none)")                                    \
  X(integrity, TEXT, 1, r->integrity, MDL_TEXT_SET(r->integrity, v), NONE, "", "",                    \
    "real runs: destination memory against the source, ok or N differing pages")                     \
  X(accel, TEXT, 1, r->accel, MDL_TEXT_SET(r->accel, v), NONE, "", "", "real runs: kvm or tcg")       \
  X(qemu_version, TEXT, 1, r->qemu_version, MDL_TEXT_SET(r->qemu_version, v), NONE, "", "",           \
    "real runs: the QEMU that ran")                                                                   \
  X(host_cpu, TEXT, 1, r->host_cpu, MDL_TEXT_SET(r->host_cpu, v), NONE, "", "",                       \
    "real runs: the machine, its CPU's model name as /proc/cpuinfo gives it (empty: not recorded)")   \
  X(replay_lag_ms, DOUBLE, r->replay_lag_ms >= 0, r->replay_lag_ms, r->replay_lag_ms = v, NONE, "",   \
    "ms", "real runs: the replay guest's largest lag behind the trace")                              \
  X(replay_on_time, DOUBLE, r->replay_on_time >= 0, r->replay_on_time, r->replay_on_time = v, NONE,   \
    "", "", "real runs: share of the trace's writes made on time")                                   \
  X(cpu_workers_ms, DOUBLE, r->cpu_workers_ms >= 0, r->cpu_workers_ms, r->cpu_workers_ms = v, NONE, "", \
    "ms", "CPU time of the compress threads or multifd send channels (simulated and real; empty when none)") \
  X(cpu_vcpu_ms, DOUBLE, r->cpu_vcpu_ms >= 0, r->cpu_vcpu_ms, r->cpu_vcpu_ms = v, NONE, "", "ms",       \
    "real runs: CPU time of the source's vCPU threads during the migration")                          \
  X(cpu_migration_ms, DOUBLE, r->cpu_migration_ms >= 0, r->cpu_migration_ms, r->cpu_migration_ms = v, \
    NONE, "", "ms", "real runs: CPU time of the source's migration thread")                           \
  X(cpu_source_ms, DOUBLE, r->cpu_source_ms >= 0, r->cpu_source_ms, r->cpu_source_ms = v, NONE, "",   \
    "ms", "real runs: CPU time of all source QEMU threads during the migration")                      \
  X(cpu_dest_ms, DOUBLE, r->cpu_dest_ms >= 0, r->cpu_dest_ms, r->cpu_dest_ms = v, NONE, "", "ms",     \
    "real runs: CPU time of all destination QEMU threads during the migration")                       \
  X(cpu_wait_ms, DOUBLE, r->cpu_wait_ms >= 0, r->cpu_wait_ms, r->cpu_wait_ms = v, NONE, "", "ms",     \
    "real runs: time both QEMUs' threads were runnable but waited for a host CPU, summed")            \
  X(failure, TEXT, 1, r->failure, MDL_TEXT_SET(r->failure, v), NONE, "", "",                          \
    "why a run failed or did not converge")

#define MDL_SUMMARY_COLUMNS(X) MDL_KEY_COLUMNS(X) MDL_SCENARIO_COLUMNS(X) MDL_METRIC_COLUMNS(X)

/* rounds.csv: one row per dirty sync ("round"), `d`. */
#define MDL_ROUND_COLUMNS(X)                                                                          \
  MDL_KEY_COLUMNS(X)                                                                                  \
  MDL_ALGO_COLUMN(X)                                                                                  \
  X(round, U64, 1, d->round, d->round = (uint32_t)v, NONE, "", "", "1 = the setup sync")              \
  X(start_ms, DOUBLE, 1, d->start_ms, d->start_ms = v, NONE, "", "ms", "the sync")                    \
  X(end_ms, DOUBLE, 1, d->end_ms, d->end_ms = v, NONE, "", "ms", "the next sync, or the end")         \
  X(pages_sent, U64, 1, d->pages_sent, d->pages_sent = v, NONE, "", "pages", "pages sent in the round") \
  X(bytes_sent, U64, 1, d->bytes_sent, d->bytes_sent = v, NONE, "", "bytes", "bytes sent in the round") \
  X(dirty_pages_at_sync, U64, 1, d->dirty_pages_at_sync, d->dirty_pages_at_sync = v, NONE, "",        \
    "pages", "dirty pages right after the sync")                                                      \
  X(bandwidth_est, DOUBLE, 1, d->bandwidth_est, d->bandwidth_est = v, NONE, "", "bytes/s",            \
    "QEMU's bandwidth estimate at the sync")                                                          \
  X(throttle_pct, U64, s->auto_converge, d->throttle_pct, d->throttle_pct = (uint32_t)v, NONE, "", "%", \
    "auto-converge: the CPU throttle after the sync (empty when off)")

/* timeline.csv: one row per estimation window (--timeline), `m`. */
#define MDL_TIMELINE_COLUMNS(X)                                                                       \
  MDL_KEY_COLUMNS(X)                                                                                  \
  MDL_ALGO_COLUMN(X)                                                                                  \
  X(t_ms, DOUBLE, 1, m->t_ms, m->t_ms = v, NONE, "", "ms", "end of the window")                       \
  X(transferred_bytes, U64, 1, m->transferred_bytes, m->transferred_bytes = v, NONE, "", "bytes",     \
    "bytes sent so far")                                                                              \
  X(dirty_pages, U64, 1, m->dirty_pages, m->dirty_pages = v, NONE, "", "pages", "dirty pages now")    \
  X(bandwidth_est, DOUBLE, 1, m->bandwidth_est, m->bandwidth_est = v, NONE, "", "bytes/s",            \
    "QEMU's bandwidth estimate")                                                                      \
  X(threshold_bytes, DOUBLE, 1, m->threshold_bytes, m->threshold_bytes = v, NONE, "", "bytes",        \
    "the downtime threshold: bandwidth x downtime-limit")                                             \
  X(dirty_sync_count, U64, 1, m->dirty_sync_count, m->dirty_sync_count = (uint32_t)v, NONE, "", "",   \
    "dirty syncs so far")                                                                             \
  X(phase, TEXT, 1, m->phase, MDL_TEXT_SET(m->phase, v), NONE, "", "",                                \
    "setup, precopy, postcopy or done")                                                               \
  X(dirty_pages_rate, DOUBLE, m->dirty_pages_rate >= 0, m->dirty_pages_rate, m->dirty_pages_rate = v, NONE, "", \
    "pages/s",                                                                                        \
    "QEMU's dirty-pages-rate: pages newly dirtied per second over the last sync period of at least 1 s (empty until one has ended)") \
  X(throttle_pct, U64, s->auto_converge, m->throttle_pct, m->throttle_pct = (uint32_t)v, NONE, "", "%", \
    "auto-converge: the CPU throttle now (empty when off)")

/* The three tables' column tables as Markdown (column, type, unit, QEMU
 * field, meaning): the source of docs/results.md's "Columns". */
void mdl_schema_md(FILE *out);

#endif
