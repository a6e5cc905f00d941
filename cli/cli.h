/* cli: shared helpers of the migsim command's subcommands.
 *
 * Exit status: 0 success, 1 a run finished but a check failed (e.g. a
 * regression), 2 bad input or an error (one line on stderr). */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_CHECK 1
#define CLI_EXIT_ERROR 2

/* Prints "migsim: <message>" on stderr and exits with CLI_EXIT_ERROR. */
_Noreturn void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "migsim: <context>: <sim_error_message()>" and exits 2 when
 * rc < 0; returns otherwise. */
void cli_check(int rc, const char *context);

/* Option parsers that die with a message naming the option. */
uint64_t cli_bytes(const char *opt, const char *text, uint64_t page_size);
uint64_t cli_duration(const char *opt, const char *text, uint64_t bare_unit_ns);
uint64_t cli_count(const char *opt, const char *text);
double cli_double(const char *opt, const char *text);
/* A rate in bytes/s (bare numbers are bytes/s). */
double cli_bytes_per_s(const char *opt, const char *text, uint64_t page_size);

/* --page-size: a power of two in 512..WL_MAX_PAGE_SIZE; NULL gives 4096. */
uint64_t cli_page_size(const char *text);
/* The guest size from --pages or --memory (a whole number of pages), or 0
 * when neither was given; dies when both were, or on a bad or
 * out-of-range value. `cmd` prefixes the messages. */
uint64_t cli_guest_pages(const char *cmd, const char *pages_text, const char *memory_text,
                         uint64_t page_size);

/* True when stderr is a terminal (progress bars only then). */
int cli_is_tty(void);

/* Subcommands. argv[0] is the subcommand's own name. */
int cli_cmd_trace(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
int cli_cmd_compare(int argc, char **argv);
int cli_cmd_sweep(int argc, char **argv);
int cli_cmd_merge(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_validate(int argc, char **argv);
int cli_cmd_calibrate(int argc, char **argv);
int cli_cmd_replay(int argc, char **argv);
int cli_cmd_regress(int argc, char **argv);
int cli_cmd_report(int argc, char **argv);
int cli_cmd_plan(int argc, char **argv);
int cli_trace_gen(int argc, char **argv);
int cli_trace_import(int argc, char **argv);
int cli_trace_export(int argc, char **argv);
int cli_trace_info(int argc, char **argv);
int cli_trace_stats(int argc, char **argv);
int cli_trace_record(int argc, char **argv);
int cli_trace_curve(int argc, char **argv);

#endif
