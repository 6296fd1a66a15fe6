// Fuzzes suite files and recipes (docs/suites.md, docs/recipes.md): any TOML text must load as
// a suite (its recipes parsed with it) or as a recipe, or raise InputError, never crash. The
// first byte chooses which. Paths resolve under a directory that does not exist.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "suite/suite.h"
#include "trial/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const toml::table table = cb::config::parse_string(text, "fuzz.toml");
    if (data[0] & 1) {
      (void)cb::trial::parse_recipe(table, "fuzz.toml");
    } else {
      const cb::suite::Suite s = cb::suite::parse_suite(table, "fuzz.toml", "/nonexistent-fuzz-dir");
      for (const auto& r : s.recipes) (void)cb::suite::recipe_toml(s, r.name);
    }
  } catch (const cb::InputError&) {
  }
  return 0;
}
