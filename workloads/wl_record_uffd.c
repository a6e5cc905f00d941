/* wl_record_uffd: the parts of the uffd-wp recording backend that reach
 * into the target process (wl_record_internal.h), and its self-test.
 *
 * The recorder needs a userfaultfd of the target's address space. Only the
 * target can create one, so the recorder makes it do so: the target's main
 * thread is seized with ptrace, stopped, given registers that make it run
 * one system call at a `syscall` instruction that already exists in its
 * code (no memory of the target is written: patching code would be visible
 * to its other threads), and resumed with its own registers afterwards.
 * See docs/recording.md "The uffd-wp backend". */
#include "wl_record.h"
#include "wl_record_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_err.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int wl__uffd_register(int uffd, uint64_t start, uint64_t end) {
  struct uffdio_register reg;
  memset(&reg, 0, sizeof reg);
  reg.range.start = start;
  reg.range.len = end - start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  return ioctl(uffd, UFFDIO_REGISTER, &reg) == 0 ? 0 : -errno;
}

#if defined(__x86_64__)

/* Kernel-internal "restart the system call" results (include/linux/errno.h):
 * a thread stopped inside a blocking system call shows one of them in rax. */
#define WL__ERESTARTSYS 512
#define WL__ERESTARTNOINTR 513
#define WL__ERESTARTNOHAND 514
#define WL__ERESTART_RESTARTBLOCK 516

/* Waits for the next stop of traced thread `tid`. Returns 0 with *status,
 * or 1 when it has exited (left unreaped: a child of ours stays the
 * caller's to reap). */
static int wl__ptrace_wait(pid_t tid, int *status) {
  siginfo_t info;
  for (;;) {
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)tid, &info, WSTOPPED | WEXITED | WNOWAIT | __WALL) != 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (info.si_code == CLD_EXITED || info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
      return 1;
    if (waitpid(tid, status, __WALL) == tid) return 0;
    if (errno != EINTR) return 1;
  }
}

/* Resumes `tid` with `request` until it reaches a stop that `want` accepts,
 * keeping (not delivering) the first ordinary signal that arrives in the
 * meantime in *held, to be sent again after the detach. */
static int wl__ptrace_until(pid_t tid, int request, int (*want)(int status), int *held) {
  for (;;) {
    int status;
    if (ptrace((enum __ptrace_request)request, tid, NULL, NULL) != 0) return errno == ESRCH ? 1 : -errno;
    int rc = wl__ptrace_wait(tid, &status);
    if (rc) return rc;
    if (want(status)) return 0;
    int sig = WSTOPSIG(status);
    if ((status >> 16) == 0 && sig != SIGTRAP && sig != (SIGTRAP | 0x80) && !*held) *held = sig;
  }
}

static int wl__is_interrupt_stop(int status) {
  return WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP;
}

static int wl__is_syscall_stop(int status) {
  return WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80);
}

/* Address of two bytes 0f 05 (`syscall`) in the target's code: right
 * before rip when the thread stopped inside a system call, else the first
 * found in the vDSO or an executable mapping. 0 when none is found. */
static uint64_t wl__find_syscall_insn(pid_t pid, const struct user_regs_struct *regs) {
  unsigned char two[2];
  struct iovec local = {two, 2}, remote = {(void *)(uintptr_t)(regs->rip - 2), 2};
  if ((long long)regs->orig_rax >= 0 &&
      process_vm_readv(pid, &local, 1, &remote, 1, 0) == 2 && two[0] == 0x0f && two[1] == 0x05)
    return regs->rip - 2;
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
  FILE *maps = fopen(path, "re");
  if (!maps) return 0;
  uint64_t found = 0;
  static unsigned char buf[1 << 16];
  for (int pass = 0; pass < 2 && !found; pass++) {
    rewind(maps);
    while (!found && fgets(line, sizeof line, maps)) {
      unsigned long long start, end;
      char perms[8];
      if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3 || perms[2] != 'x') continue;
      /* The vDSO first: small, always there; then the rest. */
      if ((strstr(line, "[vdso]") != NULL) != (pass == 0)) continue;
      for (uint64_t at = start; at + 1 < end && !found; at += sizeof buf - 1) {
        size_t want = end - at < sizeof buf ? (size_t)(end - at) : sizeof buf;
        local.iov_base = buf;
        local.iov_len = want;
        remote.iov_base = (void *)(uintptr_t)at;
        remote.iov_len = want;
        ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (got < 2) break;
        for (ssize_t i = 0; i + 1 < got; i++)
          if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
            found = at + (uint64_t)i;
            break;
          }
      }
    }
  }
  fclose(maps);
  return found;
}

/* Runs one system call in stopped thread `tid` at `insn`. *ret gets the
 * kernel's return value (or -errno). 0, 1 if the thread died, or -errno of
 * a ptrace failure. */
static int wl__inject(pid_t tid, uint64_t insn, const struct user_regs_struct *saved, long nr,
                      long a0, long a1, long a2, long *ret, int *held) {
  struct user_regs_struct regs = *saved;
  regs.rip = insn;
  regs.rax = (unsigned long long)nr;
  regs.orig_rax = (unsigned long long)-1; /* not in a system call: no restart */
  regs.rdi = (unsigned long long)a0;
  regs.rsi = (unsigned long long)a1;
  regs.rdx = (unsigned long long)a2;
  if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) != 0) return errno == ESRCH ? 1 : -errno;
  int rc = wl__ptrace_until(tid, PTRACE_SYSCALL, wl__is_syscall_stop, held); /* entry */
  if (!rc) rc = wl__ptrace_until(tid, PTRACE_SYSCALL, wl__is_syscall_stop, held); /* exit */
  if (rc) return rc;
  if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) != 0) return errno == ESRCH ? 1 : -errno;
  *ret = (long)regs.rax;
  return 0;
}

/* True when thread `tid` of `pid` has exited (a zombie, or gone). */
static int wl__thread_dead(pid_t pid, pid_t tid) {
  char path[96], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/task/%ld/stat", (long)pid, (long)tid);
  FILE *f = fopen(path, "re");
  if (!f) return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *paren = strrchr(buf, ')');
  return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/* The thread to run the system calls in: the main one, or, when it has
 * exited while others run on (its stop would never come), the first live
 * one. Any thread will do: they share the address space. */
static pid_t wl__pick_thread(pid_t pid) {
  if (!wl__thread_dead(pid, pid)) return pid;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
  DIR *dir = opendir(path);
  pid_t tid = pid;
  if (!dir) return pid;
  struct dirent *e;
  while ((e = readdir(dir))) {
    long t = strtol(e->d_name, NULL, 10);
    if (t > 0 && t != pid && !wl__thread_dead(pid, (pid_t)t)) {
      tid = (pid_t)t;
      break;
    }
  }
  closedir(dir);
  return tid;
}

int wl__uffd_attach(pid_t pid, int *uffd) {
  pid_t tid = wl__pick_thread(pid);
  int rc = 0, held = 0, status, target_fd = -1, pidfd = -1;
  struct user_regs_struct saved;
  *uffd = -1;
  if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(uintptr_t)PTRACE_O_TRACESYSGOOD) != 0) {
    if (errno == ESRCH) return 1;
    return sim_errorf(SIM_EUNSUPPORTED,
                      "uffd-wp: cannot ptrace process %ld: %s (it needs ptrace rights, and "
                      "no other tracer such as a debugger)",
                      (long)pid, strerror(errno));
  }
  if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0) {
    rc = errno == ESRCH ? 1 : sim_errorf(SIM_EIO, "uffd-wp: PTRACE_INTERRUPT: %s", strerror(errno));
    goto detach;
  }
  for (;;) { /* signal stops may come before the interrupt's */
    if ((rc = wl__ptrace_wait(tid, &status))) goto detach;
    if (wl__is_interrupt_stop(status)) break;
    if (!held && WIFSTOPPED(status)) held = WSTOPSIG(status);
    if (ptrace(PTRACE_CONT, tid, NULL, NULL) != 0) {
      rc = 1;
      goto detach;
    }
  }
  if (ptrace(PTRACE_GETREGS, tid, NULL, &saved) != 0) {
    rc = errno == ESRCH ? 1 : sim_errorf(SIM_EIO, "uffd-wp: PTRACE_GETREGS: %s", strerror(errno));
    goto detach;
  }
  uint64_t insn = wl__find_syscall_insn(pid, &saved);
  if (!insn) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "uffd-wp: no syscall instruction in process %ld",
                    (long)pid);
    goto restore;
  }
  long fd = 0;
  /* All faults first; a target without CAP_SYS_PTRACE (and
   * vm.unprivileged_userfaultfd=0) may only have user-mode ones, which is
   * all that asynchronous write protection needs. */
  rc = wl__inject(tid, insn, &saved, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK, 0, 0, &fd, &held);
  if (!rc && fd == -EPERM)
    rc = wl__inject(tid, insn, &saved, SYS_userfaultfd,
                    O_CLOEXEC | O_NONBLOCK | WL__UFFD_USER_MODE_ONLY, 0, 0, &fd, &held);
  if (rc < 0) rc = sim_errorf(SIM_EIO, "uffd-wp: running userfaultfd() in process %ld: %s",
                              (long)pid, strerror(-rc));
  if (rc) goto restore;
  if (fd < 0) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "uffd-wp: userfaultfd() in process %ld failed: %s",
                    (long)pid, strerror((int)-fd));
    goto restore;
  }
  target_fd = (int)fd;
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0) *uffd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  if (*uffd < 0)
    rc = sim_errorf(SIM_EUNSUPPORTED, "uffd-wp: cannot take the userfaultfd of process %ld: %s",
                    (long)pid, strerror(errno));
  long ignored;
  int rc2 = wl__inject(tid, insn, &saved, SYS_close, target_fd, 0, 0, &ignored, &held);
  if (!rc && rc2) rc = rc2 > 0 ? 1 : sim_errorf(SIM_EIO, "uffd-wp: close(): %s", strerror(-rc2));
restore:
  if (rc != 1) {
    struct user_regs_struct back = saved;
    /* A blocking call interrupted by the stop is restarted as the kernel
     * would have done, had our stop not replaced its registers. */
    long long err = -(long long)back.rax;
    if ((long long)back.orig_rax >= 0 &&
        (err == WL__ERESTARTSYS || err == WL__ERESTARTNOINTR || err == WL__ERESTARTNOHAND ||
         err == WL__ERESTART_RESTARTBLOCK)) {
      back.rax = err == WL__ERESTART_RESTARTBLOCK ? SYS_restart_syscall : back.orig_rax;
      back.rip -= 2;
      back.orig_rax = (unsigned long long)-1;
    }
    if (ptrace(PTRACE_SETREGS, tid, NULL, &back) != 0 && !rc)
      rc = errno == ESRCH ? 1 : sim_errorf(SIM_EIO, "uffd-wp: PTRACE_SETREGS: %s", strerror(errno));
  }
detach:
  ptrace(PTRACE_DETACH, tid, NULL, NULL);
  if (held) syscall(SYS_tgkill, pid, tid, held);
  if (pidfd >= 0) close(pidfd);
  if (!rc && *uffd >= 0) {
    struct uffdio_api api;
    memset(&api, 0, sizeof api);
    api.api = UFFD_API;
    api.features = WL__UFFD_FEATURE_WP_ASYNC | WL__UFFD_FEATURE_WP_UNPOPULATED |
                   WL__UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
    if (ioctl(*uffd, UFFDIO_API, &api) != 0)
      rc = sim_errorf(SIM_EUNSUPPORTED,
                      "uffd-wp: this kernel's userfaultfd lacks asynchronous write "
                      "protection (UFFD_FEATURE_WP_ASYNC, Linux 6.7+): %s",
                      strerror(errno));
  }
  if (rc && *uffd >= 0) {
    close(*uffd);
    *uffd = -1;
  }
  return rc;
}

#else

int wl__uffd_attach(pid_t pid, int *uffd) {
  (void)pid;
  *uffd = -1;
  return sim_errorf(SIM_EUNSUPPORTED, "uffd-wp: implemented for x86-64 only");
}

#endif

/* ------------------------------------------------------------ self-test */

/* One PAGEMAP_SCAN of [start, end) of `pagemap_fd` that write-protects
 * the written pages again and counts them into written[] (page index
 * relative to `start`). Returns 0 or -errno. */
static int wl__probe_scan(int pagemap_fd, uint64_t start, uint64_t end, size_t ps,
                          int *written, size_t pages) {
  wl__pm_region regions[16];
  wl__pm_scan_arg arg;
  memset(&arg, 0, sizeof arg);
  arg.size = sizeof arg;
  arg.flags = WL__PM_SCAN_WP_MATCHING | WL__PM_SCAN_CHECK_WPASYNC;
  arg.start = start;
  arg.end = end;
  arg.vec = (uint64_t)(uintptr_t)regions;
  arg.vec_len = 16;
  wl__pm_scan_written(&arg);
  int n = ioctl(pagemap_fd, WL__PAGEMAP_SCAN, &arg);
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++)
    for (uint64_t a = regions[i].start; a < regions[i].end; a += ps)
      if ((a - start) / ps < pages) written[(a - start) / ps]++;
  return 0;
}

int wl_record_uffd_wp_probe(void) {
  size_t ps = (size_t)sysconf(_SC_PAGESIZE);
  int rc = 0, cmd[2] = {-1, -1}, ack[2] = {-1, -1}, uffd = -1, pm = -1;
  pid_t child = -1;
  /* A private and a shared mapping of two pages each, both non-zero. The
   * child (a copy of this process) rewrites page 0 of each with the bytes
   * it already holds when told to: the exact backend must see both writes
   * and neither idle page. */
  unsigned char *priv = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *shared = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (priv == MAP_FAILED || shared == MAP_FAILED) {
    rc = sim_errorf(SIM_ENOMEM, "uffd-wp self-test: mmap: %s", strerror(errno));
    goto cleanup;
  }
  if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(ack, O_CLOEXEC) != 0) {
    rc = sim_errorf(SIM_EIO, "uffd-wp self-test: pipe: %s", strerror(errno));
    goto cleanup;
  }
  child = fork();
  if (child < 0) {
    rc = sim_errorf(SIM_EIO, "uffd-wp self-test: fork: %s", strerror(errno));
    goto cleanup;
  }
  if (child == 0) {
    char c;
    memset(priv, 0x5a, 2 * ps);
    memset(shared, 0xa5, 2 * ps);
    if (write(ack[1], "r", 1) != 1) _exit(1);
    while (read(cmd[0], &c, 1) == 1) {
      if (c != 'w') _exit(0);
      ((volatile unsigned char *)priv)[0] = priv[0];
      ((volatile unsigned char *)shared)[0] = shared[0];
      if (write(ack[1], "d", 1) != 1) _exit(1);
    }
    _exit(0);
  }
  char c;
  if (read(ack[0], &c, 1) != 1) {
    rc = sim_errorf(SIM_ECHILD, "uffd-wp self-test: the test process died");
    goto cleanup;
  }
  rc = wl__uffd_attach(child, &uffd);
  if (rc == 1) rc = sim_errorf(SIM_ECHILD, "uffd-wp self-test: the test process died");
  if (rc) goto cleanup;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/pagemap", (long)child);
  pm = open(path, O_RDONLY | O_CLOEXEC);
  if (pm < 0) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "uffd-wp self-test: cannot open %s: %s", path, strerror(errno));
    goto cleanup;
  }
  int err;
  if ((err = wl__uffd_register(uffd, (uintptr_t)priv, (uintptr_t)priv + 2 * ps)) ||
      (err = wl__uffd_register(uffd, (uintptr_t)shared, (uintptr_t)shared + 2 * ps))) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "uffd-wp self-test: UFFDIO_REGISTER (write-protect mode): %s",
                    strerror(-err));
    goto cleanup;
  }
  int wp[2], ws[2];
  /* First scan: protects everything (all pages read as written). */
  memset(wp, 0, sizeof wp);
  memset(ws, 0, sizeof ws);
  if ((err = wl__probe_scan(pm, (uintptr_t)priv, (uintptr_t)priv + 2 * ps, ps, wp, 2)) ||
      (err = wl__probe_scan(pm, (uintptr_t)shared, (uintptr_t)shared + 2 * ps, ps, ws, 2))) {
    rc = sim_errorf(SIM_EUNSUPPORTED,
                    "uffd-wp self-test: PAGEMAP_SCAN with write protection (Linux 6.7+): %s",
                    strerror(-err));
    goto cleanup;
  }
  if (write(cmd[1], "w", 1) != 1 || read(ack[0], &c, 1) != 1) {
    rc = sim_errorf(SIM_ECHILD, "uffd-wp self-test: the test process died");
    goto cleanup;
  }
  memset(wp, 0, sizeof wp);
  memset(ws, 0, sizeof ws);
  if ((err = wl__probe_scan(pm, (uintptr_t)priv, (uintptr_t)priv + 2 * ps, ps, wp, 2)) ||
      (err = wl__probe_scan(pm, (uintptr_t)shared, (uintptr_t)shared + 2 * ps, ps, ws, 2))) {
    rc = sim_errorf(SIM_EUNSUPPORTED, "uffd-wp self-test: PAGEMAP_SCAN: %s", strerror(-err));
    goto cleanup;
  }
  if (wp[0] != 1 || wp[1] != 0 || ws[0] != 1 || ws[1] != 0)
    rc = sim_errorf(SIM_EUNSUPPORTED,
                    "uffd-wp self-test: after rewriting page 0 of a private and a shared "
                    "mapping, PAGEMAP_SCAN reported written pages %d%d (private) and %d%d "
                    "(shared), expected 10 and 10",
                    wp[0], wp[1], ws[0], ws[1]);
cleanup:
  if (pm >= 0) close(pm);
  if (uffd >= 0) close(uffd);
  if (cmd[1] >= 0) close(cmd[1]); /* EOF: the child exits */
  if (child > 0) {
    kill(child, SIGKILL);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  if (cmd[0] >= 0) close(cmd[0]);
  if (ack[0] >= 0) close(ack[0]);
  if (ack[1] >= 0) close(ack[1]);
  if (priv != MAP_FAILED && priv) munmap(priv, 2 * ps);
  if (shared != MAP_FAILED && shared) munmap(shared, 2 * ps);
  return rc;
}
