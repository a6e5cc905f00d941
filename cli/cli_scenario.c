/* cli_scenario: scenario flag parsing for every simulation command. */
#include "cli_scenario.h"

#include "mdl_feature.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "res_output.h"
#include "sim_err.h"
#include "wl_gen.h"

/* Scenario parameters given as flags, kept so that they can be applied
 * again over each section of a scenario file: a flag beats the file. */
static struct {
  char name[128];
  char value[1024];
} cli__over[64];
static size_t cli__nover;

static void cli__remember(const char *cmd, const char *name, const char *value) {
  /* --memory and --pages (--trace and --workload) set one parameter:
   * both on one command line contradict each other. */
  for (size_t i = 0; i < cli__nover; i++) {
    const char *what = mdl_scenario_same_param(cli__over[i].name, name);
    if (what) cli_die("%s: --%s and --%s both set %s: give one", cmd, cli__over[i].name, name, what);
  }
  if (cli__nover == sizeof cli__over / sizeof cli__over[0]) cli_die("%s: too many scenario flags", cmd);
  if (strlen(value) >= sizeof cli__over[0].value) cli_die("%s: --%s: value too long", cmd, name);
  snprintf(cli__over[cli__nover].name, sizeof cli__over[0].name, "%s", name);
  snprintf(cli__over[cli__nover].value, sizeof cli__over[0].value, "%s", value);
  cli__nover++;
}

void cli_scenario_overrides(mdl_scenario *s) {
  for (size_t i = 0; i < cli__nover; i++)
    if (mdl_scenario_set(s, cli__over[i].name, cli__over[i].value))
      cli_die("--%s: %s", cli__over[i].name, sim_error_message());
}

static const char *const cli__linked[] = {"max-bandwidth", "postcopy-bandwidth", "link"};

unsigned cli_bandwidth_keep(int argc, char **argv) {
  unsigned keep = 0;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) != 0) continue;
    char name[64];
    size_t len = strcspn(argv[i] + 2, "=");
    if (len >= sizeof name) continue;
    memcpy(name, argv[i] + 2, len);
    name[len] = '\0';
    keep |= mdl_bandwidth_part(name);
  }
  return keep;
}

int cli_scenario_set(mdl_scenario *s, const char *key, const char *value, unsigned keep) {
  if (strcmp(key, MDL_BANDWIDTH_KEY) != 0) return mdl_scenario_set(s, key, value);
  return mdl_scenario_set_bandwidth(s, value, keep);
}

int cli_scenario_args(int argc, char **argv, mdl_scenario *s, cli_opt_fn other, void *ctx,
                      char **positional, int max_positional) {
  int npos = 0;
  unsigned keep = cli_bandwidth_keep(argc, argv);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      if (!positional) cli_die("%s: unexpected argument '%s' (see --help)", argv[0], arg);
      if (npos >= max_positional) cli_die("%s: too many arguments at '%s'", argv[0], arg);
      positional[npos++] = argv[i];
      continue;
    }
    char name[128];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    if (len >= sizeof name) cli_die("%s: option '%s' is too long", argv[0], arg);
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (other) {
      int used = other(ctx, name, value);
      if (used >= 0) {
        if (used == 1 && !value) cli_die("%s: --%s needs a value", argv[0], name);
        if (used == 1 && !eq) i++;
        continue;
      }
    }
    /* A yes/no parameter given alone (--timeline) means yes. */
    if (!eq && mdl_scenario_is_flag(name) && (!value || strncmp(value, "--", 2) == 0)) {
      if (mdl_scenario_set(s, name, "yes")) cli_die("%s: --%s", argv[0], sim_error_message());
      cli__remember(argv[0], name, "yes");
      continue;
    }
    if (!value) {
      const char *near = mdl_scenario_suggest(name);
      if (near && strcmp(near, name))
        cli_die("%s: unknown option --%s; did you mean --%s? (see --help)", argv[0], name, near);
      cli_die("%s: --%s needs a value (or unknown option; see --help)", argv[0], name);
    }
    if (!strcmp(name, MDL_BANDWIDTH_KEY)) {
      /* Remembered as its parts, so that it overrides a scenario file
       * like they do. */
      if (cli_scenario_set(s, name, value, keep)) cli_die("%s: --%s", argv[0], sim_error_message());
      for (size_t k = 0; k < sizeof cli__linked / sizeof cli__linked[0]; k++)
        if (!(keep & mdl_bandwidth_part(cli__linked[k]))) cli__remember(argv[0], cli__linked[k], value);
      if (!eq) i++;
      continue;
    }
    int rc = mdl_scenario_set(s, name, value);
    if (rc == SIM_ENOTFOUND) {
      const char *near = mdl_scenario_suggest(name);
      if (near) cli_die("%s: unknown option --%s; did you mean --%s? (see --help)", argv[0], name, near);
      cli_die("%s: unknown option --%s (see --help)", argv[0], name);
    }
    if (rc) cli_die("%s: --%s", argv[0], sim_error_message());
    cli__remember(argv[0], name, value);
    if (!eq) i++;
  }
  return npos;
}

void cli_scenario_name(mdl_scenario *s) {
  if (s->name[0]) return;
  mdl_variant_name(s, s->name, sizeof s->name); /* precopy, or precopy+xbzrle */
}

void cli_scenario_repeat(const mdl_scenario *s, uint64_t k, uint64_t trace_step_ns, mdl_scenario *out) {
  *out = *s;
  if (wl_gen_is_spec(s->workload)) out->seed = s->seed + k;
  else out->trace_offset_ns = s->trace_offset_ns + k * trace_step_ns;
}

char *cli_repeat_id(const char *name, uint64_t k, char *id) {
  char key[MDL_TEXT_MAX + 32];
  snprintf(key, sizeof key, "%s#%llu", name, (unsigned long long)(k + 1));
  return res_run_id(key, id);
}
