/* wl_record_proc: starting and reaping the command that `trace record --
 * CMD ARGS...` records. The child runs in its own process group so that a
 * Ctrl-C aimed at migsim does not reach it first, and so that wl_record_reap
 * can end the command together with anything it started. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_err.h"
#include "wl_record.h"

int wl_record_spawn(char *const argv[], pid_t *pid) {
  int fds[2];
  if (!argv || !argv[0]) return sim_errorf(SIM_EINVAL, "no command to run");
  /* The close-on-exec pipe tells the parent when exec has happened: EOF
   * means success, an int on it is the child's exec errno. */
  if (pipe2(fds, O_CLOEXEC) != 0)
    return sim_errorf(SIM_ECHILD, "cannot create a pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return sim_errorf(SIM_ECHILD, "cannot fork: %s", strerror(err));
  }
  if (child == 0) {
    setpgid(0, 0);
    execvp(argv[0], argv);
    int err = errno;
    ssize_t ignored = write(fds[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  setpgid(child, child); /* also from here: no race with the first kill */
  close(fds[1]);
  int err = 0;
  ssize_t n;
  do {
    n = read(fds[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  close(fds[0]);
  if (n == (ssize_t)sizeof err) {
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
    return sim_errorf(SIM_ECHILD, "cannot run '%s': %s", argv[0], strerror(err));
  }
  *pid = child;
  return 0;
}

int wl_record_reap(pid_t pid, uint64_t grace_ns, int *status) {
  int st = 0;
  /* The whole group: the command and whatever it left behind. Harmless
   * when everything has exited already (ESRCH). */
  kill(-pid, SIGTERM);
  const struct timespec tick = {0, 10 * 1000 * 1000};
  uint64_t waited = 0;
  for (;;) {
    pid_t got = waitpid(pid, &st, WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR)
      return sim_errorf(SIM_ECHILD, "cannot wait for process %ld: %s", (long)pid, strerror(errno));
    if (waited >= grace_ns) {
      kill(-pid, SIGKILL);
      while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
      }
      if (got < 0)
        return sim_errorf(SIM_ECHILD, "cannot wait for process %ld: %s", (long)pid, strerror(errno));
      break;
    }
    nanosleep(&tick, NULL);
    waited += (uint64_t)tick.tv_nsec;
  }
  /* Stragglers of the group that ignored SIGTERM. */
  kill(-pid, SIGKILL);
  if (status) *status = st;
  return 0;
}
