/* libFuzzer target: sweep value lists (mdl_sweep_split).
 *
 * The input's first byte picks the parameter (a workload list, which
 * splits only before a new spec, or an ordinary one), the rest is the
 * list. Promises checked: no value is empty or contains ';', ordinary
 * lists have no ',' inside a value, and the values joined back with ';'
 * split into the same values (a list with an empty item is refused). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *key = data[0] & 1 ? "workload" : "max-bandwidth";
  char *text = malloc(size);
  if (!text) return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  char **v = NULL;
  size_t n = 0;
  if (mdl_sweep_split(key, text, &v, &n) == 0) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      if (!v[i][0] || strchr(v[i], ';')) abort();
      if (!(data[0] & 1) && strchr(v[i], ',')) abort();
      total += strlen(v[i]) + 1;
    }
    char *joined = malloc(total + 1), *p = joined;
    if (joined) {
      for (size_t i = 0; i < n; i++) p += strlen(strcpy(p, v[i])), *p++ = ';';
      p[-1] = '\0'; /* no trailing ';': an empty item is refused */
      char **w = NULL;
      size_t m = 0;
      if (mdl_sweep_split(key, joined, &w, &m) != 0 || m != n) abort();
      for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], w[i]) != 0) abort();
      mdl_sweep_values_free(w, m);
      free(joined);
    }
    mdl_sweep_values_free(v, n);
  }
  free(text);
  return 0;
}
