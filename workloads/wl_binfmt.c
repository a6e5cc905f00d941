/* PLACEHOLDER until the binary format lands (owned by the formats work). */
#include "sim_err.h"
#include "wl_internal.h"
int wl__bin_open(const char *path, FILE *f, wl_source **out) {
  (void)out; fclose(f);
  return sim_errorf(SIM_EUNSUPPORTED, "%s: binary traces not implemented yet", path);
}
