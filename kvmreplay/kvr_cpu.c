/* kvr_cpu: where the host's CPU went during a migration, per QEMU thread.
 *
 * Both QEMUs run with -name ...,debug-threads=on, so every thread carries
 * QEMU's own name ("CPU 0/TCG", "live_migration" or "mig/src/main",
 * "compress", "multifdsend_0" or "mig/src/send_0", ...). The harness reads
 * each thread's /proc/PID/task/TID/schedstat (time on a CPU and time
 * runnable but waiting for one, in ns) when `migrate` is sent and at every
 * poll: one pread on a descriptor kept open per thread, the task list read
 * again only every tenth poll (a thread found late still counts from its
 * birth, as it was not there at the start). A thread that exits (QEMU joins its compress threads and multifd
 * channels in the cleanup after completion) keeps its last reading, so at
 * most one poll interval of its time is lost. docs/kvmreplay.md, "Host
 * CPU". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

typedef struct {
  pid_t pid, tid;
  int fd; /* its schedstat, -1 once the thread is gone */
  kvr_cpu_role role;
  uint64_t run0, wait0, slices0; /* at the start (0 for a thread born later) */
  uint64_t run, wait, slices;    /* last reading */
} kvr__thread;

struct kvr_cpu {
  kvr__thread *t;
  size_t n, cap;
  int started;
};

kvr_cpu *kvr__cpu_new(void) { return calloc(1, sizeof(kvr_cpu)); }

void kvr__cpu_free(kvr_cpu *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n; i++)
    if (a->t[i].fd >= 0) close(a->t[i].fd);
  free(a->t);
  free(a);
}

/* The role of a source thread by the name QEMU gave it (7.2 and 10.0). */
kvr_cpu_role kvr__cpu_role_of(const char *comm, int dest) {
  if (dest) return KVR_CPU_DEST;
  if (strncmp(comm, "CPU ", 4) == 0) return KVR_CPU_VCPU;
  if (strcmp(comm, "live_migration") == 0 || strcmp(comm, "mig/src/main") == 0) return KVR_CPU_MIGRATION;
  if (strcmp(comm, "compress") == 0 || strncmp(comm, "multifdsend_", 12) == 0 ||
      strncmp(comm, "mig/src/send_", 13) == 0)
    return KVR_CPU_WORKER;
  return KVR_CPU_SOURCE_OTHER;
}

static int kvr__read_line(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char *ok = fgets(buf, (int)len, f);
  fclose(f);
  return ok ? 0 : -1;
}

static kvr__thread *kvr__cpu_find(kvr_cpu *a, pid_t pid, pid_t tid) {
  for (size_t i = 0; i < a->n; i++)
    if (a->t[i].tid == tid && a->t[i].pid == pid) return &a->t[i];
  return NULL;
}

/* One reading of t's schedstat: "run_ns wait_ns slices". A thread that
 * is gone keeps its last reading. */
static void kvr__cpu_read(kvr__thread *t) {
  char line[128];
  ssize_t len = t->fd >= 0 ? pread(t->fd, line, sizeof line - 1, 0) : -1;
  unsigned long long run, wait, slices;
  if (len > 0) {
    line[len] = '\0';
    if (sscanf(line, "%llu %llu %llu", &run, &wait, &slices) == 3) {
      t->run = run;
      t->wait = wait;
      t->slices = slices;
      return;
    }
  }
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
}

/* Adds the threads of `pid` not known yet. */
static int kvr__cpu_list(kvr_cpu *a, pid_t pid, int dest) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return 0; /* the process is gone: its threads keep their last readings */
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
    if (tid <= 0 || kvr__cpu_find(a, pid, tid)) continue;
    char comm[64] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    if (kvr__read_line(path, comm, sizeof comm)) continue;
    comm[strcspn(comm, "\n")] = '\0';
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (a->n == a->cap) {
      size_t cap = a->cap ? 2 * a->cap : 32;
      kvr__thread *nt = realloc(a->t, cap * sizeof *nt);
      if (!nt) {
        close(fd);
        rc = sim_errorf(SIM_ENOMEM, "out of memory");
        break;
      }
      a->t = nt;
      a->cap = cap;
    }
    kvr__thread *t = &a->t[a->n++];
    *t = (kvr__thread){pid, tid, fd, kvr__cpu_role_of(comm, dest), 0, 0, 0, 0, 0, 0};
    kvr__cpu_read(t);
    if (!a->started) { /* there before the migration: count from now */
      t->run0 = t->run;
      t->wait0 = t->wait;
      t->slices0 = t->slices;
    }
  }
  closedir(d);
  return rc;
}

int kvr__cpu_sample(kvr_cpu *a, pid_t pid, int dest, int relist) {
  if (pid <= 0) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (a->t[i].pid == pid) kvr__cpu_read(&a->t[i]);
  return relist ? kvr__cpu_list(a, pid, dest) : 0;
}

void kvr__cpu_start(kvr_cpu *a) { a->started = 1; }

size_t kvr__cpu_threads(const kvr_cpu *a) { return a->n; }

void kvr__cpu_totals(const kvr_cpu *a, kvr_cpu_use use[KVR_CPU_ROLES]) {
  memset(use, 0, KVR_CPU_ROLES * sizeof *use);
  for (size_t i = 0; i < a->n; i++) {
    const kvr__thread *t = &a->t[i];
    use[t->role].run_ms += (double)(t->run - t->run0) / 1e6;
    use[t->role].wait_ms += (double)(t->wait - t->wait0) / 1e6;
    use[t->role].slices += t->slices - t->slices0;
  }
}

int kvr_host_cpu_model(char *buf, size_t len) {
  if (!len) return SIM_EINVAL;
  buf[0] = 0;
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return sim_errorf(SIM_ENOTFOUND, "/proc/cpuinfo: %s", strerror(errno));
  char line[512];
  const char *v = NULL;
  while (!v && fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0 && (v = strchr(line, ':'))) v += 1 + strspn(v + 1, " \t");
  fclose(f);
  if (!v) return sim_errorf(SIM_ENOTFOUND, "/proc/cpuinfo names no CPU model");
  snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
  return 0;
}
