/* PLACEHOLDER until this subcommand lands. */
#include "cli.h"
int cli_trace_gen(int argc, char **argv) { (void)argc; cli_die("%s: not implemented yet", argv[0]); }
