/* Keeps a module library non-empty while its folder has no sources yet. */
typedef int migsim__empty_translation_unit;
