// Configuration files (TOML). Errors name the file, the line and column or the full key, and
// what was expected, and surface as InputError (exit 2).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cb::config {

// Parses a TOML file; a missing file or a syntax error is an InputError naming FILE:LINE:COL.
toml::table parse_file(const std::filesystem::path& path);
// Parses TOML text; `source` names it in errors (a file name, "--set", ...).
toml::table parse_string(std::string_view text, std::string_view source);

// Reads typed, range-checked values from one table and remembers which keys were read, so
// that unknown (misspelt) keys can be refused. Errors read "SOURCE: key 'a.b': expected ...".
class TableReader {
 public:
  TableReader(const toml::table& table, std::string source, std::string prefix = "");

  bool has(std::string_view key) const;
  double number(std::string_view key, double fallback, double min, double max);
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  bool boolean(std::string_view key, bool fallback);
  std::string string(std::string_view key, const std::string& fallback);
  std::string choice(std::string_view key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  std::vector<std::string> strings(std::string_view key, const std::vector<std::string>& fallback);
  std::vector<std::int64_t> integers(std::string_view key,
                                     const std::vector<std::int64_t>& fallback);
  std::vector<double> numbers(std::string_view key, const std::vector<double>& fallback);
  // A sub-table, if present (an error if the key holds something else).
  std::optional<TableReader> table(std::string_view key);
  // Throws InputError naming the first key that was never read.
  void reject_unknown_keys() const;

  const std::string& source() const { return source_; }
  // "prefix.key", the name errors use.
  std::string full_key(std::string_view key) const;
  // Builds the InputError for `key` with the given expectation.
  [[noreturn]] void fail(std::string_view key, std::string_view expected) const;

 private:
  const toml::node* node(std::string_view key);

  const toml::table& table_;
  std::string source_;
  std::string prefix_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace cb::config
