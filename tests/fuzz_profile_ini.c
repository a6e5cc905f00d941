/* libFuzzer target: profile files (models/mdl_ini.c + mdl_profile_set).
 *
 * Each accepted INI input is applied key by key to the qemu-7.2 profile, as
 * a profile file is. Promise checked: a profile built only through
 * mdl_profile_set from a valid base stays valid (every key is range-checked
 * when set, so mdl_profile_validate can only object to the Xen-only
 * combination it documents). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdl_ini.h"
#include "mdl_profile.h"
#include "sim_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mdl_ini ini;
  if (mdl_ini_parse("fuzz-profile.ini", (const char *)data, size, &ini) != 0) return 0;
  mdl_profile p = mdl_profile_qemu72;
  for (size_t i = 0; i < ini.count; i++) (void)mdl_profile_set(&p, ini.entries[i].key, ini.entries[i].value);
  int rc = mdl_profile_validate(&p);
  if (rc != 0 && !(p.driver == MDL_DRIVER_XEN && rc == SIM_ERANGE)) abort();
  mdl_ini_free(&ini);
  return 0;
}
