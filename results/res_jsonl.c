/* res_jsonl: summary rows as JSON Lines (see res_jsonl.h). */
#include "res_jsonl.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_schema.h"
#include "res_load.h"
#include "sim_err.h"
#include "sim_file.h"

static void res__json_text(FILE *out, const char *text) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\') {
      fputc('\\', out);
      fputc(*p, out);
    } else if (*p < 0x20) {
      fprintf(out, "\\u%04x", *p);
    } else {
      fputc(*p, out);
    }
  }
  fputc('"', out);
}

static void res__json_u64(FILE *out, uint64_t v) { fprintf(out, "%" PRIu64, v); }

/* The shortest of %.15g..%.17g that reads back as v (as res_csv_double);
 * JSON has no NaN or infinity: null. */
static void res__json_double(FILE *out, double v) {
  if (!isfinite(v)) {
    fputs("null", out);
    return;
  }
  char buf[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, out);
}

#define RES__JSON_TEXT res__json_text
#define RES__JSON_U64 res__json_u64
#define RES__JSON_DOUBLE res__json_double
#define RES__JSON_FIELD(col, type, present, get, ...) \
  fputs(first ? "{\"" #col "\":" : ",\"" #col "\":", out); \
  first = 0;                                            \
  if (present)                                          \
    RES__JSON_##type(out, get);                         \
  else                                                  \
    fputs("null", out);

void res_jsonl_row(FILE *out, const char *run_id, const mdl_scenario *s, const mdl_result *r) {
  int first = 1;
  MDL_SUMMARY_COLUMNS(RES__JSON_FIELD)
  fputs("}\n", out);
}
#undef RES__JSON_FIELD

int res_jsonl_write(const char *dir) {
  res_run_set set;
  int rc = res_runs_load(dir, &set);
  if (rc) return rc;
  size_t n = strlen(dir) + sizeof "/summary.jsonl";
  char *path = malloc(n);
  if (!path) {
    res_runs_free(&set);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  snprintf(path, n, "%s/summary.jsonl", dir);
  sim_file *f;
  rc = sim_file_open(path, &f);
  if (!rc) {
    FILE *out = sim_file_stream(f);
    for (size_t i = 0; i < set.count; i++)
      res_jsonl_row(out, set.runs[i].run_id, &set.runs[i].scenario, &set.runs[i].result);
    rc = sim_file_commit(f);
  }
  free(path);
  res_runs_free(&set);
  return rc;
}
