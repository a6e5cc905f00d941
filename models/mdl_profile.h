/* mdl_profile: how one hypervisor implements migration.
 *
 * A profile is a const descriptor: the driver that runs the migration loop
 * (QEMU's rate-limit windows or Xen's rounds) plus the constants that the
 * driver reads. Constants that depend on the machine (loopback speed, setup
 * time, sync pause, device-state size, ...) can be overridden by a profile
 * file (INI, see docs/profiles.md), which is what `migsim calibrate` writes.
 * Sources of the defaults: docs/qemu-7.2.md for
 * qemu-7.2; Clark et al., "Live Migration of Virtual Machines", NSDI 2005,
 * for xen-classic. */
#ifndef MDL_PROFILE_H
#define MDL_PROFILE_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
  MDL_DRIVER_QEMU, /* rate-limit windows, threshold rule, wrapping cursor */
  MDL_DRIVER_XEN   /* per-round rate adaptation and skip rule */
} mdl_driver;

typedef enum {
  MDL_DIRTY_LOG_TCG, /* a sync adds every page written since the last one */
  MDL_DIRTY_LOG_KVM  /* per-chunk lazy clear: writes to a still-dirty page
                        before its chunk is cleared are not counted again */
} mdl_dirty_log;

/* Longest CPU model name a result row or a profile's `host` holds, with
 * its terminating zero. */
#define MDL_HOST_CPU_MAX 128

/* Whether a machine whose CPU model name is `model` is the one named by
 * `part`, a part of a model name: `part` is empty (unknown) or is found
 * in `model`. The one rule for profiles' `host` and stored runs. */
int mdl_host_is(const char *part, const char *model);

/* Longest profile `host`, with its terminating zero. */
#define MDL_PROFILE_HOST_MAX MDL_HOST_CPU_MAX

typedef struct {
  char name[64];
  /* The machine whose constants these are: a part of its CPU's model name
   * as /proc/cpuinfo gives it ("" = any). `calibrate` writes the whole
   * name; `validate` warns before real runs on another machine
   * (docs/hosts.md). */
  char host[MDL_PROFILE_HOST_MAX];
  mdl_driver driver;
  mdl_dirty_log dirty_log;

  /* Wire costs (bytes). */
  uint32_t detect_zero_pages;   /* 1: zero pages go as header + fill byte */
  uint32_t page_header_bytes;   /* 8: offset | flags */
  uint32_t block_name_bytes;    /* 7: 1 + strlen("pc.ram") when the block changes */
  uint32_t zero_page_extra;     /* 1: the fill byte after the header */
  uint32_t eos_bytes;           /* 8: end marker per iteration step */
  uint32_t discard_run_bytes;   /* 16 per run in the post-copy discard list */
  uint32_t discard_header_bytes;/* per discard command (12 runs each) */
  uint32_t request_bytes;       /* 12: post-copy page request */
  uint32_t transferred_all;     /* 1: `transferred` counts every byte of the
                                   stream, device state and commands too
                                   (QEMU 10.0); 0: RAM bytes only (7.2) */
  uint32_t rate_at_flush;       /* 1: the rate limit and the bandwidth
                                   estimate count bytes when qemu_fflush
                                   writes them (QEMU 8.1+, so 10.0); 0: when
                                   they are queued (7.2) */
  uint32_t expected_downtime_frozen; /* 1: expected-downtime starts at
                                   downtime-limit and stops changing once
                                   post-copy is active, 0 when the run starts
                                   in post-copy (10.0); 0: updated in every
                                   window, also in post-copy (7.2) */
  uint32_t avail_switchover_bandwidth; /* 1: the QEMU has the parameter
                                   avail-switchover-bandwidth (8.2+); 0: a
                                   scenario setting it is refused */

  /* Rate limiting and estimation (QEMU driver). */
  uint64_t window_ns;           /* 100 ms rate-limit / estimation window */
  uint64_t max_step_ns;         /* 50 ms cap on one iteration step */
  uint32_t step_check_pages;    /* 64: the 50 ms check runs every N pages */

  /* Machine-dependent constants (fitted by calibration). */
  double link_bytes_per_s;      /* default link / loopback speed */
  double multifd_link_bytes_per_s; /* loopback speed of one multifd channel,
                                   each its own (0: the channels share
                                   the link, as on a network) */
  double stopped_link_bytes_per_s; /* loopback speed while the source's
                                   guest is stopped at a completion (0: link) */
  double zero_page_ns;          /* CPU time to detect and send a zero page */
  double normal_page_ns;        /* CPU time to send a normal page */
  uint64_t setup_ns;            /* migration thread setup before first sync */
  uint64_t sync_base_ns;        /* fixed cost of one dirty-bitmap sync */
  double sync_ns_per_gib;       /* per GiB of guest memory */
  uint64_t stop_ns;             /* stopping the vCPUs at switchover */
  uint64_t device_state_bytes;  /* device state sent at completion */
  uint64_t vmdesc_bytes;        /* of which the VM description, which a
                                   post-copy switch does not send */
  uint64_t device_save_ns;      /* saving it (and the VM description) at a
                                   pre-copy completion, guest stopped */
  uint64_t dest_load_ns;        /* destination load + start (return path) */
  double discard_run_ns;        /* post-copy switch: source CPU per run of
                                   the discard list (walking the bitmap) */
  double dest_discard_run_ns;   /* ... the destination's time to discard one
                                   run it had received, before it reads the
                                   device state (docs/postcopy-faults.md,
                                   "The switch's discards") */
  uint64_t socket_buffer_bytes; /* bytes in flight before the sender blocks */
  double postcopy_place_ns;     /* destination: placing one received normal
                                   page in post-copy (UFFDIO_COPY) */
  double postcopy_place_zero_ns;/* ... one zero page (UFFDIO_ZEROPAGE) */
  double dest_page_ns;          /* destination: loading one received normal
                                   page in pre-copy */
  double dest_zero_page_ns;     /* ... one zero page (checked, not copied) */
  uint64_t dest_region_pages;   /* pages of one destination huge page (THP:
                                   2 MiB = 512); a multiple of 64 */
  double dest_region_ns;        /* destination: first page loaded into a huge
                                   page in pre-copy allocates it (0: off) */
  uint32_t preempt_urgent;      /* postcopy-preempt: the return path sends
                                   requested pages itself (8.0+), not the
                                   migration thread after its rate limit */
  double fault_resume_ns;       /* post-copy: from the placement of a page a
                                   vCPU faulted on to that vCPU running again
                                   (docs/postcopy-faults.md) */
  double fault_burst_ns;        /* post-copy: how much longer a fault takes
                                   when its page lands during a
                                   rate-limited window's burst */
  double fault_resume_busy_ns;  /* ... and how much longer while the main
                                   stream is sending: its threads then hold
                                   the host's cores (small TCG hosts) */
  double rp_delayed_ack_ns;     /* post-copy: how long the source may hold
                                   its acknowledgement of a page request on
                                   the return path when it sends no stream
                                   data back (TCP's delayed ACK; a request
                                   sent meanwhile waits under Nagle's
                                   algorithm); 0: never */
  double xbzrle_page_ns;        /* source CPU per page through XBZRLE (cache
                                   lookup or insert, copy, encode) */
  /* multifd and compress (docs/features.md); compression levels index the
   * per-level costs, levels past a list's end cost its last entry. */
  double multifd_queue_page_ns; /* migration thread: queue one normal page
                                   for multifd (its zero check included) */
  double multifd_page_ns;       /* a multifd channel thread: send one page */
  double zlib_page_ns[10];      /* source CPU: deflate one page, level 0..9 */
  double zstd_page_ns[21];      /* ... zstd, level 0..20 */
  double compress_page_ns[10];  /* source CPU: a legacy compress thread
                                   deflates one page as a stream of its own,
                                   level 0..9 (7.2) */
  uint32_t worker_cpus;         /* host cores the worker threads (multifd
                                   channels, compress threads) share with
                                   the source's vCPU; 0: one each */
  double vcpu_halt_min_ns;      /* with worker_cpus: the guest halts through
                                   gaps between accesses at least this long
                                   (0: it never halts, its vCPU always
                                   runnable) */
  double vcpu_wake_spin_ns;     /* ... and is runnable this long before the
                                   access after a halt */
  double zlib_dest_page_ns;     /* destination CPU: inflate one page */
  double zstd_dest_page_ns;     /* ... zstd */
  uint32_t multifd_zero_in_threads; /* 1: the channels find zero pages
                                   (9.0+ zero-page-detection=multifd, 10.0);
                                   0: the migration thread does (7.2) */
  uint32_t multifd_sync_per_round; /* 1: channels synced when the cursor
                                   wraps (multifd-flush-after-each-
                                   section off, 10.0); 0: every step (7.2) */
  uint32_t multifd_count_sent;  /* 1: multifd-bytes and the rate limit count
                                   the bytes the channels wrote (8.1+, 10.0);
                                   0: raw pages + header at hand-off (7.2) */
  uint32_t multifd_count_on_wait; /* with multifd_count_sent: 1: a channel's
                                   packet reaches the rate limit only when
                                   the migration thread next waits (for the
                                   channel, a sync or the window): the
                                   channels get a CPU only then (this 2-core
                                   TCG host); 0: at hand-off */
  uint32_t multifd_no_postcopy; /* 1: multifd with post-copy refused (8.1..
                                   10.0); 0: allowed, unused once in
                                   post-copy (7.2) */
  uint32_t legacy_compress;     /* 1: the compress capability exists (7.2;
                                   removed in 9.1) */
  uint64_t chunk_pages;         /* KVM lazy-clear chunk (1 GiB of pages) */
  uint64_t extra_nonzero_pages; /* other RAM blocks (firmware, ROMs) migrated */
  uint64_t extra_zero_pages;    /* after guest RAM, non-zero and zero */

  /* Xen driver (Clark et al. 2005). */
  double xen_min_rate;          /* bytes/s of the first round */
  double xen_rate_increment;    /* added to the previous round's dirty rate */
  uint64_t xen_stop_bytes;      /* stop when less than this remains */
  uint32_t xen_max_rounds;      /* 30 */
  double xen_max_sent_factor;   /* stop after sending this × guest memory */
} mdl_profile;

/* Built-in profiles. */
extern const mdl_profile mdl_profile_qemu72;
extern const mdl_profile mdl_profile_xen_classic;

/* Resolves `name`: a built-in ("qemu-7.2", "xen-classic"), a profile file
 * shipped in models/profiles/<name>.ini (looked up in MIGSIM_PROFILE_DIR,
 * then next to the executable's source tree as configured at build time),
 * or a path to an INI file. Files start from the profile named by their
 * `base` key (default qemu-7.2) and override constants. */
int mdl_profile_load(const char *name, mdl_profile *out);

/* Writes p as an INI profile file (all constants), atomically. */
int mdl_profile_save(const mdl_profile *p, const char *base, const char *path,
                     const char *comment);

/* Sets one constant by its INI key. SIM_ENOTFOUND for unknown keys. */
int mdl_profile_set(mdl_profile *p, const char *key, const char *value);

/* Whether a machine whose CPU model name is `cpu_model` is the profile's
 * host: its `host` is empty or a part of `cpu_model`. */
int mdl_profile_host_matches(const mdl_profile *p, const char *cpu_model);

/* Checks every constant against its documented range (docs/profiles.md):
 * 0 or SIM_ERANGE with one line naming the key, the value and the range.
 * mdl_profile_load and mdl_profile_set already check; this is for
 * profiles built in code. */
int mdl_profile_validate(const mdl_profile *p);

/* Writes the table of keys, ranges and meanings (Markdown rows). */
void mdl_profile_help(FILE *out);

/* Lists built-in and shipped profile names on `out`, shipped ones in name
 * order with the machine each was calibrated on (`host`) and, when
 * `cpu_model` (this machine's CPU model name) is given, whether it is
 * this one. */
void mdl_profile_list(FILE *out, const char *cpu_model);

#endif
