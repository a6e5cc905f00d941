/* kvr_proc: QEMU child processes and the signal guard.
 *
 * Each child runs in its own process group (pgid = pid), so one kill(-pgid)
 * takes down QEMU and anything it started. The children also get SIGKILL
 * as parent-death signal: if the harness itself is killed, they go too.
 * Linux sends that signal when the *thread* that forked exits, so every
 * fork happens on one spawner thread that lives as long as the process:
 * a caller thread that ends (a worker of a pool) does not take its QEMUs
 * with it. A fixed table of live groups is what the signal handler kills;
 * a slot is reserved before the fork (a full table refuses the spawn), and
 * the table holds sig_atomic_t values only, so the handler stays
 * async-signal-safe. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvr_internal.h"
#include "sim_err.h"

uint64_t kvr__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------ signal guard */

#define KVR_MAX_GROUPS 64
#define KVR_SLOT_RESERVED ((sig_atomic_t)-1)
static volatile sig_atomic_t kvr_groups[KVR_MAX_GROUPS];
static volatile sig_atomic_t kvr_signal_seen;
static int kvr_guard_depth;
/* Concurrent runs (kvr_fleet_run) install and restore from several threads. */
static pthread_mutex_t kvr_guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction kvr_old_int, kvr_old_term, kvr_old_hup, kvr_old_pipe;

static void kvr_guard_handler(int sig) {
  int saved = errno;
  for (int i = 0; i < KVR_MAX_GROUPS; i++)
    if (kvr_groups[i] > 0) kill(-(pid_t)kvr_groups[i], SIGKILL);
  kvr_signal_seen = sig;
  errno = saved;
}

/* Reserves a slot for a child about to be forked; -1 when all are taken. */
static int kvr_group_reserve(void) {
  for (int i = 0; i < KVR_MAX_GROUPS; i++) {
    sig_atomic_t expected = 0;
    if (__atomic_compare_exchange_n(&kvr_groups[i], &expected, KVR_SLOT_RESERVED, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      return i;
  }
  return -1;
}

static void kvr_group_remove(pid_t pid) {
  for (int i = 0; i < KVR_MAX_GROUPS; i++)
    if (kvr_groups[i] == (sig_atomic_t)pid) kvr_groups[i] = 0;
}

void kvr__guard_install(void) {
  pthread_mutex_lock(&kvr_guard_lock);
  if (kvr_guard_depth++ > 0) {
    pthread_mutex_unlock(&kvr_guard_lock);
    return;
  }
  kvr_signal_seen = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = kvr_guard_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocking poll() returns EINTR */
  sigaction(SIGINT, &sa, &kvr_old_int);
  sigaction(SIGTERM, &sa, &kvr_old_term);
  sigaction(SIGHUP, &sa, &kvr_old_hup);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &kvr_old_pipe);
  pthread_mutex_unlock(&kvr_guard_lock);
}

void kvr__guard_restore(void) {
  pthread_mutex_lock(&kvr_guard_lock);
  if (kvr_guard_depth > 0 && --kvr_guard_depth == 0) {
    sigaction(SIGINT, &kvr_old_int, NULL);
    sigaction(SIGTERM, &kvr_old_term, NULL);
    sigaction(SIGHUP, &kvr_old_hup, NULL);
    sigaction(SIGPIPE, &kvr_old_pipe, NULL);
  }
  pthread_mutex_unlock(&kvr_guard_lock);
}

int kvr__guard_signal(void) { return (int)kvr_signal_seen; }

/* ------------------------------------------------------------ spawn */

static int kvr_spawn_here(char *const argv[], const char *log_path, int nice, const char *netns, pid_t *pid) {
  int rc = 0;
  int nsfd = -1;
  *pid = -1;
  if (netns) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/var/run/netns/%s", netns);
    if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
      return sim_errorf(SIM_ENOTFOUND, "network namespace '%s' (%s): %s", netns, path, strerror(errno));
  }
  int slot = kvr_group_reserve();
  if (slot < 0) {
    if (nsfd >= 0) close(nsfd);
    return sim_errorf(SIM_ECHILD, "cannot start %s: %d QEMU process groups are running already", argv[0],
                      KVR_MAX_GROUPS);
  }
  int errpipe[2] = {-1, -1};
  int logfd = -1, nullfd = -1;

  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    rc = sim_errorf(SIM_EIO, "pipe: %s", strerror(errno));
    kvr_groups[slot] = 0;
    goto out;
  }
  logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (logfd < 0 || nullfd < 0) {
    rc = sim_errorf(SIM_EIO, "cannot open %s: %s", log_path, strerror(errno));
    kvr_groups[slot] = 0;
    goto out;
  }
  pid_t parent = getpid();
  /* Signals stay blocked across fork so the child cannot run our handler
   * before exec resets it. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the harness is already gone */
    if (nice != 0 && setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + nice) != 0) {
      int e = errno;
      ssize_t w = write(errpipe[1], &e, sizeof e);
      (void)w;
      _exit(127);
    }
    if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) != 0) {
      int e = errno;
      ssize_t w = write(errpipe[1], &e, sizeof e);
      (void)w;
      _exit(127);
    }
    dup2(nullfd, STDIN_FILENO);
    dup2(logfd, STDOUT_FILENO);
    dup2(logfd, STDERR_FILENO);
    execv(argv[0], argv);
    int e = errno;
    ssize_t w = write(errpipe[1], &e, sizeof e);
    (void)w;
    _exit(127);
  }
  int fork_errno = errno;
  if (child > 0) {
    setpgid(child, child); /* also from here: no window without a group */
    __atomic_store_n(&kvr_groups[slot], (sig_atomic_t)child, __ATOMIC_RELEASE);
  } else {
    __atomic_store_n(&kvr_groups[slot], 0, __ATOMIC_RELEASE);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (child < 0) {
    rc = sim_errorf(SIM_ECHILD, "fork: %s", strerror(fork_errno));
    goto out;
  }
  close(errpipe[1]);
  errpipe[1] = -1;
  int exec_errno = 0;
  ssize_t n;
  do n = read(errpipe[0], &exec_errno, sizeof exec_errno);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof exec_errno) {
    int status;
    waitpid(child, &status, 0);
    kvr_group_remove(child);
    if (nsfd >= 0)
      rc = sim_errorf(SIM_ECHILD, "cannot run %s in network namespace %s: %s", argv[0], netns,
                      strerror(exec_errno));
    else if (nice != 0)
      rc = sim_errorf(SIM_ECHILD, "cannot run %s with nice %+d: %s", argv[0], nice, strerror(exec_errno));
    else
      rc = sim_errorf(SIM_ECHILD, "cannot run %s: %s", argv[0], strerror(exec_errno));
    goto out;
  }
  *pid = child;
out:
  if (errpipe[0] >= 0) close(errpipe[0]);
  if (errpipe[1] >= 0) close(errpipe[1]);
  if (logfd >= 0) close(logfd);
  if (nullfd >= 0) close(nullfd);
  if (nsfd >= 0) close(nsfd);
  return rc;
}

/* The spawner thread: forks on behalf of any caller thread (see the
 * header comment). One request at a time. */
typedef struct {
  char *const *argv;
  const char *log_path;
  int nice;
  const char *netns;
  pid_t pid;
  int rc, pending, done;
  char msg[512];
} kvr_spawn_req;

static pthread_mutex_t kvr_spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kvr_spawn_cond = PTHREAD_COND_INITIALIZER;
static kvr_spawn_req *kvr_spawn_current;
static pthread_once_t kvr_spawner_once = PTHREAD_ONCE_INIT;
static int kvr_spawner_ok;

static void *kvr_spawner_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&kvr_spawn_lock);
  for (;;) {
    while (!kvr_spawn_current || !kvr_spawn_current->pending) pthread_cond_wait(&kvr_spawn_cond, &kvr_spawn_lock);
    kvr_spawn_req *r = kvr_spawn_current;
    r->pending = 0;
    pthread_mutex_unlock(&kvr_spawn_lock);
    r->rc = kvr_spawn_here(r->argv, r->log_path, r->nice, r->netns, &r->pid);
    if (r->rc) snprintf(r->msg, sizeof r->msg, "%s", sim_error_message());
    pthread_mutex_lock(&kvr_spawn_lock);
    r->done = 1;
    pthread_cond_broadcast(&kvr_spawn_cond);
  }
  return NULL;
}

static void kvr_spawner_start(void) {
  /* Signals go to the other threads: this one only forks. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  kvr_spawner_ok = pthread_create(&t, &attr, kvr_spawner_main, NULL) == 0;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int kvr__spawn(char *const argv[], const char *log_path, int nice, pid_t *pid) {
  return kvr__spawn_in(argv, log_path, nice, NULL, pid);
}

int kvr__spawn_in(char *const argv[], const char *log_path, int nice, const char *netns, pid_t *pid) {
  pthread_once(&kvr_spawner_once, kvr_spawner_start);
  if (!kvr_spawner_ok) return kvr_spawn_here(argv, log_path, nice, netns, pid); /* defensive */
  kvr_spawn_req r = {argv, log_path, nice, netns, -1, 0, 1, 0, ""};
  pthread_mutex_lock(&kvr_spawn_lock);
  while (kvr_spawn_current) pthread_cond_wait(&kvr_spawn_cond, &kvr_spawn_lock);
  kvr_spawn_current = &r;
  pthread_cond_broadcast(&kvr_spawn_cond);
  while (!r.done) pthread_cond_wait(&kvr_spawn_cond, &kvr_spawn_lock);
  kvr_spawn_current = NULL;
  pthread_cond_broadcast(&kvr_spawn_cond);
  pthread_mutex_unlock(&kvr_spawn_lock);
  *pid = r.pid;
  if (r.rc) return sim_errorf(r.rc, "%s", r.msg);
  return 0;
}

int kvr__child_exited(pid_t pid, int *status) {
  if (pid <= 0) return 1;
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == pid) {
    if (status) *status = st;
    /* The group may still hold other processes: take them down too. */
    kill(-pid, SIGKILL);
    kvr_group_remove(pid);
    return 1;
  }
  if (r < 0 && errno == ECHILD) {
    if (status) *status = 0;
    kvr_group_remove(pid);
    return 1;
  }
  return 0;
}

int kvr__wait_exit(pid_t pid, uint64_t timeout_ns, int *status) {
  uint64_t deadline = kvr__now_ns() + timeout_ns;
  for (;;) {
    if (kvr__child_exited(pid, status)) return 1;
    if (kvr__now_ns() >= deadline) return 0;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}

int kvr__kill_and_reap(pid_t pid, uint64_t timeout_ns) {
  if (pid <= 0) return 0;
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  int st;
  if (!kvr__wait_exit(pid, timeout_ns, &st))
    return sim_errorf(SIM_ETIMEOUT, "QEMU process %d did not exit after SIGKILL", (int)pid);
  return 0;
}

void kvr__describe_status(int status, char *buf, size_t len) {
  if (WIFEXITED(status))
    snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    snprintf(buf, len, "ended with wait status %d", status);
}
