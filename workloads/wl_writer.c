/* PLACEHOLDER until the writers land (owned by the formats work). */
#include "sim_err.h"
#include "wl_trace.h"
int wl_writer_open(const char *path, wl_format format, const wl_meta *meta, wl_writer **out) {
  (void)format; (void)meta; (void)out;
  return sim_errorf(SIM_EUNSUPPORTED, "%s: trace writers not implemented yet", path);
}
int wl_writer_write(wl_writer *w, const wl_event *events, size_t n) { (void)w; (void)events; (void)n; return SIM_EUNSUPPORTED; }
int wl_writer_close(wl_writer *w) { (void)w; return SIM_EUNSUPPORTED; }
void wl_writer_abort(wl_writer *w) { (void)w; }
