/* PLACEHOLDER until this subcommand lands. */
#include "cli.h"
int cli_trace_import(int argc, char **argv) { (void)argc; cli_die("%s: not implemented yet", argv[0]); }
int cli_trace_export(int argc, char **argv) { (void)argc; cli_die("%s: not implemented yet", argv[0]); }
