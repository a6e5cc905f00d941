/* mdl_schema: the result schema's column tables for the docs. */
#include "mdl_schema.h"

#include <string.h>

typedef struct {
  const char *column, *type, *unit, *qsec, *qname, *meaning;
  const char *set; /* the loader's expression, as text */
} mdl__col_doc;

/* MDL__STR expands its argument first: MDL_DERIVED reads "((void)0)". */
#define MDL__STR(x) #x
#define MDL__XSTR(x) MDL__STR(x)
#define MDL__DOC(col, type, present, get, set, qsec, qname, unit, meaning) \
  {#col, #type, unit, #qsec, qname, meaning, MDL__XSTR(set)},

static const mdl__col_doc mdl__summary_doc[] = {MDL_SUMMARY_COLUMNS(MDL__DOC)};
static const mdl__col_doc mdl__round_doc[] = {MDL_ROUND_COLUMNS(MDL__DOC)};
static const mdl__col_doc mdl__timeline_doc[] = {MDL_TIMELINE_COLUMNS(MDL__DOC)};

static void mdl__table_md(FILE *out, const char *file, const mdl__col_doc *cols, size_t n) {
  fprintf(out, "| `%s` column | type | unit | QEMU field | meaning |\n|---|---|---|---|---|\n", file);
  for (size_t i = 0; i < n; i++) {
    const mdl__col_doc *c = &cols[i];
    const char *type = c->type[0] == 'T' ? "text" : c->type[0] == 'U' ? "integer" : "number";
    fprintf(out, "| `%s` | %s | %s | ", c->column, type, c->unit);
    if (c->qname[0])
      fprintf(out, "`%s%s`", c->qsec[0] == 'R' ? "ram." : c->qsec[0] == 'X' ? "xbzrle-cache." : c->qsec[0] == 'C' ? "compression." : "", c->qname);
    fprintf(out, " | %s%s |\n", c->meaning, !strcmp(c->set, MDL__XSTR(MDL_DERIVED)) ? " (derived, not loaded)" : "");
  }
}

void mdl_schema_md(FILE *out) {
  mdl__table_md(out, "summary.csv", mdl__summary_doc, sizeof mdl__summary_doc / sizeof mdl__summary_doc[0]);
  fputc('\n', out);
  mdl__table_md(out, "rounds.csv", mdl__round_doc, sizeof mdl__round_doc / sizeof mdl__round_doc[0]);
  fputc('\n', out);
  mdl__table_md(out, "timeline.csv", mdl__timeline_doc, sizeof mdl__timeline_doc / sizeof mdl__timeline_doc[0]);
}
