// The results store's thin SQLite layer: errors, one-shot execution and prepared statements.
// Internal to src/results (store.cpp and tables.h); the rest of the program sees ResultsStore.
#pragma once

#include <fmt/format.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cb::results::sqlite {

// SQLITE_FULL: the disk (or max_page_count) is exhausted; callers turn it into "what was kept".
class DatabaseFull : public CheckFailed {
 public:
  using CheckFailed::CheckFailed;
};

[[noreturn]] inline void fail(sqlite3* db, int rc, const std::filesystem::path& path,
                              std::string_view what) {
  const std::string message =
      fmt::format("{}: {}: {} (SQLite error {})", path.string(), what, sqlite3_errmsg(db), rc);
  if ((rc & 0xff) == SQLITE_FULL) throw DatabaseFull(message);
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    // A damaged file is bad input, not a failed run: say which file and what to do.
    throw InputError(message + "; the results database is damaged: restore it from a copy or "
                               "use a fresh --results directory");
  }
  throw CheckFailed(message);
}

inline void exec(sqlite3* db, const std::filesystem::path& path, const char* sql,
                 std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, path, what);
}

// A prepared statement with positional binding (1-based, in call order) and typed columns.
class Statement {
 public:
  Statement(sqlite3* db, const std::filesystem::path& path, std::string_view sql)
      : db_(db), path_(path) {
    const int rc =
        sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc, path, "preparing a statement");
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(std::int64_t v) { return check(sqlite3_bind_int64(stmt_, ++index_, v)); }
  Statement& bind(int v) { return bind(static_cast<std::int64_t>(v)); }
  Statement& bind(bool v) { return bind(static_cast<std::int64_t>(v ? 1 : 0)); }
  Statement& bind(double v) {
    if (std::isnan(v)) return bind_null();
    return check(sqlite3_bind_double(stmt_, ++index_, v));
  }
  Statement& bind(const std::optional<double>& v) { return v ? bind(*v) : bind_null(); }
  Statement& bind(const std::string& v) {
    return check(
        sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(const char* v) { return bind(std::string(v)); }
  Statement& bind_text_or_null(const std::string& v) { return v.empty() ? bind_null() : bind(v); }
  Statement& bind_null() { return check(sqlite3_bind_null(stmt_, ++index_)); }

  // Steps once; true while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, path_, "writing or reading the database");
  }
  void run() {
    while (step()) {
    }
  }
  // Makes the statement ready to run again with fresh bindings.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    index_ = 0;
  }

  // Numbers: a text or blob value (SQLite stores what it is given) is refused, naming the
  // column, instead of being read as 0.
  std::int64_t integer(int col) const {
    require_number(col);
    return sqlite3_column_int64(stmt_, col);
  }
  double real(int col) const {
    require_number(col);
    return sqlite3_column_double(stmt_, col);
  }
  std::optional<double> optional_real(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return real(col);
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  nlohmann::json json(int col) const {
    const std::string s = text(col);
    if (s.empty()) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? nlohmann::json(s) : parsed;
  }

 private:
  void require_number(int col) const {
    const int type = sqlite3_column_type(stmt_, col);
    if (type == SQLITE_INTEGER || type == SQLITE_FLOAT || type == SQLITE_NULL) return;
    const char* name = sqlite3_column_name(stmt_, col);
    throw InputError(fmt::format("{}: column '{}' holds {} '{}' where a number belongs; the results "
                                 "database was edited or damaged",
                                 path_.string(), name ? name : "?",
                                 type == SQLITE_TEXT ? "the text" : "a blob", text(col).substr(0, 40)));
  }
  Statement& check(int rc) {
    if (rc != SQLITE_OK) fail(db_, rc, path_, "binding a value");
    return *this;
  }
  sqlite3* db_;
  const std::filesystem::path& path_;
  sqlite3_stmt* stmt_ = nullptr;
  int index_ = 0;
};

}  // namespace cb::results::sqlite
