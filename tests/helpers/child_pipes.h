/* child_pipes.h: starts a helper program with its stdin and stdout on
 * pipes, for the tests and benchmarks that drive tests/helpers/record_pattern
 * line by line. */
#ifndef CHILD_PIPES_H
#define CHILD_PIPES_H

#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* Runs `path` with `argv`; *to writes its stdin, *from reads its stdout.
 * Returns the child's pid, or -1 (nothing started) when pipe, fork or
 * fdopen failed. The caller closes both streams and reaps the child. */
static inline pid_t child_pipes_start(const char *path, char *const argv[], FILE **to,
                                      FILE **from) {
  int in[2], out[2];
  if (pipe(in) != 0) return -1;
  if (pipe(out) != 0) {
    close(in[0]);
    close(in[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    execv(path, argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  *to = pid > 0 ? fdopen(in[1], "w") : NULL;
  *from = pid > 0 ? fdopen(out[0], "r") : NULL;
  if (!*to || !*from) {
    if (*to) fclose(*to); else close(in[1]);
    if (*from) fclose(*from); else close(out[0]);
    return -1; /* a forked child sees EOF on stdin and ends */
  }
  return pid;
}

#endif
