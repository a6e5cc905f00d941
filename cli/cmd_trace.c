/* migsim trace: subcommands that make, convert and describe traces. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cli__trace_cmds[] = {
    {"gen", cli_trace_gen, "generate a trace from a workload spec"},
    {"import", cli_trace_import, "convert a CSV trace to the binary format"},
    {"export", cli_trace_export, "convert a binary trace to CSV"},
    {"info", cli_trace_info, "summarise a trace (rates, working set, size)"},
    {"stats", cli_trace_stats, "dirty rate, working-set curve, write histogram"},
    {"record", cli_trace_record, "record a trace of a running process"},
    {"curve", cli_trace_curve, "a curve: spec from QEMU's calc-dirty-rate results"},
};

static void cli__trace_usage(FILE *out) {
  fputs("usage: migsim trace COMMAND [ARGS]\n\ncommands:\n", out);
  for (size_t i = 0; i < sizeof cli__trace_cmds / sizeof cli__trace_cmds[0]; i++)
    fprintf(out, "  %-8s %s\n", cli__trace_cmds[i].name, cli__trace_cmds[i].summary);
  fputs("\nRun 'migsim trace COMMAND --help' for a command's options.\n", out);
}

int cli_cmd_trace(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    cli__trace_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof cli__trace_cmds / sizeof cli__trace_cmds[0]; i++)
    if (strcmp(argv[1], cli__trace_cmds[i].name) == 0)
      return cli__trace_cmds[i].run(argc - 1, argv + 1);
  cli_die("unknown trace command '%s' (see 'migsim trace --help')", argv[1]);
}
