/* kvr_internal: entry points shared between the files of kvmreplay/ only.
 *
 * kvr_proc.c     child processes (own process group, always reaped) and the
 *                signal guard that kills them on SIGINT/SIGTERM/SIGHUP
 * kvr_qmp.c      QMP client over a unix socket (jansson)
 * kvr_console.c  the guest's serial console (line protocol of kvr_abi.h)
 * kvr_module.c   the guest module built from a scenario's workload
 * kvr_integrity.c page-by-page comparison of both guests' trace region
 * kvr_qemu.c     which QEMU binary (short names such as 10.0) and its -L dirs
 * kvr_dirtyrate.c QEMU's calc-dirty-rate run on the source guest
 * kvr_net.c      the shaped veth link between namespaces (ip, tc)
 * kvr_fleet.c    concurrent runs started together or on a schedule
 * kvr_cpu.c      both QEMUs' CPU time per thread role during a migration
 * kvr_run.c      the orchestration behind kvr_run()
 *
 * Every fallible function returns 0 or a negative SIM_E* code with a
 * message (sim_errorf). Times are CLOCK_MONOTONIC nanoseconds. */
#ifndef KVR_INTERNAL_H
#define KVR_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "kvr.h"

/* ------------------------------------------------------------ clock */

uint64_t kvr__now_ns(void);

/* ------------------------------------------------------- processes */

/* Starts argv[0] (a path) with argv, stdin from /dev/null and stdout and
 * stderr appended to log_path, in a new process group whose id is the
 * child's pid, with SIGKILL as its parent-death signal (so even a SIGKILL
 * of the harness takes QEMU down) and `nice` added to its nice value (all
 * its threads inherit it; 0 = unchanged). Registers the group with the
 * signal guard. SIM_ECHILD with the exec error when the program cannot
 * start. */
int kvr__spawn(char *const argv[], const char *log_path, int nice, pid_t *pid);
/* The same, the child moved into network namespace `netns`
 * (/var/run/netns/NAME, setns before exec) unless netns is NULL. */
int kvr__spawn_in(char *const argv[], const char *log_path, int nice, const char *netns, pid_t *pid);

/* Non-blocking: 1 and the wait status in *status when the child has
 * exited (it is then reaped and unregistered), 0 while it runs. */
int kvr__child_exited(pid_t pid, int *status);

/* Kills the child's whole process group with SIGKILL and reaps the child
 * (waits at most timeout_ns, then returns SIM_ETIMEOUT). Idempotent for
 * pid <= 0. Unregisters the group. */
int kvr__kill_and_reap(pid_t pid, uint64_t timeout_ns);

/* Waits up to timeout_ns for the child to exit by itself; 1 when it did
 * (reaped, *status set), 0 on timeout. */
int kvr__wait_exit(pid_t pid, uint64_t timeout_ns, int *status);

/* Describes a wait status: "exited with status 1", "killed by signal 9". */
void kvr__describe_status(int status, char *buf, size_t len);

/* The signal guard: while installed, SIGINT, SIGTERM and SIGHUP kill every
 * registered process group at once (from the handler) and are remembered;
 * SIGPIPE is ignored. Restore puts the previous dispositions back. */
void kvr__guard_install(void);
void kvr__guard_restore(void);
/* The signal that arrived since install, or 0. */
int kvr__guard_signal(void);

/* ------------------------------------------------------------- QMP */

/* Connects a unix stream socket to path, retrying while the file is absent
 * or refuses and the child `pid` lives, up to timeout_ns. `what` names the
 * socket in messages. */
int kvr__unix_connect(const char *path, pid_t pid, uint64_t timeout_ns, const char *what,
                      int *fd_out);

typedef struct kvr_qmp kvr_qmp;

/* Connects to the QMP socket at path (retrying while the file does not
 * exist yet and the child `pid` is alive, up to timeout_ns), reads the
 * greeting and negotiates capabilities. */
int kvr__qmp_connect(const char *path, pid_t pid, uint64_t timeout_ns, const char *name,
                     kvr_qmp **out);

/* The same on an already connected stream `fd` (owned from now on, also
 * on failure): reads the greeting and negotiates capabilities. */
int kvr__qmp_attach(int fd, uint64_t timeout_ns, const char *name, kvr_qmp **out);

/* Runs one command and waits up to timeout_ns for its answer, queueing
 * asynchronous events that arrive meanwhile. args is borrowed (may be
 * NULL). On success *ret (if given) receives a new reference to the
 * "return" value. A QMP error gives SIM_ECHILD with "<cmd>: <desc>"; a
 * closed socket SIM_EIO; a timeout SIM_ETIMEOUT; a pending signal
 * SIM_EINTERRUPTED. */
int kvr__qmp_exec(kvr_qmp *q, const char *cmd, json_t *args, uint64_t timeout_ns,
                  json_t **ret);

/* Sends two commands in one go, then reads both answers (QEMU answers in
 * order): the second is queued in QEMU's monitor before the first
 * returns, with no round trip of ours in between. Returns the first
 * error, as kvr__qmp_exec would. */
int kvr__qmp_exec_pair(kvr_qmp *q, const char *cmd1, json_t *args1, const char *cmd2, json_t *args2,
                       uint64_t timeout_ns);

/* Number of asynchronous events seen so far and the name of the last. */
uint64_t kvr__qmp_event_count(const kvr_qmp *q);
const char *kvr__qmp_last_event(const kvr_qmp *q);

/* Closes the connection. NULL is a no-op. */
void kvr__qmp_close(kvr_qmp *q);

/* --------------------------------------------------------- console */

/* What the guest said last (cumulative counters from its "KVR P" lines). */
typedef struct {
  int booted, ready, going, ended;
  uint32_t base_page;
  uint64_t pages;
  uint32_t status_addr;
  uint64_t tsc_hz, fill_ms;
  uint64_t t_ms, done, writes, reads, late, maxlag_us, stall_us, loops;
  uint64_t reports;
  char error[160]; /* text of a "KVR ERR" line */
} kvr_guest_state;

typedef struct kvr_console kvr_console;

/* Connects to the serial socket at path (QEMU waits for this connection
 * before it starts, so no output is lost), logging everything the guest
 * prints to capture_path. */
int kvr__console_connect(const char *path, pid_t pid, uint64_t timeout_ns,
                         const char *capture_path, kvr_console **out);
/* A console on an already connected descriptor (owned from now on, made
 * non-blocking), without capture file. */
int kvr__console_attach(int fd, kvr_console **out);
/* The descriptor to poll for input (-1 once closed). */
int kvr__console_fd(const kvr_console *c);
/* Reads what is available without blocking, at most 256 KiB per call (a
 * flooding guest cannot hold the caller), and parses complete lines; the
 * capture keeps the first 16 MiB. SIM_EIO when the peer closed the
 * connection. */
int kvr__console_drain(kvr_console *c);
/* Sends one byte to the guest. */
int kvr__console_send(kvr_console *c, char byte);
const kvr_guest_state *kvr__console_state(const kvr_console *c);
void kvr__console_close(kvr_console *c);

/* ------------------------------------------------------------ QEMU */

/* Firmware directories for -L, in search order, when `binary` lives in a
 * private prefix (PREFIX/usr/bin/...): PREFIX/usr/share/seabios and
 * PREFIX/usr/share/qemu where they exist. Returns how many were written
 * (at most max); 0 for a system QEMU, which finds its own. */
int kvr__qemu_firmware(const char *binary, char dirs[][PATH_MAX], int max);

/* ------------------------------------------------------- dirty rate */

/* Runs plan's calc-dirty-rate measurements one after another on the QEMU
 * behind q (its guest already playing since go_ns), polling
 * query-dirty-rate every 100 ms and draining con meanwhile. Fills
 * plan->out and plan->done. Fails on a QMP error, a QEMU that went away, a
 * measurement that does not finish within its period + 30 s, or a signal
 * (SIM_EINTERRUPTED). */
int kvr__dirtyrate_measure(kvr_qmp *q, kvr_console *con, kvr_dirtyrate_plan *plan, uint64_t go_ns,
                           FILE *log);

/* ---------------------------------------------------------- module */

typedef struct {
  uint32_t base_page;      /* guest page of trace page 0 */
  uint64_t pages;          /* trace pages */
  uint64_t nonzero_pages;  /* initial image */
  uint64_t bytes;          /* module size */
  uint64_t head_events, body_events;
  uint64_t body_start_ns, period_ns;
  int loop;                /* the guest repeats the body */
  uint32_t write_bytes;    /* bytes one write changes (0: the stamp only) */
  uint32_t random_bytes;   /* random prefix of a non-zero page (KVR_MOD_RANDOM_BYTES) */
} kvr_module_info;

/* How the guest paces itself (copied into the module header). */
typedef struct {
  uint64_t report_ns;     /* progress line interval */
  uint64_t late_ns;       /* a write later than this is late */
  uint64_t sleep_min_ns;  /* halt when the next event is further away; 0 = spin */
  uint64_t wake_early_ns; /* and wake this long before it */
} kvr_guest_params;

/* Plays the scenario's workload through wl_player and writes the guest
 * module (kvr_abi.h) to path. kernel_end is the guest image's end address;
 * the trace base is placed above kernel, multiboot info and module.
 * horizon_ns bounds how much of an endless or very long source is kept. */
/* The random prefix (bytes, a multiple of 4) that makes a non-zero page
 * of the replay guest (kvr_page_content) compress to `ratio` with zlib at
 * level 1, and the ratio a prefix gives (mean of 4 pages). A ratio beyond
 * reach gives the nearest prefix (0 or the whole page). */
uint32_t kvr__random_bytes_for(double ratio);
double kvr__page_ratio(uint32_t random_bytes);

int kvr__module_build(const mdl_scenario *s, const char *path, uint64_t kernel_end,
                      const kvr_guest_params *gp, uint64_t horizon_ns, kvr_module_info *info);

/* RAM (-m) for a module: the trace's pages above its base plus a margin
 * at the top for the BIOS's tables, in whole MiB. */
#define KVR_TOP_MARGIN (2u << 20)
uint64_t kvr__ram_bytes(const kvr_module_info *m);

/* The guest ELF to boot: `given`, else $MIGSIM_KVR_GUEST, else the one the
 * build made. */
const char *kvr__guest_path(const char *given);

/* The end address (highest p_paddr + p_memsz) of a 32-bit ELF image. */
int kvr__elf_end(const char *path, uint64_t *end);

/* ------------------------------------------------------- integrity */

typedef struct {
  uint64_t pages_compared;
  uint64_t differing;        /* pages whose content was lost or corrupted */
  uint64_t written_after;    /* pages that differ only by a later write */
  uint64_t first_differing;  /* trace page, or UINT64_MAX */
  /* Stamps of that page on each side (UINT64_MAX: no stamp), which tell a
   * lost write (source newer) from a corrupted page. */
  uint64_t first_src_seq, first_dst_seq;
} kvr_integrity;

/* Dumps the trace region of both (stopped) guests in chunks with QMP
 * pmemsave into dir and compares page by page. A destination page that
 * differs only by a stamp with seq >= writes_done (the source's count) was
 * written by the guest after switchover and is counted in written_after,
 * not as a difference. */
int kvr__integrity_check(kvr_qmp *src, kvr_qmp *dst, const char *dir, uint64_t base_addr, uint32_t write_bytes,
                         uint64_t pages, uint64_t writes_done, kvr_integrity *out);

/* Reads the guest's status block (KVR_STATUS_SIZE bytes at addr) through
 * pmemsave into dir/<name>. */
int kvr__read_status(kvr_qmp *q, const char *dir, const char *name, uint32_t addr,
                     unsigned char *block);

/* ------------------------------------------------------------- CPU */

typedef enum {
  KVR_CPU_VCPU,         /* the source's vCPU threads */
  KVR_CPU_MIGRATION,    /* the source's migration thread */
  KVR_CPU_WORKER,       /* compress threads, multifd send channels */
  KVR_CPU_SOURCE_OTHER, /* the source's main loop, RCU, return path, ... */
  KVR_CPU_DEST,         /* every destination thread */
  KVR_CPU_ROLES
} kvr_cpu_role;

typedef struct kvr_cpu kvr_cpu;
kvr_cpu *kvr__cpu_new(void);
void kvr__cpu_free(kvr_cpu *a);
kvr_cpu_role kvr__cpu_role_of(const char *comm, int dest);
/* Reads every known thread of `pid` (dest: the destination QEMU) and,
 * with `relist`, adds the threads not known yet. Threads found before
 * kvr__cpu_start count from their reading then, later ones from 0. A
 * missing process or thread is skipped. 0 or SIM_ENOMEM. */
int kvr__cpu_sample(kvr_cpu *a, pid_t pid, int dest, int relist);
void kvr__cpu_start(kvr_cpu *a);
/* Threads read so far (0: the kernel has no per-thread schedstat). */
size_t kvr__cpu_threads(const kvr_cpu *a);
/* Per role since the start: CPU time, time runnable but waiting for a
 * CPU (ms), and the times its threads were put on a CPU (schedstat's
 * third field: about one per wake-up). */
typedef struct {
  double run_ms, wait_ms;
  uint64_t slices;
} kvr_cpu_use;
void kvr__cpu_totals(const kvr_cpu *a, kvr_cpu_use use[KVR_CPU_ROLES]);

#endif
