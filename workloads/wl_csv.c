/* PLACEHOLDER until the CSV reader lands (owned by the formats work). */
#include "sim_err.h"
#include "wl_internal.h"
int wl__csv_open(const char *path, FILE *f, wl_source **out) {
  (void)out; fclose(f);
  return sim_errorf(SIM_EUNSUPPORTED, "%s: CSV traces not implemented yet", path);
}
