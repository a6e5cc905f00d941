/* sim_err: error codes shared by every migsim module.
 *
 * Every fallible function returns 0 or one of the negative SIM_E* codes.
 * The code says what kind of failure it was; the detail (file, line or
 * record, what was expected) goes into a per-thread message set with
 * sim_errorf(), which the CLI prints as one line. */
#ifndef SIM_ERR_H
#define SIM_ERR_H

#include <stddef.h>

/* One list defines the codes and their default messages. */
#define SIM_ERRNO_MAP(X)                                   \
  X(NOMEM, "out of memory")                                \
  X(IO, "input/output error")                              \
  X(FORMAT, "malformed input")                             \
  X(TRUNCATED, "input is truncated")                       \
  X(CHECKSUM, "checksum mismatch")                         \
  X(RANGE, "value out of range")                           \
  X(INVAL, "invalid argument")                             \
  X(UNIT, "unknown unit")                                  \
  X(ORDER, "events out of time order")                     \
  X(NOTFOUND, "not found")                                 \
  X(UNSUPPORTED, "not supported")                          \
  X(CHILD, "child process failed")                         \
  X(TIMEOUT, "timed out")                                  \
  X(INTERRUPTED, "interrupted")

/* Positive indices into the message table (internal). */
enum {
  SIM__IDX_OK = 0,
#define SIM__ERR_IDX(name, msg) SIM__IDX_##name,
  SIM_ERRNO_MAP(SIM__ERR_IDX)
#undef SIM__ERR_IDX
  SIM__ERR_COUNT
};

/* The public codes: SIM_OK and SIM_ENOMEM, SIM_EIO, ... (all negative). */
enum {
  SIM_OK = 0,
#define SIM__ERR_CODE(name, msg) SIM_E##name = -SIM__IDX_##name,
  SIM_ERRNO_MAP(SIM__ERR_CODE)
#undef SIM__ERR_CODE
};

/* Static text for a code (also for 0 and unknown codes). Never NULL. */
const char *sim_strerror(int code);

/* Records a formatted detail message for the calling thread and returns
 * `code` unchanged, so that call sites read `return sim_errorf(...)`. */
int sim_errorf(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The calling thread's last detail message, or sim_strerror() of the last
 * code when none was given. Valid until the next sim_errorf() on the same
 * thread. */
const char *sim_error_message(void);

/* Forgets the calling thread's message. */
void sim_error_clear(void);

/* For a "did you mean": the name of names[0..n) at most two edits
 * (Levenshtein) from word[0..len), the first of the closest; NULL when
 * none is, or for words of 63 characters or more. O(n * len^2). */
const char *sim_suggest(const char *word, size_t len, const char *const *names, size_t n);

/* Installs a GSL error handler that records the error instead of aborting
 * (GSL's default). Call once at start-up; idempotent. */
void sim_install_gsl_handler(void);

#endif
