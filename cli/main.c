/* migsim: the command-line entry point. Dispatches to subcommands; each
 * lives in its own cli/cmd_*.c and stays thin over the libraries. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sim_err.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cli__cmds[] = {
    {"bench", cli_cmd_bench, "print the simulator's performance figures"},
    {"calibrate", cli_cmd_calibrate, "fit a profile's machine constants to real runs"},
    {"compare", cli_cmd_compare, "compare algorithms (and link speeds) on one workload"},
    {"sweep", cli_cmd_sweep, "run a grid of scenarios on all cores (resumable)"},
    {"merge", cli_cmd_merge, "combine the shard folders of a sweep (--shard K/N) into one"},
    {"run", cli_cmd_run, "simulate one scenario (or a scenario file)"},
    {"plan", cli_cmd_plan, "plan evacuations: order, concurrency, shared links (capacity planning)"},
    {"regress", cli_cmd_regress, "fail when a candidate migrates worse than a baseline (CI)"},
    {"report", cli_cmd_report, "Markdown + self-contained HTML report with plots of a result folder"},
    {"replay", cli_cmd_replay, "run a scenario on real QEMU guests and measure it"},
    {"validate", cli_cmd_validate, "simulate and replay a scenario set, report prediction errors"},
    {"trace", cli_cmd_trace, "generate, convert, inspect and record dirty-page traces"},
};

static void cli__usage(FILE *out) {
  fputs("usage: migsim COMMAND [ARGS]\n\n"
        "migsim simulates live VM migration (pre-copy, post-copy, hybrid) on\n"
        "dirty-page traces and replays the same scenarios on real QEMU.\n\n"
        "commands:\n",
        out);
  for (size_t i = 0; i < sizeof cli__cmds / sizeof cli__cmds[0]; i++)
    fprintf(out, "  %-9s %s\n", cli__cmds[i].name, cli__cmds[i].summary);
  fputs("\nRun 'migsim COMMAND --help' for a command's options.\n", out);
}

int main(int argc, char **argv) {
  sim_install_gsl_handler();
  if (argc < 2) {
    cli__usage(stderr);
    return CLI_EXIT_ERROR;
  }
  if (strcmp(argv[1], "help") == 0 && argc > 2) {
    /* migsim help COMMAND: the command's own --help */
    char *args[] = {argv[2], (char *)"--help", NULL};
    for (size_t i = 0; i < sizeof cli__cmds / sizeof cli__cmds[0]; i++)
      if (strcmp(argv[2], cli__cmds[i].name) == 0) return cli__cmds[i].run(2, args);
    cli_die("help: unknown command '%s' (see 'migsim --help')", argv[2]);
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    cli__usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    puts("migsim 0.1.0");
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof cli__cmds / sizeof cli__cmds[0]; i++)
    if (strcmp(argv[1], cli__cmds[i].name) == 0) return cli__cmds[i].run(argc - 1, argv + 1);
  cli_die("unknown command '%s' (see 'migsim --help')", argv[1]);
}
