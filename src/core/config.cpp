#include "core/config.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/input_file.h"

namespace cb::config {
namespace {
std::string describe_parse_error(const toml::parse_error& e, std::string_view source) {
  const auto& where = e.source().begin;
  return fmt::format("{}:{}:{}: malformed TOML: {}", source, where.line, where.column,
                     e.description());
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out;
}
}  // namespace

toml::table parse_file(const std::filesystem::path& path) {
  return parse_string(read_regular_file(path, "configuration file", std::uint64_t{64} << 20),
                      path.string());
}

toml::table parse_string(std::string_view text, std::string_view source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw InputError(describe_parse_error(e, source));
  }
}

TableReader::TableReader(const toml::table& table, std::string source, std::string prefix)
    : table_(table), source_(std::move(source)), prefix_(std::move(prefix)) {}

std::string TableReader::full_key(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void TableReader::fail(std::string_view key, std::string_view expected) const {
  throw InputError(fmt::format("{}: key '{}': expected {}", source_, full_key(key), expected));
}

bool TableReader::has(std::string_view key) const { return table_.contains(key); }

const toml::node* TableReader::node(std::string_view key) {
  read_.insert(std::string(key));
  return table_.get(key);
}

double TableReader::number(std::string_view key, double fallback, double min, double max) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  double v = 0;
  if (auto d = n->value_exact<double>()) {
    v = *d;
  } else if (auto i = n->value_exact<std::int64_t>()) {
    v = static_cast<double>(*i);
  } else {
    fail(key, fmt::format("a number in [{}, {}]", min, max));
  }
  if (!(v >= min && v <= max)) fail(key, fmt::format("a number in [{}, {}], got {}", min, max, v));
  return v;
}

std::int64_t TableReader::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  auto i = n->value_exact<std::int64_t>();
  if (!i) fail(key, fmt::format("an integer in [{}, {}]", min, max));
  if (*i < min || *i > max) fail(key, fmt::format("an integer in [{}, {}], got {}", min, max, *i));
  return *i;
}

bool TableReader::boolean(std::string_view key, bool fallback) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  auto b = n->value_exact<bool>();
  if (!b) fail(key, "true or false");
  return *b;
}

std::string TableReader::string(std::string_view key, const std::string& fallback) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  auto s = n->value_exact<std::string>();
  if (!s) fail(key, "a string");
  return *s;
}

std::string TableReader::choice(std::string_view key, const std::string& fallback,
                                const std::vector<std::string>& allowed) {
  const std::string v = string(key, fallback);
  for (const auto& a : allowed) {
    if (a == v) return v;
  }
  fail(key, fmt::format("one of {}, got '{}'", join(allowed), v));
}

std::vector<std::string> TableReader::strings(std::string_view key,
                                              const std::vector<std::string>& fallback) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  if (auto s = n->value_exact<std::string>()) return {*s};
  const toml::array* arr = n->as_array();
  if (!arr) fail(key, "a string or an array of strings");
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    auto s = el.value_exact<std::string>();
    if (!s) fail(key, "an array of strings");
    out.push_back(*s);
  }
  return out;
}

std::vector<std::int64_t> TableReader::integers(std::string_view key,
                                                const std::vector<std::int64_t>& fallback) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  if (auto i = n->value_exact<std::int64_t>()) return {*i};
  const toml::array* arr = n->as_array();
  if (!arr) fail(key, "an integer or an array of integers");
  std::vector<std::int64_t> out;
  for (const auto& el : *arr) {
    auto i = el.value_exact<std::int64_t>();
    if (!i) fail(key, "an array of integers");
    out.push_back(*i);
  }
  return out;
}

std::vector<double> TableReader::numbers(std::string_view key, const std::vector<double>& fallback) {
  const toml::node* n = node(key);
  if (!n) return fallback;
  auto one = [&](const toml::node& el) -> double {
    if (auto d = el.value_exact<double>()) return *d;
    if (auto i = el.value_exact<std::int64_t>()) return static_cast<double>(*i);
    fail(key, "a number or an array of numbers");
  };
  const toml::array* arr = n->as_array();
  if (!arr) return {one(*n)};
  std::vector<double> out;
  for (const auto& el : *arr) out.push_back(one(el));
  return out;
}

std::optional<TableReader> TableReader::table(std::string_view key) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  const toml::table* t = n->as_table();
  if (!t) fail(key, "a table");
  return TableReader(*t, source_, full_key(key));
}

void TableReader::reject_unknown_keys() const {
  for (const auto& [k, v] : table_) {
    if (!read_.contains(k.str())) {
      std::vector<std::string> known(read_.begin(), read_.end());
      throw InputError(fmt::format("{}: unknown key '{}' (known keys here: {})", source_,
                                   full_key(k.str()), join(known)));
    }
  }
}

}  // namespace cb::config
