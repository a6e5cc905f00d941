/* kvr_run: one scenario on two real QEMUs, measured like the simulator.
 *
 * Sequence (docs/kvmreplay.md has the rationale):
 *   1. checks: scenario, QEMU binary, userfaultfd for post-copy, guest ELF;
 *   2. private 0700 directory; guest module from the workload (kvr_module);
 *   3. destination QEMU (-incoming defer -S), then the source,
 *      each in its own process group; serial consoles and QMP connected;
 *   4. the source guest boots, fills its initial image, says READY;
 *   5. capabilities and parameters, migrate-incoming on the destination;
 *      "go" to the guest, then `migrate`
 *      (post-copy: migrate-start-postcopy at once; hybrid: by policy);
 *   6. query-migrate every poll interval; each dirty-sync-count increment
 *      becomes an mdl_round; scenario timeout -> migrate_cancel;
 *   7. on completion: destination stopped, guest status blocks read, trace
 *      region compared page by page;
 *   8. both QEMUs quit, killed and reaped whatever happened before. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvr_abi.h"
#include "kvr_internal.h"
#include "sim_err.h"
#include "sim_hist.h"
#include "mdl_feature.h"
#include "mdl_schema.h"
#include "mdl_switch.h"

#ifndef KVR_GUEST_ELF_PATH
#define KVR_GUEST_ELF_PATH "kvr_guest.elf"
#endif

#define KVR_NS_PER_MS 1000000ull
#define KVR_NS_PER_S 1000000000ull
#define KVR_QMP_TIMEOUT_NS (30 * KVR_NS_PER_S)
#define KVR_START_TIMEOUT_NS (20 * KVR_NS_PER_S)

void kvr_options_init(kvr_options *o) { memset(o, 0, sizeof *o); }

/* ------------------------------------------------------- environment */

int kvr_check_userfaultfd(void) {
#ifdef SYS_userfaultfd
  long fd = syscall(SYS_userfaultfd, 02000000 /* O_CLOEXEC */ | 04000 /* O_NONBLOCK */);
  if (fd >= 0) {
    close((int)fd);
    return 0;
  }
  int e = errno;
  if (e == ENOSYS)
    return sim_errorf(SIM_EUNSUPPORTED,
                      "post-copy needs userfaultfd, which this kernel does not provide "
                      "(CONFIG_USERFAULTFD)");
  if (e == EPERM) {
    FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
    int v = -1;
    if (f) {
      if (fscanf(f, "%d", &v) != 1) v = -1;
      fclose(f);
    }
    return sim_errorf(SIM_EUNSUPPORTED,
                      "post-copy needs userfaultfd, which is not permitted here (vm.unprivileged_"
                      "userfaultfd=%d): run as root or sysctl -w vm.unprivileged_userfaultfd=1",
                      v);
  }
  return sim_errorf(SIM_EUNSUPPORTED, "post-copy needs userfaultfd: %s", strerror(e));
#else
  return sim_errorf(SIM_EUNSUPPORTED, "post-copy needs userfaultfd, unknown on this platform");
#endif
}

/* "auto": KVM when it is real hardware virtualisation, TCG otherwise. The
 * kvm_pvm module provides /dev/kvm without VMX/SVM by shadow paging; every
 * guest page fault then costs a host round trip, which makes replay tens
 * of times slower than TCG. */
static const char *kvr_pick_accel(const char *want) {
  if (want && *want && strcmp(want, "auto") != 0) return want;
  struct stat st;
  if (stat("/dev/kvm", &st) != 0 || access("/dev/kvm", R_OK | W_OK) != 0) return "tcg";
  if (stat("/sys/module/kvm_pvm", &st) == 0) return "tcg";
  return "kvm:tcg";
}

/* A free TCP port on 127.0.0.1 (the kernel picks one; QEMU binds it a
 * moment later, and a clash is retried). Concurrent runs (kvr_fleet_run)
 * each close their probe socket before QEMU binds, so the kernel could
 * hand two of them the same port; the last ports given out in this
 * process are not given again. */
static pthread_mutex_t kvr_port_lock = PTHREAD_MUTEX_INITIALIZER;
static int kvr_ports_given[64];
static unsigned kvr_ports_next;

static int kvr_port_recent(int port) {
  for (size_t i = 0; i < sizeof kvr_ports_given / sizeof kvr_ports_given[0]; i++)
    if (kvr_ports_given[i] == port) return 1;
  return 0;
}

static int kvr_free_port(int *port) {
  int rc = 0;
  pthread_mutex_lock(&kvr_port_lock);
  for (int attempt = 0; attempt < 16; attempt++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      rc = sim_errorf(SIM_EIO, "socket: %s", strerror(errno));
      break;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
      rc = sim_errorf(SIM_EIO, "cannot find a free port on 127.0.0.1: %s", strerror(errno));
    else
      *port = ntohs(sa.sin_port);
    close(fd);
    if (rc || !kvr_port_recent(*port)) break;
  }
  if (!rc) kvr_ports_given[kvr_ports_next++ % 64] = *port;
  pthread_mutex_unlock(&kvr_port_lock);
  return rc;
}

/* ----------------------------------------------------------- context */

typedef struct {
  const char *name; /* "source" / "destination" */
  const char *tag;  /* "src" / "dst" */
  pid_t pid;
  kvr_qmp *qmp;
  kvr_console *con;
  int exit_status, exited;
} kvr_vm;

typedef struct {
  const mdl_scenario *s;
  const kvr_options *o;
  mdl_result *r;
  kvr_info *info;
  char dir[256];
  char qemu[PATH_MAX];
  const char *qemu_version;   /* "10.0." for a short name, else NULL */
  char firmware[2][PATH_MAX]; /* -L directories (a QEMU in a private prefix) */
  int n_firmware;
  char guest[PATH_MAX];
  const char *accel;
  uint64_t ram_bytes;
  kvr_module_info mod;
  int port;
  kvr_vm src, dst;
  uint64_t poll_ns;

  /* Migration progress. */
  uint64_t t0;                /* monotonic ns when `migrate` was sent */
  uint64_t page_size;
  uint64_t syncs;             /* last dirty-sync-count seen */
  int round_open;
  mdl_round cur;
  uint64_t cur_pages0, cur_bytes0;
  uint64_t last_pages, last_bytes; /* at the previous poll */
  uint64_t last_throttle;          /* cpu-throttle-percentage at the previous poll */
  double last_t_ms;
  double last_active_ms;      /* last poll still in pre-copy */
  double postcopy_downtime_ms; /* `downtime` while post-copy is active
                                  (10.0 reports the switch's then); -1 none */
  int switch_sent, postcopy_seen, dst_started, cancel_sent;
  uint64_t sync_dirty, prev_sync_dirty; /* dirty pages at the last two syncs */
  uint64_t cancel_at;
  uint64_t last_answer;
  unsigned completed_early;   /* polls that saw "completed" without totals */
  kvr_cpu *cpu;               /* both QEMUs' threads' CPU time (kvr_cpu.c) */
  unsigned cpu_polls;
} kvr_ctx;

static void kvr_logf(kvr_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kvr_logf(kvr_ctx *c, const char *fmt, ...) {
  if (!c->o->log) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("kvr: ", c->o->log);
  vfprintf(c->o->log, fmt, ap);
  fputc('\n', c->o->log);
  fflush(c->o->log);
  va_end(ap);
}

/* Marks the run failed; the first reason wins. */
static void kvr_fail(kvr_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kvr_fail(kvr_ctx *c, const char *fmt, ...) {
  if (c->r->status == MDL_STATUS_FAILED && c->r->failure[0]) return;
  c->r->status = MDL_STATUS_FAILED;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->r->failure, sizeof c->r->failure, fmt, ap);
  va_end(ap);
  kvr_logf(c, "failed: %s", c->r->failure);
}

static void kvr_path(const kvr_ctx *c, char *buf, size_t len, const char *tag, const char *suffix) {
  snprintf(buf, len, "%s/%s%s", c->dir, tag, suffix);
}

/* Last non-empty line of a QEMU log (its error message, usually). */
static void kvr_log_tail(const kvr_ctx *c, const kvr_vm *vm, char *buf, size_t len) {
  char path[PATH_MAX];
  kvr_path(c, path, sizeof path, vm->tag, ".log");
  buf[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    /* QEMU's informational lines are not the cause. */
    if (n && !strstr(line, "info: QEMU waiting for connection") && !strstr(line, "warning: host doesn't support"))
      snprintf(buf, len, "%s", line);
  }
  fclose(f);
}

/* Notices a dead QEMU; fails the run with its exit status. 1 if one died. */
static int kvr_check_children(kvr_ctx *c) {
  /* The source first: when it dies the destination follows (its incoming
   * stream breaks), while a dead destination leaves the source running. */
  kvr_vm *vms[2] = {&c->src, &c->dst};
  char reason[sizeof c->r->failure] = "";
  int dead = 0;
  for (int i = 0; i < 2; i++) {
    kvr_vm *vm = vms[i];
    if (vm->pid <= 0 || vm->exited) continue;
    int st;
    if (!kvr__child_exited(vm->pid, &st)) continue;
    vm->exited = 1;
    vm->exit_status = st;
    /* After migrate_cancel the destination exits by design (its incoming
     * stream broke): not a failure. */
    if (vm == &c->dst && c->cancel_sent) continue;
    char how[96], tail[120];
    kvr__describe_status(st, how, sizeof how);
    kvr_log_tail(c, vm, tail, sizeof tail);
    size_t used = strlen(reason);
    if (dead++ == 0)
      snprintf(reason, sizeof reason, "%s QEMU died (%s)%s%s", vm->name, how, tail[0] ? ": " : "", tail);
    else
      snprintf(reason + used, sizeof reason - used, "; then the %s QEMU %s", vm->name, how);
  }
  if (!dead) return 0;
  if (kvr__guard_signal())
    kvr_fail(c, "interrupted by signal %d", kvr__guard_signal());
  else
    kvr_fail(c, "%s", reason);
  return 1;
}

/* Turns a harness-side error into the run's failure, naming a QEMU that
 * died if that was the cause. */
static void kvr_fail_rc(kvr_ctx *c, int rc, const char *what) {
  if (rc == SIM_EINTERRUPTED || kvr__guard_signal()) {
    kvr_fail(c, "interrupted by signal %d", kvr__guard_signal());
    return;
  }
  /* Give a dying QEMU a moment to be reaped, so the reason is its death. */
  for (int i = 0; i < 20 && !kvr_check_children(c); i++) usleep(10000);
  kvr_fail(c, "%s: %s", what, sim_error_message());
}

/* Waits until `deadline`, draining both consoles. */
static void kvr_sleep_until(kvr_ctx *c, uint64_t deadline) {
  for (;;) {
    uint64_t now = kvr__now_ns();
    if (now >= deadline || kvr__guard_signal()) return;
    struct pollfd pfd[2];
    int n = 0;
    kvr_console *cons[2] = {c->src.con, c->dst.con};
    kvr_console *which[2];
    for (int i = 0; i < 2; i++)
      if (cons[i] && kvr__console_fd(cons[i]) >= 0) {
        pfd[n].fd = kvr__console_fd(cons[i]);
        pfd[n].events = POLLIN;
        pfd[n].revents = 0;
        which[n++] = cons[i];
      }
    uint64_t left = deadline - now;
    struct timespec ts = {(time_t)(left / KVR_NS_PER_S), (long)(left % KVR_NS_PER_S)};
    int pr = ppoll(pfd, (nfds_t)n, &ts, NULL);
    if (pr <= 0) continue;
    for (int i = 0; i < n; i++)
      if (pfd[i].revents) (void)kvr__console_drain(which[i]);
  }
}

/* ------------------------------------------------------------ launch */

static int kvr_spawn_vm(kvr_ctx *c, kvr_vm *vm, int incoming) {
  char mem[32], machine[64], serial_dev[PATH_MAX + 64], qmp_dev[PATH_MAX + 64];
  char module[PATH_MAX], log[PATH_MAX], sock[PATH_MAX];
  snprintf(mem, sizeof mem, "%lluM", (unsigned long long)(c->ram_bytes >> 20));
  snprintf(machine, sizeof machine, "pc,accel=%s", c->accel);
  kvr_path(c, sock, sizeof sock, vm->tag, ".serial");
  snprintf(serial_dev, sizeof serial_dev, "socket,id=kvrcon,path=%s,server=on,wait=on", sock);
  kvr_path(c, sock, sizeof sock, vm->tag, ".qmp");
  snprintf(qmp_dev, sizeof qmp_dev, "unix:%s,server=on,wait=off", sock);
  kvr_path(c, module, sizeof module, "module", ".bin");
  kvr_path(c, log, sizeof log, vm->tag, ".log");

  char *argv[72];
  char trace_args[16][96];
  int n = 0;
#define A(x) argv[n++] = (char *)(x)
  A(c->qemu);
  /* debug-threads: QEMU names its threads, which the CPU accounting
   * reads (kvr_cpu.c). */
  A("-name"); A(incoming ? "migsim-kvr-dst,debug-threads=on" : "migsim-kvr-src,debug-threads=on");
  for (int i = 0; i < c->n_firmware; i++) {
    A("-L"); A(c->firmware[i]);
  }
  A("-machine"); A(machine);
  A("-nodefaults"); A("-no-user-config");
  A("-vga"); A("none");
  A("-display"); A("none");
  A("-no-reboot");
  A("-smp"); A("1");
  A("-m"); A(mem);
  A("-kernel"); A(c->guest);
  A("-initrd"); A(module);
  A("-chardev"); A(serial_dev);
  A("-serial"); A("chardev:kvrcon");
  A("-qmp"); A(qmp_dev);
  if (incoming) {
    /* Deferred: QEMU 10.0 takes some capabilities (postcopy-preempt) only
     * before the incoming side starts listening; kvr_configure sets them,
     * then migrate-incoming. */
    A("-incoming"); A("defer");
    A("-S");
  }
  /* QEMU's own trace events (docs/kvmreplay.md, "Tracing QEMU"). */
  int traces = 0;
  if (c->o->qemu_trace && *c->o->qemu_trace) {
    A("-msg"); A("timestamp=on"); /* wall-clock time on every event */
  }
  for (const char *p = c->o->qemu_trace; p && *p && traces < 16; traces++) {
    size_t len = strcspn(p, ",");
    snprintf(trace_args[traces], sizeof trace_args[traces], "enable=%.*s", (int)len, p);
    A("-trace"); A(trace_args[traces]);
    p += len + (p[len] == ',');
  }
  A(NULL);
#undef A
  int rc = kvr__spawn_in(argv, log, c->o->nice, incoming ? c->o->dest_netns : NULL, &vm->pid);
  if (rc) return rc;
  kvr_logf(c, "%s QEMU pid %d", vm->name, (int)vm->pid);

  char capture[PATH_MAX];
  kvr_path(c, sock, sizeof sock, vm->tag, ".serial");
  kvr_path(c, capture, sizeof capture, vm->tag, ".console");
  if ((rc = kvr__console_connect(sock, vm->pid, KVR_START_TIMEOUT_NS, capture, &vm->con))) return rc;
  kvr_path(c, sock, sizeof sock, vm->tag, ".qmp");
  return kvr__qmp_connect(sock, vm->pid, KVR_START_TIMEOUT_NS, vm->tag, &vm->qmp);
}

/* Starts the destination, retrying on a port clash. */
static int kvr_start_destination(kvr_ctx *c) {
  int rc = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    if ((rc = kvr_free_port(&c->port))) return rc;
    rc = kvr_spawn_vm(c, &c->dst, 1);
    if (!rc) {
      /* QEMU opens the listening socket during start-up; a clash shows up
       * as an early exit with "Address already in use". */
      json_t *st = NULL;
      rc = kvr__qmp_exec(c->dst.qmp, "query-status", NULL, KVR_QMP_TIMEOUT_NS, &st);
      json_decref(st);
      if (!rc) return 0;
    }
    char tail[256];
    kvr_log_tail(c, &c->dst, tail, sizeof tail);
    kvr__console_close(c->dst.con);
    kvr__qmp_close(c->dst.qmp);
    c->dst.con = NULL;
    c->dst.qmp = NULL;
    kvr__kill_and_reap(c->dst.pid, 5 * KVR_NS_PER_S);
    c->dst.pid = -1;
    if (!strstr(tail, "in use")) {
      if (tail[0]) rc = sim_errorf(SIM_ECHILD, "destination QEMU failed to start: %s", tail);
      return rc;
    }
  }
  return rc;
}

static const char *kvr_json_str(json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? v : "";
}

static uint64_t kvr_json_u64(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (json_is_integer(v)) return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
  if (json_is_real(v)) return json_real_value(v) > 0 ? (uint64_t)json_real_value(v) : 0;
  return 0;
}

static double kvr_json_num(json_t *o, const char *key, double dflt) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

static int kvr_identify(kvr_ctx *c) {
  json_t *ret = NULL;
  int rc = kvr__qmp_exec(c->src.qmp, "query-version", NULL, KVR_QMP_TIMEOUT_NS, &ret);
  if (rc) return rc;
  json_t *q = json_object_get(ret, "qemu");
  snprintf(c->r->qemu_version, sizeof c->r->qemu_version, "%llu.%llu.%llu",
           (unsigned long long)kvr_json_u64(q, "major"), (unsigned long long)kvr_json_u64(q, "minor"),
           (unsigned long long)kvr_json_u64(q, "micro"));
  json_decref(ret);
  if ((rc = kvr__qmp_exec(c->src.qmp, "query-kvm", NULL, KVR_QMP_TIMEOUT_NS, &ret))) return rc;
  snprintf(c->r->accel, sizeof c->r->accel, "%s", json_is_true(json_object_get(ret, "enabled")) ? "kvm" : "tcg");
  json_decref(ret);
  if (kvr_host_cpu_model(c->r->host_cpu, sizeof c->r->host_cpu)) c->r->host_cpu[0] = 0; /* unknown: empty */
  kvr_logf(c, "QEMU %s (%s), accelerator %s, host %s", c->r->qemu_version, c->qemu, c->r->accel,
           c->r->host_cpu[0] ? c->r->host_cpu : "unknown");
  /* A short name promises a version: a stale or misplaced install would
   * otherwise record rows under the wrong QEMU. */
  if (c->qemu_version && strncmp(c->r->qemu_version, c->qemu_version, strlen(c->qemu_version)) != 0)
    return sim_errorf(SIM_ECHILD, "%s reports QEMU %s, expected %sx", c->qemu, c->r->qemu_version,
                      c->qemu_version);
  return 0;
}

/* Thread id of the QEMU's (only) vCPU. */
static int kvr_vcpu_thread(kvr_vm *vm, pid_t *tid) {
  json_t *ret = NULL;
  int rc = kvr__qmp_exec(vm->qmp, "query-cpus-fast", NULL, KVR_QMP_TIMEOUT_NS, &ret);
  if (rc) return rc;
  json_t *cpu = json_array_get(ret, 0);
  *tid = (pid_t)kvr_json_u64(cpu, "thread-id");
  json_decref(ret);
  if (*tid <= 0) return sim_errorf(SIM_ECHILD, "%s QEMU reported no vCPU thread", vm->name);
  return 0;
}

/* Every thread of vm but `except` goes to `set`; threads QEMU creates later
 * (the migration thread) inherit it from the main thread. */
static int kvr_pin_threads(kvr_vm *vm, pid_t except, const cpu_set_t *set) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)vm->pid);
  DIR *d = opendir(path);
  if (!d) return sim_errorf(SIM_EIO, "cannot list %s: %s", path, strerror(errno));
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
    if (tid <= 0 || tid == except) continue;
    if (sched_setaffinity(tid, sizeof *set, set) != 0 && errno != ESRCH) {
      rc = sim_errorf(SIM_EIO, "sched_setaffinity(%d): %s", (int)tid, strerror(errno));
      break;
    }
  }
  closedir(d);
  return rc;
}

/* Gives both vCPU threads the nice value o->vcpu_nice. */
static int kvr_vcpu_priority(kvr_ctx *c) {
  pid_t tids[2];
  int rc = kvr_vcpu_thread(&c->src, &tids[0]);
  if (!rc) rc = kvr_vcpu_thread(&c->dst, &tids[1]);
  for (int i = 0; !rc && i < 2; i++)
    if (setpriority(PRIO_PROCESS, (id_t)tids[i], c->o->vcpu_nice) != 0)
      rc = sim_errorf(SIM_EIO, "cannot set the vCPU thread's nice value to %d: %s%s", c->o->vcpu_nice,
                      strerror(errno), errno == EACCES || errno == EPERM ? " (negative needs root)" : "");
  if (!rc) kvr_logf(c, "vCPU threads %d and %d at nice %d", (int)tids[0], (int)tids[1], c->o->vcpu_nice);
  return rc;
}

/* One usable CPU (the highest) for the vCPUs, the rest for everything else. */
static int kvr_pin(kvr_ctx *c) {
  cpu_set_t mine, vcpu_set, rest;
  if (sched_getaffinity(0, sizeof mine, &mine) != 0)
    return sim_errorf(SIM_EIO, "sched_getaffinity: %s", strerror(errno));
  if (CPU_COUNT(&mine) < 2) {
    kvr_logf(c, "note: only one usable CPU; the vCPU is not pinned");
    return 0;
  }
  size_t last = 0;
  for (size_t i = 0; i < CPU_SETSIZE; i++)
    if (CPU_ISSET(i, &mine)) last = i;
  CPU_ZERO(&vcpu_set);
  CPU_SET(last, &vcpu_set);
  rest = mine;
  CPU_CLR(last, &rest);
  pid_t src_vcpu, dst_vcpu;
  int rc = kvr_vcpu_thread(&c->src, &src_vcpu);
  if (!rc) rc = kvr_vcpu_thread(&c->dst, &dst_vcpu);
  if (!rc) rc = kvr_pin_threads(&c->src, src_vcpu, &rest);
  if (!rc) rc = kvr_pin_threads(&c->dst, dst_vcpu, &rest);
  if (!rc && (sched_setaffinity(src_vcpu, sizeof vcpu_set, &vcpu_set) != 0 ||
              sched_setaffinity(dst_vcpu, sizeof vcpu_set, &vcpu_set) != 0))
    rc = sim_errorf(SIM_EIO, "sched_setaffinity: %s", strerror(errno));
  if (!rc) kvr_logf(c, "vCPU threads %d and %d pinned to CPU %zu", (int)src_vcpu, (int)dst_vcpu, last);
  return rc;
}

static int kvr_wait_ready(kvr_ctx *c) {
  /* Boot plus image fill: ~1 s, plus generously 100 ms per MiB non-zero. */
  uint64_t budget = 30 * KVR_NS_PER_S + c->mod.nonzero_pages * (KVR_NS_PER_S / 2560);
  uint64_t deadline = kvr__now_ns() + budget;
  for (;;) {
    (void)kvr__console_drain(c->src.con);
    const kvr_guest_state *g = kvr__console_state(c->src.con);
    if (g->error[0]) return sim_errorf(SIM_ECHILD, "guest: %s", g->error);
    if (g->ready) {
      if (g->base_page != c->mod.base_page || g->pages != c->mod.pages)
        return sim_errorf(SIM_ECHILD, "guest layout mismatch: base page %u/%u, pages %llu/%llu",
                          g->base_page, c->mod.base_page, (unsigned long long)g->pages,
                          (unsigned long long)c->mod.pages);
      kvr_logf(c, "guest ready: base page %u, %llu pages, TSC %.3f GHz, image filled in %llu ms",
               g->base_page, (unsigned long long)g->pages, (double)g->tsc_hz / 1e9,
               (unsigned long long)g->fill_ms);
      return 0;
    }
    if (kvr_check_children(c)) return sim_errorf(SIM_ECHILD, "%s", c->r->failure);
    if (kvr__guard_signal()) return sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
    if (kvr__now_ns() >= deadline)
      return sim_errorf(SIM_ETIMEOUT, "the guest did not report READY within %.0f s", (double)budget / 1e9);
    kvr_sleep_until(c, kvr__now_ns() + 20 * KVR_NS_PER_MS);
  }
}

/* The enabled features' parameters under QEMU's names, 1:1; `dest_only`:
 * just those the destination needs before it listens (`both`). NULL when
 * out of memory. */
static json_t *kvr_feature_params(const mdl_scenario *s, int dest_only) {
  json_t *params = json_object();
  const mdl_feature *f;
  for (size_t i = 0; params && (f = mdl_feature_at(i)); i++) {
    if (!mdl_feature_enabled(s, f)) continue;
    for (const mdl_feature_param *p = f->params; params && p->key; p++) {
      if (dest_only && !p->both) continue;
      char v[MDL_TEXT_MAX];
      mdl_scenario_get(s, p->key, v, sizeof v);
      json_t *j = p->type == MDL_QMP_INT    ? json_integer((json_int_t)strtoll(v, NULL, 10))
                  : p->type == MDL_QMP_BOOL ? json_boolean(strcmp(v, "1") == 0)
                                            : json_string(v);
      if (json_object_set_new(params, p->key, j)) json_decref(params), params = NULL;
    }
  }
  return params;
}

static int kvr_configure(kvr_ctx *c) {
  const mdl_scenario *s = c->s;
  int rc = 0;
  /* A feature this QEMU no longer has (compress, gone in 9.1): one line
   * naming it, before QEMU answers with a bare "unknown capability". */
  const mdl_feature *f;
  for (size_t i = 0; (f = mdl_feature_at(i)); i++)
    if (mdl_feature_enabled(s, f) && mdl_feature_removed(f, c->r->qemu_version))
      return sim_errorf(SIM_EUNSUPPORTED, "%s: QEMU %s has no such capability (QEMU removed it in %s; run it on an "
                        "older QEMU, e.g. --qemu 7.2)", f->name, c->r->qemu_version, f->removed_in);
  /* The algorithm's capabilities (mdl_algo.c) and those of the features
   * the scenario turns on (mdl_feature.c), on both sides, one command. */
  json_t *list = json_array(), *caps = list ? json_pack("{s:o}", "capabilities", list) : NULL;
  for (const char *const *cap = mdl_algorithm_of(s->algo)->capabilities; caps && *cap; cap++)
    if (json_array_append_new(list, json_pack("{s:s, s:b}", "capability", *cap, "state", 1))) json_decref(caps), caps = NULL;
  for (size_t i = 0; caps && (f = mdl_feature_at(i)); i++)
    if (mdl_feature_enabled(s, f) &&
        json_array_append_new(list, json_pack("{s:s, s:b}", "capability", f->capability, "state", 1)))
      json_decref(caps), caps = NULL;
  if (!caps) return sim_errorf(SIM_ENOMEM, "out of memory");
  if (json_array_size(list)) {
    rc = kvr__qmp_exec(c->src.qmp, "migrate-set-capabilities", caps, KVR_QMP_TIMEOUT_NS, NULL);
    if (!rc) rc = kvr__qmp_exec(c->dst.qmp, "migrate-set-capabilities", caps, KVR_QMP_TIMEOUT_NS, NULL);
  }
  json_decref(caps);
  if (rc) return rc;
  /* Parameters the destination needs too (multifd-channels: how many
   * channels it accepts), before it listens. */
  json_t *dest = kvr_feature_params(s, 1);
  if (!dest) return sim_errorf(SIM_ENOMEM, "out of memory");
  if (json_object_size(dest)) rc = kvr__qmp_exec(c->dst.qmp, "migrate-set-parameters", dest, KVR_QMP_TIMEOUT_NS, NULL);
  json_decref(dest);
  if (rc) return rc;
  /* The destination listens once its capabilities are set. */
  char uri[64];
  snprintf(uri, sizeof uri, "tcp:%s:%d", c->o->dest_addr ? c->o->dest_addr : "127.0.0.1", c->port);
  json_t *in = json_pack("{s:s}", "uri", uri);
  if (!in) return sim_errorf(SIM_ENOMEM, "out of memory");
  rc = kvr__qmp_exec(c->dst.qmp, "migrate-incoming", in, KVR_QMP_TIMEOUT_NS, NULL);
  json_decref(in);
  if (rc) return rc;
  uint64_t downtime_ms = (s->downtime_limit_ns + KVR_NS_PER_MS / 2) / KVR_NS_PER_MS;
  json_t *params = json_pack("{s:I, s:I, s:I}", "max-bandwidth", (json_int_t)llround(s->max_bandwidth),
                             "downtime-limit", (json_int_t)downtime_ms, "max-postcopy-bandwidth",
                             (json_int_t)llround(s->postcopy_bandwidth));
  /* Each enabled feature's parameters, 1:1 under QEMU's names. */
  json_t *feat = params ? kvr_feature_params(s, 0) : NULL;
  if (!feat || json_object_update(params, feat)) json_decref(params), params = NULL;
  json_decref(feat);
  /* avail-switchover-bandwidth came in QEMU 8.2; sent only when set, so a
   * 7.2 run without it is configured exactly as before. */
  if (params && s->avail_switchover_bandwidth > 0) {
    unsigned major = 0, minor = 0;
    if (sscanf(c->r->qemu_version, "%u.%u", &major, &minor) != 2 || major < 8 || (major == 8 && minor < 2)) {
      json_decref(params);
      return sim_errorf(SIM_EUNSUPPORTED, "avail-switchover-bandwidth: QEMU %s has no such parameter (QEMU 8.2 or later)",
                        c->r->qemu_version);
    }
    if (json_object_set_new(params, "avail-switchover-bandwidth",
                            json_integer((json_int_t)llround(s->avail_switchover_bandwidth))))
      json_decref(params), params = NULL;
  }
  if (!params) return sim_errorf(SIM_ENOMEM, "out of memory");
  rc = kvr__qmp_exec(c->src.qmp, "migrate-set-parameters", params, KVR_QMP_TIMEOUT_NS, NULL);
  json_decref(params);
  if (s->link_bandwidth > 0 || s->latency_ns > 0)
    kvr_logf(c, "note: link bandwidth/latency are not emulated; the migration runs on loopback");
  return rc;
}

/* Once the source has been asked to switch: lets the destination run as
 * soon as it can (`cont` while it is still receiving only sets QEMU's
 * autostart flag). */
static int kvr_postcopy_asked(kvr_ctx *c, double t_ms) {
  c->switch_sent = 1;
  int rc = kvr__qmp_exec(c->dst.qmp, "cont", NULL, KVR_QMP_TIMEOUT_NS, NULL);
  if (rc) return rc;
  c->dst_started = 1;
  kvr_logf(c, "t=%.0f ms: migrate-start-postcopy (dirty syncs %llu)", t_ms, (unsigned long long)c->syncs);
  return 0;
}

/* The first sign that post-copy runs (a poll reading postcopy-active, or
 * completion after a switch no poll caught). The switch happened after the
 * last poll still in pre-copy; the sign came later, once QMP could answer
 * after the switch's downtime. */
static void kvr_postcopy_began(kvr_ctx *c, double seen_ms) {
  if (c->postcopy_seen) return;
  c->postcopy_seen = 1;
  c->r->switch_time_ms = c->last_active_ms;
  kvr_logf(c, "t=%.0f ms: post-copy active", seen_ms);
}

/* A hybrid's switch: asks the source, then lets the destination run. */
static int kvr_start_postcopy(kvr_ctx *c, double t_ms) {
  c->switch_sent = 1;
  int rc = kvr__qmp_exec(c->src.qmp, "migrate-start-postcopy", NULL, KVR_QMP_TIMEOUT_NS, NULL);
  return rc ? rc : kvr_postcopy_asked(c, t_ms);
}

/* ------------------------------------------------------------ rounds */

typedef struct {
  double t_ms;
  uint64_t syncs, pages, bytes, remaining;
  double mbps;
  uint64_t throttle; /* cpu-throttle-percentage, 0 while inactive */
} kvr_sample;

static int kvr_close_round(kvr_ctx *c, double end_ms, uint64_t pages, uint64_t bytes) {
  if (!c->round_open) return 0;
  c->round_open = 0;
  c->cur.end_ms = end_ms;
  c->cur.pages_sent = pages >= c->cur_pages0 ? pages - c->cur_pages0 : 0;
  c->cur.bytes_sent = bytes >= c->cur_bytes0 ? bytes - c->cur_bytes0 : 0;
  return mdl_result_add_round(c->r, &c->cur);
}

static void kvr_open_round(kvr_ctx *c, uint32_t n, const kvr_sample *x) {
  memset(&c->cur, 0, sizeof c->cur);
  c->cur.round = n;
  c->cur.start_ms = x->t_ms;
  c->cur.dirty_pages_at_sync = x->remaining / c->page_size;
  c->cur.bandwidth_est = x->mbps * 1e6 / 8.0;
  c->cur.throttle_pct = (uint32_t)x->throttle;
  c->cur_pages0 = x->pages;
  c->cur_bytes0 = x->bytes;
  c->round_open = 1;
}

/* A poll while migrating: rows for new syncs. Syncs faster than the poll
 * interval give zero-length rows (their data goes to the last of them). */
static int kvr_rounds_poll(kvr_ctx *c, const kvr_sample *x) {
  if (x->syncs <= c->syncs) return 0;
  if (c->round_open) {
    int rc = kvr_close_round(c, x->t_ms, x->pages, x->bytes);
    if (rc) return rc;
  }
  for (uint64_t n = c->syncs + 1; n <= x->syncs; n++) {
    kvr_open_round(c, (uint32_t)n, x);
    if (n < x->syncs) {
      int rc = kvr_close_round(c, x->t_ms, x->pages, x->bytes);
      if (rc) return rc;
    }
  }
  c->syncs = x->syncs;
  return 0;
}

/* The final answer. A pre-copy completion sync happens while the guest is
 * stopped, when QMP cannot answer, so it is only seen here: its round runs
 * from the stop (end - downtime) to the end and sent downtime-bytes; the
 * pages since the last poll are split between it and the previous round in
 * proportion to the bytes. */
static int kvr_rounds_final(kvr_ctx *c, const kvr_sample *x, double downtime_ms, uint64_t downtime_bytes) {
  int rc = 0;
  if (x->syncs > c->syncs && !c->postcopy_seen && c->round_open && x->syncs == c->syncs + 1 &&
      downtime_ms >= 0 && downtime_bytes <= x->bytes) {
    double stop_ms = x->t_ms - downtime_ms;
    if (stop_ms < c->cur.start_ms) stop_ms = c->cur.start_ms;
    uint64_t bytes_tail = x->bytes > c->last_bytes ? x->bytes - c->last_bytes : 0;
    uint64_t pages_tail = x->pages > c->last_pages ? x->pages - c->last_pages : 0;
    double share = bytes_tail ? (double)downtime_bytes / (double)bytes_tail : 1.0;
    if (share > 1.0) share = 1.0;
    uint64_t stop_pages = pages_tail ? (uint64_t)llround((double)pages_tail * share) : 0;
    if ((rc = kvr_close_round(c, stop_ms, x->pages - stop_pages, x->bytes - downtime_bytes))) return rc;
    memset(&c->cur, 0, sizeof c->cur);
    c->cur.round = (uint32_t)x->syncs;
    c->cur.start_ms = stop_ms;
    c->cur.dirty_pages_at_sync = stop_pages;
    c->cur.bandwidth_est = x->mbps * 1e6 / 8.0;
    c->cur.throttle_pct = (uint32_t)x->throttle;
    c->cur_pages0 = x->pages - stop_pages;
    c->cur_bytes0 = x->bytes - downtime_bytes;
    c->round_open = 1;
    c->syncs = x->syncs;
  } else {
    if ((rc = kvr_rounds_poll(c, x))) return rc;
  }
  return kvr_close_round(c, x->t_ms, x->pages, x->bytes);
}

/* ------------------------------------------------------------- polling */

static void kvr_take_metrics(kvr_ctx *c, json_t *ret) {
  mdl_result *r = c->r;
  const mdl_scenario *s = c->s;
  (void)s;
  json_t *ram = json_object_get(ret, "ram"), *xbz = json_object_get(ret, "xbzrle-cache");
  json_t *cmp = json_object_get(ret, "compression");
  /* Every metric column with a query-migrate field (mdl_schema.h): numbers
   * of the reply keep their last value when a reply lacks them; the "ram"
   * counters are read whenever the reply has a "ram" object. */
#define KVR_TAKE_NONE(type, name, get, set)
#define KVR_TAKE_TOP(type, name, get, set) KVR_TAKE_TOP_##type(name, get, set)
#define KVR_TAKE_RAM(type, name, get, set) KVR_TAKE_RAM_##type(name, get, set)
#define KVR_TAKE_XBZ(type, name, get, set) \
  if (xbz) {                               \
    uint64_t v = kvr_json_u64(xbz, name);  \
    (void)v;                               \
    set;                                   \
  }
#define KVR_TAKE_CMP(type, name, get, set) KVR_TAKE_CMP_##type(name, get, set)
#define KVR_TAKE_CMP_U64(name, get, set) \
  if (cmp) {                             \
    uint64_t v = kvr_json_u64(cmp, name); \
    (void)v;                             \
    set;                                 \
  }
#define KVR_TAKE_CMP_DOUBLE(name, get, set) \
  if (cmp) {                                \
    double v = kvr_json_num(cmp, name, get); \
    (void)v;                                \
    set;                                    \
  }
#define KVR_TAKE_TOP_DOUBLE(name, get, set) \
  {                                         \
    double v = kvr_json_num(ret, name, get); \
    (void)v;                                \
    set;                                    \
  }
#define KVR_TAKE_TOP_U64(name, get, set) \
  if (json_object_get(ret, name)) {      \
    uint64_t v = kvr_json_u64(ret, name); \
    (void)v;                             \
    set;                                 \
  }
#define KVR_TAKE_RAM_DOUBLE(name, get, set) \
  if (ram) {                                \
    double v = kvr_json_num(ram, name, get); \
    (void)v;                                \
    set;                                    \
  }
#define KVR_TAKE_RAM_U64(name, get, set) \
  if (ram) {                             \
    uint64_t v = kvr_json_u64(ram, name); \
    (void)v;                             \
    set;                                 \
  }
#define KVR_TAKE(col, type, present, get, set, qsec, qname, ...) KVR_TAKE_##qsec(type, qname, get, set)
  MDL_METRIC_COLUMNS(KVR_TAKE)
#undef KVR_TAKE
  if (ram && c->info) c->info->ram_total_bytes = kvr_json_u64(ram, "total");
}

static kvr_sample kvr_sample_of(kvr_ctx *c, json_t *ret, uint64_t now) {
  kvr_sample x;
  json_t *ram = json_object_get(ret, "ram");
  x.t_ms = kvr_json_num(ret, "total-time", (double)(now - c->t0) / 1e6);
  x.syncs = kvr_json_u64(ram, "dirty-sync-count");
  x.pages = kvr_json_u64(ram, "normal") + kvr_json_u64(ram, "duplicate");
  x.bytes = kvr_json_u64(ram, "transferred");
  x.remaining = kvr_json_u64(ram, "remaining");
  x.mbps = kvr_json_num(ram, "mbps", 0);
  x.throttle = json_object_get(ret, "cpu-throttle-percentage") ? kvr_json_u64(ret, "cpu-throttle-percentage") : 0;
  uint64_t ps = kvr_json_u64(ram, "page-size");
  if (ps) c->page_size = ps;
  return x;
}

/* A timeline row per poll while migrating (the scenario's `timeline`),
 * the columns of the simulator's (mdl_schema.h) from query-migrate: QEMU's
 * bandwidth estimate (mbps), the dirty pages still to send (remaining),
 * dirty-pages-rate (taken as not measured before the second sync: QEMU
 * reports 0 until a sync period has ended) and the CPU throttle. The
 * threshold is the simulator's formula, estimate (or
 * avail-switchover-bandwidth) x downtime-limit: QEMU does not report it. */
static int kvr_timeline_add(kvr_ctx *c, const kvr_sample *x, const char *status, json_t *ret) {
  json_t *ram = json_object_get(ret, "ram");
  mdl_sample m;
  memset(&m, 0, sizeof m);
  m.t_ms = x->t_ms;
  m.transferred_bytes = x->bytes;
  m.dirty_pages = c->page_size ? x->remaining / c->page_size : 0;
  m.bandwidth_est = x->mbps * 1e6 / 8.0;
  double switch_bw = c->s->avail_switchover_bandwidth > 0 ? c->s->avail_switchover_bandwidth : m.bandwidth_est;
  m.threshold_bytes = switch_bw * (double)c->s->downtime_limit_ns / 1e9;
  m.dirty_sync_count = (uint32_t)x->syncs;
  const char *phase = "precopy";
  if (!strcmp(status, "setup")) phase = "setup";
  else if (!strncmp(status, "postcopy", 8)) phase = "postcopy";
  else if (!strcmp(status, "device") || !strcmp(status, "pre-switchover")) phase = "stopped";
  snprintf(m.phase, sizeof m.phase, "%s", phase);
  m.dirty_pages_rate = ram && json_object_get(ram, "dirty-pages-rate") && x->syncs >= 2
                           ? kvr_json_num(ram, "dirty-pages-rate", 0)
                           : -1;
  m.throttle_pct = (uint32_t)x->throttle;
  return mdl_result_add_sample(c->r, &m);
}

/* The hybrid switch rule is the simulator's (mdl_switch.h). At a new sync
 * the dirty pages are read off `remaining` at the first poll after it,
 * which misses the few pages sent since the sync (at most one poll
 * interval's worth). */
static int kvr_should_switch(kvr_ctx *c, const kvr_sample *x, int new_sync) {
  if (c->switch_sent) return 0;
  uint64_t dirty = c->page_size ? x->remaining / c->page_size : 0;
  if (new_sync) {
    c->prev_sync_dirty = c->sync_dirty;
    c->sync_dirty = dirty;
  }
  mdl_switch_view v = {x->syncs, c->sync_dirty, c->prev_sync_dirty, x->t_ms * 1e6, new_sync};
  return mdl_switch_due(c->s, &v);
}

/* The poll loop. Returns when the migration ended one way or another; the
 * outcome is in c->r. */
/* Reads both QEMUs' threads' CPU time (kvr_cpu.c); a failure only
 * leaves the CPU columns empty. */
static void kvr_cpu_poll(kvr_ctx *c, int relist) {
  if (c->cpu &&
      (kvr__cpu_sample(c->cpu, c->src.pid, 0, relist) || kvr__cpu_sample(c->cpu, c->dst.pid, 1, relist))) {
    kvr__cpu_free(c->cpu);
    c->cpu = NULL;
  }
}

static void kvr_cpu_take(kvr_ctx *c) {
  if (!c->cpu) return;
  kvr_cpu_use u[KVR_CPU_ROLES];
  kvr__cpu_totals(c->cpu, u);
  static const char *const names[KVR_CPU_ROLES] = {"vcpu", "migration", "workers", "source-other", "destination"};
  mdl_result *r = c->r;
  r->cpu_vcpu_ms = u[KVR_CPU_VCPU].run_ms;
  r->cpu_migration_ms = u[KVR_CPU_MIGRATION].run_ms;
  r->cpu_workers_ms = c->s->multifd || c->s->compress ? u[KVR_CPU_WORKER].run_ms : -1;
  r->cpu_source_ms = r->cpu_dest_ms = r->cpu_wait_ms = 0;
  for (int k = 0; k < KVR_CPU_ROLES; k++) {
    if (k == KVR_CPU_DEST) r->cpu_dest_ms = u[k].run_ms;
    else r->cpu_source_ms += u[k].run_ms;
    r->cpu_wait_ms += u[k].wait_ms;
    /* the split of the wait and the wake-ups: in the log only */
    kvr_logf(c, "cpu %s: %.0f ms on a CPU, %.0f ms waiting for one, %llu times put on one", names[k], u[k].run_ms,
             u[k].wait_ms, (unsigned long long)u[k].slices);
  }
}

static void kvr_poll_loop(kvr_ctx *c) {
  const mdl_scenario *s = c->s;
  mdl_result *r = c->r;
  uint64_t next = kvr__now_ns();
  uint64_t timeout_at = c->t0 + s->timeout_ns;
  c->last_answer = c->t0;
  for (;;) {
    next += c->poll_ns;
    uint64_t now = kvr__now_ns();
    if (next < now) next = now;
    kvr_sleep_until(c, next);
    if (kvr__guard_signal()) {
      kvr_fail(c, "interrupted by signal %d", kvr__guard_signal());
      return;
    }
    if (kvr_check_children(c)) return;

    json_t *ret = NULL;
    int rc = kvr__qmp_exec(c->src.qmp, "query-migrate", NULL, KVR_QMP_TIMEOUT_NS, &ret);
    if (rc) {
      kvr_fail_rc(c, rc, "query-migrate");
      return;
    }
    kvr_cpu_poll(c, ++c->cpu_polls % 10 == 0);
    now = kvr__now_ns();
    if (c->info) {
      double gap = (double)(now - c->last_answer) / 1e6;
      if (gap > c->info->max_poll_gap_ms) c->info->max_poll_gap_ms = gap;
      c->info->polls++;
    }
    c->last_answer = now;

    char status[32]; /* copied: ret is released before the end of the poll */
    snprintf(status, sizeof status, "%s", kvr_json_str(ret, "status"));
    kvr_sample x = kvr_sample_of(c, ret, now);
    if (c->o->on_poll) {
      kvr_progress p = {x.t_ms, status, x.syncs, x.bytes, c->src.pid, c->dst.pid};
      c->o->on_poll(c->o->ctx, &p);
    }

    /* QEMU 7.2 sets the state to completed before its migration thread
     * computes total-time (migration_calculate_complete): a query landing
     * in between reads total-time 0. Ask again for the final numbers
     * (bounded: the thread fills them in right away). */
    if (strcmp(status, "completed") == 0 && kvr_json_num(ret, "total-time", 0) <= 0 &&
        ++c->completed_early < 50) {
      json_decref(ret);
      continue;
    }
    if (strcmp(status, "completed") == 0) {
      kvr_take_metrics(c, ret);
      /* A short post-copy phase can end between two polls, so no poll saw
       * postcopy-active: the switch asked for and post-copy bytes sent
       * say it happened all the same. */
      if (c->switch_sent && r->postcopy_bytes > 0) kvr_postcopy_began(c, x.t_ms);
      /* QEMU stops the throttle as the migration completes, so the final
       * answer reads 0 (or nothing) although the last rounds ran
       * throttled: they keep the last value seen (it only rises before). */
      if (x.throttle < c->last_throttle) x.throttle = c->last_throttle;
      json_t *ram = json_object_get(ret, "ram");
      if ((rc = kvr_rounds_final(c, &x, r->downtime_ms, kvr_json_u64(ram, "downtime-bytes")))) {
        json_decref(ret);
        kvr_fail_rc(c, rc, "recording rounds");
        return;
      }
      /* QEMU measures a post-copy switch's downtime in whole ms; when it
       * rounds to 0, completion takes 0 for "not measured yet" and
       * measures again from its start time. 7.2 has none and reports the
       * monotonic clock (hours); 10.0 has the switch's and reports the
       * whole post-copy phase, but while post-copy was active it reported
       * the switch's own value, which is kept (docs/qemu-10.0.md). */
      double reported = r->downtime_ms;
      if (c->postcopy_downtime_ms >= 0 && reported != c->postcopy_downtime_ms)
        r->downtime_ms = c->postcopy_downtime_ms;
      else if (reported > r->total_time_ms && (c->postcopy_seen || c->switch_sent))
        r->downtime_ms = 0; /* the switch took under 1 ms */
      if (r->downtime_ms != reported) {
        kvr_logf(c, "note: QEMU reported downtime %.0f ms at completion, the post-copy switch took %.0f ms",
                 reported, r->downtime_ms);
        if (c->info)
          snprintf(c->info->note, sizeof c->info->note,
                   "QEMU reported downtime %.0f ms at completion; the post-copy switch's, %.0f ms, is recorded",
                   reported, r->downtime_ms);
      }
      r->status = MDL_STATUS_COMPLETED;
      kvr_logf(c, "completed: %.0f ms, downtime %.0f ms, %llu bytes, %llu syncs", r->total_time_ms,
               r->downtime_ms, (unsigned long long)r->transferred_bytes,
               (unsigned long long)r->dirty_sync_count);
      json_decref(ret);
      return;
    }
    if (strcmp(status, "failed") == 0) {
      kvr_take_metrics(c, ret);
      char desc[200];
      snprintf(desc, sizeof desc, "%s", kvr_json_str(ret, "error-desc"));
      json_decref(ret);
      for (int i = 0; i < 20 && !kvr_check_children(c); i++) usleep(10000);
      kvr_fail(c, "migration failed%s%s", desc[0] ? ": " : "", desc);
      return;
    }
    if (strcmp(status, "cancelled") == 0) {
      kvr_take_metrics(c, ret);
      json_decref(ret);
      /* QEMU drops the ram statistics once cancelled: end the round with
       * the last poll's counters. */
      if (!x.bytes) {
        x.pages = c->last_pages;
        x.bytes = c->last_bytes;
      }
      (void)kvr_close_round(c, x.t_ms, x.pages, x.bytes);
      if (c->cancel_sent) {
        r->status = MDL_STATUS_NOT_CONVERGED;
        snprintf(r->failure, sizeof r->failure, "did not converge within the %.3g s timeout",
                 (double)s->timeout_ns / 1e9);
        kvr_logf(c, "%s", r->failure);
      } else {
        kvr_fail(c, "migration was cancelled outside migsim");
      }
      return;
    }

    kvr_take_metrics(c, ret);
    if (s->timeline && (rc = kvr_timeline_add(c, &x, status, ret))) {
      json_decref(ret);
      kvr_fail_rc(c, rc, "recording the timeline");
      return;
    }
    if (strcmp(status, "postcopy-active") == 0 && c->postcopy_downtime_ms < 0) {
      json_t *dt = json_object_get(ret, "downtime"); /* 10.0 reports it here */
      if (json_is_number(dt)) c->postcopy_downtime_ms = json_number_value(dt);
    }
    json_decref(ret);
    int new_sync = x.syncs > c->syncs;
    if ((rc = kvr_rounds_poll(c, &x))) {
      kvr_fail_rc(c, rc, "recording rounds");
      return;
    }
    if (new_sync && c->o->log)
      kvr_logf(c, "t=%.0f ms: dirty sync %llu, %llu dirty pages, %.1f MB/s", x.t_ms,
               (unsigned long long)x.syncs, (unsigned long long)(x.remaining / c->page_size), x.mbps / 8);
    if (strcmp(status, "postcopy-active") == 0) {
      kvr_postcopy_began(c, x.t_ms);
    } else if (strcmp(status, "active") == 0 || strcmp(status, "setup") == 0) {
      c->last_active_ms = x.t_ms;
    }
    c->last_pages = x.pages;
    c->last_bytes = x.bytes;
    c->last_throttle = x.throttle;
    c->last_t_ms = x.t_ms;

    if (kvr_should_switch(c, &x, new_sync) && (rc = kvr_start_postcopy(c, x.t_ms))) {
      kvr_fail_rc(c, rc, "starting post-copy");
      return;
    }

    now = kvr__now_ns();
    if (!c->cancel_sent && now >= timeout_at) {
      if (c->postcopy_seen) {
        kvr_fail(c, "post-copy did not complete within the %.3g s timeout", (double)s->timeout_ns / 1e9);
        return;
      }
      kvr_logf(c, "timeout after %.1f s: migrate_cancel", (double)(now - c->t0) / 1e9);
      if ((rc = kvr__qmp_exec(c->src.qmp, "migrate_cancel", NULL, KVR_QMP_TIMEOUT_NS, NULL))) {
        kvr_fail_rc(c, rc, "migrate_cancel");
        return;
      }
      c->cancel_sent = 1;
      c->cancel_at = now;
    }
    if (c->cancel_sent && now - c->cancel_at > 30 * KVR_NS_PER_S) {
      kvr_fail(c, "migrate_cancel did not take effect within 30 s");
      return;
    }
  }
}

/* ---------------------------------------------------------- afterwards */

static int kvr_qmp_status(kvr_qmp *q, char *buf, size_t len) {
  json_t *ret = NULL;
  int rc = kvr__qmp_exec(q, "query-status", NULL, KVR_QMP_TIMEOUT_NS, &ret);
  if (!rc) snprintf(buf, len, "%s", kvr_json_str(ret, "status"));
  json_decref(ret);
  return rc;
}

/* Waits until the destination has loaded everything. */
static int kvr_wait_destination(kvr_ctx *c) {
  uint64_t deadline = kvr__now_ns() + 60 * KVR_NS_PER_S;
  for (;;) {
    json_t *ret = NULL;
    int rc = kvr__qmp_exec(c->dst.qmp, "query-migrate", NULL, KVR_QMP_TIMEOUT_NS, &ret);
    if (rc) return rc;
    const char *status = kvr_json_str(ret, "status");
    int done = strcmp(status, "completed") == 0;
    int failed = strcmp(status, "failed") == 0;
    json_decref(ret);
    if (failed) return sim_errorf(SIM_ECHILD, "the destination reports the incoming migration failed");
    if (done) {
      char st[32];
      if ((rc = kvr_qmp_status(c->dst.qmp, st, sizeof st))) return rc;
      if (strcmp(st, "inmigrate") != 0) return 0;
    }
    if (kvr_check_children(c)) return sim_errorf(SIM_ECHILD, "%s", c->r->failure);
    if (kvr__now_ns() >= deadline)
      return sim_errorf(SIM_ETIMEOUT, "the destination did not finish loading within 60 s");
    kvr_sleep_until(c, kvr__now_ns() + 10 * KVR_NS_PER_MS);
  }
}

static uint64_t kvr_le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void kvr_take_guest_counters(kvr_ctx *c, const unsigned char *st) {
  uint64_t writes = kvr_le64(st + KVR_ST_WRITES), late = kvr_le64(st + KVR_ST_LATE);
  c->r->replay_lag_ms = (double)kvr_le64(st + KVR_ST_MAX_LAG) / 1e6;
  c->r->replay_on_time = writes ? 1.0 - (double)late / (double)writes : 1.0;
  c->r->guest_stall_ms = (double)kvr_le64(st + KVR_ST_STALL) / 1e6;
  if (c->s->auto_converge) c->r->guest_throttle_ms = (double)kvr_le64(st + KVR_ST_LOST) / 1e6;
  uint64_t hist[SIM_HIST_BUCKETS];
  for (uint32_t i = 0; i < SIM_HIST_BUCKETS; i++) {
    const unsigned char *b = st + KVR_ST_HIST + 4 * i;
    hist[i] = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
  }
  mdl_result_set_delays(c->r, kvr_le64(st + KVR_ST_EVENTS), hist);
  if (c->info) {
    c->info->guest_writes = writes;
    c->info->guest_reads = kvr_le64(st + KVR_ST_READS);
    c->info->guest_late_writes = late;
    c->info->guest_mean_lag_ms = writes ? (double)kvr_le64(st + KVR_ST_LAG_SUM) / (double)writes / 1e6 : 0;
  }
}

/* Without a status block (a QEMU died): the last progress line. */
static void kvr_take_console_counters(kvr_ctx *c) {
  const kvr_guest_state *g = NULL;
  if (c->dst.con && kvr__console_state(c->dst.con)->reports) g = kvr__console_state(c->dst.con);
  else if (c->src.con && kvr__console_state(c->src.con)->reports) g = kvr__console_state(c->src.con);
  if (!g) return;
  c->r->replay_lag_ms = (double)g->maxlag_us / 1e3;
  c->r->replay_on_time = g->writes ? 1.0 - (double)g->late / (double)g->writes : 1.0;
  c->r->guest_stall_ms = (double)g->stall_us / 1e3;
  if (c->info) {
    c->info->guest_writes = g->writes;
    c->info->guest_reads = g->reads;
    c->info->guest_late_writes = g->late;
  }
}

/* After completion: compare memory and collect the guest's counters. */
static void kvr_after_completion(kvr_ctx *c) {
  mdl_result *r = c->r;
  unsigned char src_st[KVR_STATUS_SIZE], dst_st[KVR_STATUS_SIZE];
  uint32_t status_addr = kvr__console_state(c->src.con)->status_addr;
  int rc = kvr_wait_destination(c);
  char st[32] = "";
  if (!rc) rc = kvr_qmp_status(c->dst.qmp, st, sizeof st);
  if (!rc && strcmp(st, "running") == 0) rc = kvr__qmp_exec(c->dst.qmp, "stop", NULL, KVR_QMP_TIMEOUT_NS, NULL);
  if (!rc) rc = kvr__read_status(c->src.qmp, c->dir, "status-src.bin", status_addr, src_st);
  if (!rc) rc = kvr__read_status(c->dst.qmp, c->dir, "status-dst.bin", status_addr, dst_st);
  if (rc) {
    kvr_fail_rc(c, rc, "after migration");
    snprintf(r->integrity, sizeof r->integrity, "unchecked");
    kvr_take_console_counters(c);
    return;
  }
  /* The destination's block is the later one when the guest ran there. */
  int dst_ran = kvr_le64(dst_st + KVR_ST_EVENTS) != kvr_le64(src_st + KVR_ST_EVENTS) || c->dst_started;
  kvr_take_guest_counters(c, dst_ran ? dst_st : src_st);

  kvr_integrity integ;
  uint64_t base_addr = (uint64_t)c->mod.base_page * KVR_PAGE_SIZE;
  rc = kvr__integrity_check(c->src.qmp, c->dst.qmp, c->dir, base_addr, c->mod.write_bytes, c->mod.pages,
                            kvr_le64(src_st + KVR_ST_WRITES), &integ);
  if (rc) {
    snprintf(r->integrity, sizeof r->integrity, "unchecked");
    kvr_logf(c, "integrity check failed: %s", sim_error_message());
    return;
  }
  if (integ.differing == 0)
    snprintf(r->integrity, sizeof r->integrity, "ok");
  else
    snprintf(r->integrity, sizeof r->integrity, "%llu differing pages", (unsigned long long)integ.differing);
  if (c->info) {
    c->info->pages_compared = integ.pages_compared;
    c->info->pages_differing = integ.differing;
    c->info->pages_written_after_switch = integ.written_after;
  }
  kvr_logf(c, "integrity: %s (%llu pages compared, %llu written after switchover)", r->integrity,
           (unsigned long long)integ.pages_compared, (unsigned long long)integ.written_after);
  if (integ.differing)
    kvr_logf(c, "first differing trace page %llu: source stamp seq %lld, destination %lld (-1: none; "
             "the source wrote %llu times)",
             (unsigned long long)integ.first_differing, (long long)integ.first_src_seq,
             (long long)integ.first_dst_seq, (unsigned long long)kvr_le64(src_st + KVR_ST_WRITES));
}

/* After a cancel the source still runs: stop it and read its counters. */
static void kvr_after_cancel(kvr_ctx *c) {
  unsigned char st[KVR_STATUS_SIZE];
  uint32_t status_addr = kvr__console_state(c->src.con)->status_addr;
  int rc = kvr__qmp_exec(c->src.qmp, "stop", NULL, KVR_QMP_TIMEOUT_NS, NULL);
  if (!rc) rc = kvr__read_status(c->src.qmp, c->dir, "status-src.bin", status_addr, st);
  if (rc)
    kvr_take_console_counters(c);
  else
    kvr_take_guest_counters(c, st);
}

static void kvr_shutdown_vm(kvr_ctx *c, kvr_vm *vm) {
  if (vm->qmp && kvr__qmp_event_count(vm->qmp))
    kvr_logf(c, "%s: %llu QMP events (last %s)", vm->name, (unsigned long long)kvr__qmp_event_count(vm->qmp),
             kvr__qmp_last_event(vm->qmp));
  if (vm->pid > 0 && !vm->exited && vm->qmp && !kvr__guard_signal()) {
    /* A polite quit first, so QEMU removes its sockets; then the group. */
    if (kvr__qmp_exec(vm->qmp, "quit", NULL, 2 * KVR_NS_PER_S, NULL) == 0)
      (void)kvr__wait_exit(vm->pid, 2 * KVR_NS_PER_S, &vm->exit_status);
  }
  if (vm->con) (void)kvr__console_drain(vm->con);
  kvr__qmp_close(vm->qmp);
  kvr__console_close(vm->con);
  vm->qmp = NULL;
  vm->con = NULL;
  if (vm->pid > 0 && kvr__kill_and_reap(vm->pid, 10 * KVR_NS_PER_S))
    kvr_logf(c, "%s", sim_error_message());
  vm->pid = -1;
}

static void kvr_remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[PATH_MAX];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

/* ----------------------------------------------------------------- run */

static int kvr_prepare(kvr_ctx *c) {
  const mdl_scenario *s = c->s;
  const kvr_options *o = c->o;
  int rc = mdl_scenario_validate(s);
  if (rc) return rc;
  const char *qemu = o->qemu && *o->qemu ? o->qemu : s->qemu[0] ? s->qemu : NULL;
  /* A short name (10.0) says the version: refuse a feature it no longer
   * has before starting anything (kvr_configure checks real versions). */
  const char *expect = kvr_qemu_expected_version(qemu);
  const mdl_feature *gone;
  for (size_t i = 0; expect && (gone = mdl_feature_at(i)); i++)
    if (mdl_feature_enabled(s, gone) && mdl_feature_removed(gone, expect))
      return sim_errorf(SIM_EUNSUPPORTED, "%s: QEMU %sx has no such capability (QEMU removed it in %s; run it on an "
                        "older QEMU, e.g. --qemu 7.2)", gone->name, expect, gone->removed_in);
  if ((rc = kvr_find_qemu(qemu, c->qemu, sizeof c->qemu))) return rc;
  c->qemu_version = kvr_qemu_expected_version(qemu);
  c->n_firmware = kvr__qemu_firmware(c->qemu, c->firmware, 2);
  if (mdl_algorithm_has_capability(mdl_algorithm_of(s->algo), "postcopy-ram") && (rc = kvr_check_userfaultfd()))
    return rc;
  snprintf(c->guest, sizeof c->guest, "%s", kvr__guest_path(o->guest));
  uint64_t kernel_end;
  if ((rc = kvr__elf_end(c->guest, &kernel_end))) return rc;
  c->accel = kvr_pick_accel(o->accel);

  const char *tmp = o->tmp_dir;
  if (!tmp || !*tmp) tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  /* Leave room for "/dst.serial" inside sockaddr_un's 108 bytes. */
  if (strlen(tmp) + sizeof "/migsim-kvr-XXXXXX/module.bin" > 100)
    return sim_errorf(SIM_ERANGE, "temporary directory path too long for unix sockets: %s", tmp);
  snprintf(c->dir, sizeof c->dir, "%s/migsim-kvr-XXXXXX", tmp);
  if (!mkdtemp(c->dir)) {
    rc = sim_errorf(SIM_EIO, "cannot create a private directory in %s: %s", tmp, strerror(errno));
    c->dir[0] = '\0';
    return rc;
  }
  char module[PATH_MAX];
  kvr_path(c, module, sizeof module, "module", ".bin");
  kvr_guest_params gp;
  gp.report_ns = o->report_ns ? o->report_ns : 100 * KVR_NS_PER_MS;
  gp.late_ns = o->late_ns ? o->late_ns : KVR_NS_PER_MS;
  /* Halting in gaps of over 200 us frees the host CPU for the migration
   * threads (as an idle real guest would) and, on a small machine, keeps
   * writes on time far better than spinning (83% -> 96% at 3000 writes/s
   * on two cores); waking early absorbs the wake-up latency of QEMU's APIC
   * timer. Shorter gaps are spun through. */
  gp.sleep_min_ns = o->spin ? 0 : o->halt_min_ns ? o->halt_min_ns : 200000;
  gp.wake_early_ns = gp.sleep_min_ns / 2 < 300000 ? gp.sleep_min_ns / 2 : 300000;
  /* Events past the timeout are never replayed (the run is cancelled or
   * over by then); the margin covers the destination running on after a
   * post-copy completion until it is stopped. */
  if ((rc = kvr__module_build(s, module, kernel_end, &gp, s->timeout_ns + 5 * KVR_NS_PER_S, &c->mod)))
    return rc;
  c->ram_bytes = kvr__ram_bytes(&c->mod);
  kvr_logf(c, "module: %llu bytes, %llu head + %llu body events%s, trace at guest page %u, RAM %llu MiB, dir %s",
           (unsigned long long)c->mod.bytes, (unsigned long long)c->mod.head_events,
           (unsigned long long)c->mod.body_events, c->mod.loop ? " (looping)" : "", c->mod.base_page,
           (unsigned long long)(c->ram_bytes >> 20), c->dir);
  return 0;
}

/* Instead of migrating: QEMU's calc-dirty-rate while the guest plays. */
static void kvr_measure_dirty_rate(kvr_ctx *c) {
  int rc = kvr__console_send(c->src.con, KVR_GO_BYTE);
  c->t0 = kvr__now_ns();
  if (!rc) rc = kvr__dirtyrate_measure(c->src.qmp, c->src.con, c->o->dirtyrate, c->t0, c->o->log);
  if (rc) {
    kvr_fail_rc(c, rc, "calc-dirty-rate");
    return;
  }
  c->r->status = MDL_STATUS_COMPLETED;
  c->r->failure[0] = '\0';
  kvr_take_console_counters(c);
}

/* From launch to the end of the migration. Every problem here is a failed
 * run (r->status, r->failure), not an error; both QEMUs are left for the
 * caller to shut down. */
static void kvr_migrate(kvr_ctx *c) {
  const mdl_scenario *s = c->s;
  mdl_result *r = c->r;
  const char *step = NULL;
  int rc;
  if (!c->o->dirtyrate && (rc = kvr_start_destination(c))) step = "starting the destination";
  else if ((rc = kvr_spawn_vm(c, &c->src, 0))) step = "starting the source";
  else if ((rc = kvr_identify(c))) step = "identifying QEMU";
  else if (c->o->pin_vcpu && !c->o->dirtyrate && (rc = kvr_pin(c))) step = "pinning the vCPU";
  else if (c->o->vcpu_nice && !c->o->dirtyrate && (rc = kvr_vcpu_priority(c))) step = "prioritising the vCPU";
  else if ((rc = kvr_wait_ready(c))) step = "booting the guest";
  else if (!c->o->dirtyrate && (rc = kvr_configure(c))) step = "configuring the migration";
  if (rc) {
    kvr_fail_rc(c, rc, step);
    return;
  }

  if (c->o->dirtyrate) {
    kvr_measure_dirty_rate(c);
    return;
  }

  if (c->o->gate && (rc = c->o->gate(c->o->gate_ctx))) {
    kvr_fail_rc(c, rc, "waiting to start");
    return;
  }
  /* Trace time 0 is the moment migration starts. */
  char uri[64];
  snprintf(uri, sizeof uri, "tcp:%s:%d", c->o->dest_addr ? c->o->dest_addr : "127.0.0.1", c->port);
  json_t *args = json_pack("{s:s}", "uri", uri);
  if (!args) rc = sim_errorf(SIM_ENOMEM, "out of memory");
  if (!rc && !(c->cpu = kvr__cpu_new())) rc = sim_errorf(SIM_ENOMEM, "out of memory");
  if (!rc) {
    kvr_cpu_poll(c, 1);
    if (c->cpu && !kvr__cpu_threads(c->cpu)) { /* no schedstat here: columns left empty */
      kvr__cpu_free(c->cpu);
      c->cpu = NULL;
    }
    if (c->cpu) kvr__cpu_start(c->cpu);
  }
  if (!rc && (rc = kvr__console_send(c->src.con, KVR_GO_BYTE)) == 0) {
    c->t0 = kvr__now_ns();
    if (c->info) c->info->migrate_ns = c->t0;
    /* A post-copy run asks for the switch in the same write as `migrate`:
     * QEMU reads the flag at the top of each pass, and a flag set only
     * after the first pass began switched one rate-limit window late
     * (docs/kvmreplay.md, "Post-copy from the start"). */
    if (mdl_algorithm_of(s->algo)->switch_at_start)
      rc = kvr__qmp_exec_pair(c->src.qmp, "migrate", args, "migrate-start-postcopy", NULL, KVR_QMP_TIMEOUT_NS);
    else
      rc = kvr__qmp_exec(c->src.qmp, "migrate", args, KVR_QMP_TIMEOUT_NS, NULL);
  }
  json_decref(args);
  if (rc) {
    kvr_fail_rc(c, rc, "migrate");
    return;
  }
  r->status = MDL_STATUS_COMPLETED; /* provisional: the loop decides */
  r->failure[0] = '\0';
  kvr_logf(c, "migrating to %s (%s)", uri, mdl_algo_name(s->algo));
  if (mdl_algorithm_of(s->algo)->switch_at_start && (rc = kvr_postcopy_asked(c, 0))) {
    kvr_fail_rc(c, rc, "starting post-copy");
    return;
  }
  kvr_poll_loop(c);
  kvr_cpu_poll(c, 1);
  kvr_cpu_take(c);
  /* Keep the round in progress when the run ended early (failure). */
  if (c->round_open && (rc = kvr_close_round(c, c->last_t_ms, c->last_pages, c->last_bytes)))
    kvr_fail_rc(c, rc, "recording rounds");
  if (r->status == MDL_STATUS_COMPLETED)
    kvr_after_completion(c);
  else if (r->status == MDL_STATUS_NOT_CONVERGED)
    kvr_after_cancel(c);
  else
    kvr_take_console_counters(c);
}

int kvr_run(const mdl_scenario *s, const kvr_options *o, mdl_result *r, kvr_info *info) {
  kvr_options defaults;
  if (!o) {
    kvr_options_init(&defaults);
    o = &defaults;
  }
  mdl_result_init(r, "kvmreplay");
  if (info) memset(info, 0, sizeof *info);
  kvr_ctx *c = calloc(1, sizeof *c);
  if (!c) return sim_errorf(SIM_ENOMEM, "out of memory");
  c->s = s;
  c->o = o;
  c->r = r;
  c->info = info;
  c->page_size = KVR_PAGE_SIZE;
  c->src = (kvr_vm){"source", "src", -1, NULL, NULL, 0, 0};
  c->dst = (kvr_vm){"destination", "dst", -1, NULL, NULL, 0, 0};
  c->poll_ns = o->poll_ns ? o->poll_ns : 10 * KVR_NS_PER_MS;
  c->postcopy_downtime_ms = -1;
  if (c->poll_ns > 20 * KVR_NS_PER_MS) c->poll_ns = 20 * KVR_NS_PER_MS;

  kvr__guard_install();
  r->status = MDL_STATUS_FAILED;
  int rc = kvr_prepare(c);
  if (rc) {
    snprintf(r->failure, sizeof r->failure, "%s", sim_error_message());
    goto out;
  }
  if (info) {
    snprintf(info->dir, sizeof info->dir, "%s", c->dir);
    info->base_page = c->mod.base_page;
    info->trace_pages = c->mod.pages;
    info->ram_bytes = c->ram_bytes;
    info->module_bytes = c->mod.bytes;
    info->module_events = c->mod.head_events + c->mod.body_events;
  }
  kvr_migrate(c);
  if (r->status == MDL_STATUS_FAILED && !r->failure[0]) snprintf(r->failure, sizeof r->failure, "unknown failure");
  if (kvr__guard_signal()) rc = sim_errorf(SIM_EINTERRUPTED, "interrupted by signal %d", kvr__guard_signal());
out:
  kvr_shutdown_vm(c, &c->src);
  kvr_shutdown_vm(c, &c->dst);
  kvr__cpu_free(c->cpu);
  if (c->dir[0] && !o->keep_dir) kvr_remove_dir(c->dir);
  kvr__guard_restore();
  free(c);
  return rc;
}
