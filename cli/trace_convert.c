/* migsim trace import / export: lossless conversion between the CSV
 * interchange format and the binary format (both directions go through
 * wl_source_open + wl_copy, so any readable trace converts). The output
 * appears only when the whole conversion succeeded. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sim_err.h"
#include "wl_gen.h"
#include "wl_trace.h"

static void cli__import_usage(FILE *out) {
  fputs("usage: migsim trace import [--help] IN.csv OUT\n"
        "\n"
        "Converts a CSV trace (see docs/trace-format.md) to the binary trace\n"
        "format, or to CSV again when OUT ends in .csv. The input is checked\n"
        "while it is read: a malformed row, a pfn outside [0, pages), time going\n"
        "backwards or an unknown op stops the conversion with the line number,\n"
        "and no output file is left behind.\n"
        "\n"
        "options:\n"
        "  -h, --help   show this help and exit\n",
        out);
}

static void cli__export_usage(FILE *out) {
  fputs("usage: migsim trace export [--help] IN OUT.csv\n"
        "\n"
        "Writes trace IN (binary or CSV) as a CSV trace; OUT '-' is standard\n"
        "output. Metadata lines come out in their original order, so a CSV\n"
        "imported and exported again is byte-identical. Every checksum of a\n"
        "binary input is verified; a damaged or truncated file stops the\n"
        "export and leaves no output file.\n"
        "\n"
        "options:\n"
        "  -h, --help   show this help and exit\n",
        out);
}

/* Parses [--help] IN OUT; returns optind of IN or exits. */
static int cli__convert_args(int argc, char **argv, void (*usage)(FILE *)) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h':
      usage(stdout);
      exit(CLI_EXIT_OK);
    case ':':
      cli_die("%s: option '%s' needs a value (see 'migsim trace %s --help')", argv[0], argv[optind - 1], argv[0]);
    default:
      cli_die("%s: unknown option '%s' (see 'migsim trace %s --help')", argv[0],
              argv[optind - 1], argv[0]);
    }
  }
  if (argc - optind != 2)
    cli_die("%s: expected IN and OUT, got %d argument%s (see 'migsim trace %s --help')", argv[0],
            argc - optind, argc - optind == 1 ? "" : "s", argv[0]);
  return optind;
}

static int cli__convert(const char *cmd, const char *in, const char *out, wl_format format) {
  wl_source *src = NULL;
  char context[64];
  snprintf(context, sizeof context, "trace %s", cmd);
  if (wl_gen_is_spec(in))
    cli_die("%s: '%s' is a generator spec, not a trace file (use 'migsim trace gen')", context,
            in);
  /* OUT the same file as IN would replace the trace with its conversion
   * under its old name (an .mtr holding CSV). */
  struct stat si, so;
  if (strcmp(out, "-") && stat(in, &si) == 0 && stat(out, &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
    cli_die("%s: OUT %s is the input trace itself; write the conversion to another file", context, out);
  cli_check(wl_source_open(in, NULL, &src), context);
  int rc = wl_copy(src, out, format);
  wl_source_close(src);
  cli_check(rc, context);
  return CLI_EXIT_OK;
}

int cli_trace_import(int argc, char **argv) {
  int i = cli__convert_args(argc, argv, cli__import_usage);
  return cli__convert("import", argv[i], argv[i + 1], wl_format_for_path(argv[i + 1]));
}

int cli_trace_export(int argc, char **argv) {
  int i = cli__convert_args(argc, argv, cli__export_usage);
  return cli__convert("export", argv[i], argv[i + 1], WL_FORMAT_CSV);
}
