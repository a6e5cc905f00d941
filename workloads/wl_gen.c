/* PLACEHOLDER until the generators land (owned by the generators work). */
#include <string.h>
#include "sim_err.h"
#include "wl_gen.h"
int wl_gen_is_spec(const char *spec) { return strchr(spec, ':') != NULL || strcmp(spec, "idle") == 0; }
int wl_gen_open(const char *spec, const wl_open_opts *opts, wl_source **out) {
  (void)opts; (void)out;
  return sim_errorf(SIM_EUNSUPPORTED, "generator '%s' not implemented yet", spec);
}
void wl_gen_help(FILE *out) { fputs("generators not implemented yet\n", out); }
