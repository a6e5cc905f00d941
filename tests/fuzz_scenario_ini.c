/* libFuzzer target: scenario files (models/mdl_ini.c + mdl_scenario_set).
 *
 * Each input is read by the strict INI reader; when it is accepted, every
 * entry is applied to the scenario of its section as the scenario-file
 * reader does, and every scenario is checked as a whole. Promises checked:
 * entries point inside the text with their line numbers in order, and a
 * scenario that mdl_scenario_validate accepts has every parameter within
 * its documented range (re-setting its canonical text must succeed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_ini.h"
#include "mdl_scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mdl_ini ini;
  if (mdl_ini_parse("fuzz.ini", (const char *)data, size, &ini) != 0) return 0;
  unsigned last_line = 0;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  const char *section = "";
  for (size_t i = 0; i < ini.count; i++) {
    const mdl_ini_entry *e = &ini.entries[i];
    if (e->line <= last_line && i > 0) abort();
    last_line = e->line;
    if (!e->key[0]) abort();
    if (strcmp(section, e->section) != 0) {
      if (s.workload[0]) (void)mdl_scenario_validate(&s);
      mdl_scenario_defaults(&s);
      section = e->section;
    }
    (void)mdl_scenario_set(&s, e->key, e->value);
  }
  if (s.workload[0] && mdl_scenario_validate(&s) == 0) {
    static const char *const keys[] = {"max-bandwidth", "link", "latency", "seed", "timeout", "pages"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
      char buf[256];
      mdl_scenario copy = s;
      mdl_scenario_get(&s, keys[k], buf, sizeof buf);
      /* Canonical text of a valid value is itself valid (pages = 0 means
       * "from the trace" and is allowed too). */
      if (mdl_scenario_set(&copy, keys[k], buf) != 0) abort();
    }
    (void)mdl_scenario_digest(&s, NULL, 0);
  }
  mdl_ini_free(&ini);
  return 0;
}
