// The columns of the results tables, declared once each: name, SQL type and constraints, the
// record member it holds, and how upserts and restarts treat it. The CREATE TABLE text, the
// column lists, the row readers, the binds and restart_trial's reset list all derive from these
// declarations (store.cpp). Internal to src/results; the schema is docs/results.md.
//
// The derived CREATE TABLE text is schema version 1 verbatim (tests/results/store_test.cpp
// compares it with a frozen copy): changing a column here changes the on-disk schema, which
// needs a new schema version and a migration (ResultsStore::kSchemaVersion).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "results/records.h"
#include "results/sqlite_statement.h"

namespace cb::results::tables {

using sqlite::Statement;

// How inserts and upserts treat a column.
enum class Write {
  value,           // inserted; overwritten when an upsert meets an existing row
  generated,       // assigned by SQLite (INTEGER PRIMARY KEY): read back, never bound
  conflict_key,    // inserted; identifies the existing row (ON CONFLICT), never overwritten
  keep_when_null,  // inserted; an upsert binding NULL keeps the stored value
};

// What restart_trial does to a column: keep it, or reset it to a fresh record's value.
enum class Restart { keep, reset };

// Binds a member's value, mapping C++ types to SQLite's: 64-bit seeds as their two's-complement
// int64, JSON as its text, statuses as their names, NaN and absent optionals as NULL, and, in a
// nullable column, an empty string as NULL.
template <typename T>
void bind_value(Statement& s, const T& v, bool nullable) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (nullable) {
      s.bind_text_or_null(v);
    } else {
      s.bind(v);
    }
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    s.bind(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    s.bind(v.dump());
  } else if constexpr (std::is_same_v<T, TrialStatus>) {
    s.bind(std::string(to_string(v)));
  } else {
    static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, int> ||
                      std::is_same_v<T, bool> || std::is_same_v<T, double> ||
                      std::is_same_v<T, std::optional<double>>,
                  "no SQLite mapping for this member type: add one to bind_value and read_value");
    s.bind(v);
  }
}

// Reads column `c` into a member; the inverse of bind_value (NULL text reads as "").
template <typename T>
void read_value(const Statement& s, int c, T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    v = s.text(c);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    v = s.integer(c);
  } else if constexpr (std::is_same_v<T, std::uint64_t>) {
    v = static_cast<std::uint64_t>(s.integer(c));
  } else if constexpr (std::is_same_v<T, int>) {
    v = static_cast<int>(s.integer(c));
  } else if constexpr (std::is_same_v<T, bool>) {
    v = s.integer(c) != 0;
  } else if constexpr (std::is_same_v<T, double>) {
    v = s.real(c);
  } else if constexpr (std::is_same_v<T, std::optional<double>>) {
    v = s.optional_real(c);
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    v = s.json(c);
  } else {
    static_assert(std::is_same_v<T, TrialStatus>,
                  "no SQLite mapping for this member type: add one to bind_value and read_value");
    v = parse_trial_status(s.text(c));
  }
}

template <typename Record>
struct Column {
  std::string_view name;
  std::string_view type;  // SQL type and constraints, verbatim in CREATE TABLE
  Write write = Write::value;
  Restart restart = Restart::keep;
  void (*bind)(Statement& s, const Record& record, bool nullable) = nullptr;
  void (*read)(const Statement& s, int column, Record& record) = nullptr;

  constexpr bool written() const { return write != Write::generated; }
  constexpr bool nullable() const {
    return written() && type.find("NOT NULL") == std::string_view::npos;
  }
};

template <typename MemberPointer>
struct MemberOf;
template <typename Record, typename T>
struct MemberOf<T Record::*> {
  using record = Record;
};

// The column holding `Member` (a pointer to a data member of the record).
template <auto Member>
constexpr auto column(std::string_view name, std::string_view type, Write write = Write::value,
                      Restart restart = Restart::keep) {
  using Record = typename MemberOf<decltype(Member)>::record;
  return Column<Record>{
      name,
      type,
      write,
      restart,
      [](Statement& s, const Record& r, bool nullable) { bind_value(s, r.*Member, nullable); },
      [](const Statement& s, int c, Record& r) { read_value(s, c, r.*Member); }};
}

template <typename Record, std::size_t N>
struct Table {
  std::string_view name;
  std::array<Column<Record>, N> columns;
  std::string_view constraints;  // table constraints after the columns; "" for none
};

template <typename Record, std::size_t N>
constexpr Table<Record, N> table(std::string_view name, const Column<Record> (&columns)[N],
                                 std::string_view constraints = "") {
  Table<Record, N> t{name, {}, constraints};
  for (std::size_t i = 0; i < N; ++i) t.columns[i] = columns[i];
  return t;
}

// clang-format off
inline constexpr auto kTrials = table<TrialRecord>("trials", {
  column<&TrialRecord::id>("id", "INTEGER PRIMARY KEY", Write::generated),
  column<&TrialRecord::suite_id>("suite_id",
      "INTEGER NOT NULL REFERENCES suites(id) ON DELETE CASCADE", Write::conflict_key),
  column<&TrialRecord::key>("key", "TEXT NOT NULL", Write::conflict_key),
  column<&TrialRecord::framework>("framework", "TEXT NOT NULL"),
  column<&TrialRecord::model>("model", "TEXT NOT NULL"),
  column<&TrialRecord::recipe>("recipe", "TEXT NOT NULL"),
  column<&TrialRecord::seed>("seed", "INTEGER NOT NULL"),
  column<&TrialRecord::threads>("threads", "INTEGER NOT NULL"),
  column<&TrialRecord::batch_size>("batch_size", "INTEGER NOT NULL"),
  column<&TrialRecord::device>("device", "TEXT NOT NULL"),
  column<&TrialRecord::processes>("processes", "INTEGER NOT NULL"),
  column<&TrialRecord::dataset>("dataset", "TEXT NOT NULL"),
  column<&TrialRecord::synthetic>("synthetic", "INTEGER NOT NULL"),
  column<&TrialRecord::config>("config", "TEXT NOT NULL"),
  column<&TrialRecord::environment>("environment", "TEXT NOT NULL"),
  column<&TrialRecord::status>("status", "TEXT NOT NULL CHECK (status IN\n"
      "    ('planned','running','completed','failed','diverged','interrupted','timeout'))",
      Write::value, Restart::reset),
  column<&TrialRecord::error>("error", "TEXT NOT NULL DEFAULT ''", Write::value, Restart::reset),
  column<&TrialRecord::started>("started", "TEXT", Write::keep_when_null, Restart::reset),
  column<&TrialRecord::ended>("ended", "TEXT", Write::keep_when_null, Restart::reset),
  column<&TrialRecord::test_accuracy>("test_accuracy", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::target_accuracy>("target_accuracy", "REAL"),  // the recipe's, kept
  column<&TrialRecord::training_time_s>("training_time_s", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::wall_time_s>("wall_time_s", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::time_to_target_s>("time_to_target_s", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::images_per_s>("images_per_s", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::telemetry>("telemetry", "TEXT NOT NULL", Write::value, Restart::reset),
  column<&TrialRecord::gpu_util_mean_pct>("gpu_util_mean_pct", "REAL", Write::value,
      Restart::reset),
  column<&TrialRecord::gpu_mem_peak_bytes>("gpu_mem_peak_bytes", "REAL", Write::value,
      Restart::reset),
  column<&TrialRecord::cpu_util_mean_pct>("cpu_util_mean_pct", "REAL", Write::value,
      Restart::reset),
  column<&TrialRecord::rss_peak_bytes>("rss_peak_bytes", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::energy_j>("energy_j", "REAL", Write::value, Restart::reset),
  column<&TrialRecord::gpu_unavailable_reason>("gpu_unavailable_reason",
      "TEXT NOT NULL DEFAULT ''"),
}, "UNIQUE (suite_id, key)");

inline constexpr auto kEpochs = table<EpochRecord>("epochs", {
  column<&EpochRecord::trial_id>("trial_id",
      "INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE"),
  column<&EpochRecord::epoch>("epoch", "INTEGER NOT NULL CHECK (epoch >= 1)"),
  column<&EpochRecord::train_loss>("train_loss", "REAL NOT NULL"),
  column<&EpochRecord::train_accuracy>("train_accuracy", "REAL NOT NULL"),
  column<&EpochRecord::test_accuracy>("test_accuracy", "REAL"),
  column<&EpochRecord::epoch_time_s>("epoch_time_s", "REAL NOT NULL"),
  column<&EpochRecord::training_time_s>("training_time_s", "REAL NOT NULL"),
  column<&EpochRecord::images_per_s>("images_per_s", "REAL NOT NULL"),
}, "PRIMARY KEY (trial_id, epoch)");

inline constexpr auto kSamples = table<TelemetrySample>("telemetry_samples", {
  column<&TelemetrySample::trial_id>("trial_id",
      "INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE"),
  column<&TelemetrySample::t_s>("t_s", "REAL NOT NULL"),
  column<&TelemetrySample::phase>("phase", "TEXT NOT NULL"),
  column<&TelemetrySample::gpu_util_pct>("gpu_util_pct", "REAL"),
  column<&TelemetrySample::gpu_mem_bytes>("gpu_mem_bytes", "REAL"),
  column<&TelemetrySample::power_w>("power_w", "REAL"),
  column<&TelemetrySample::cpu_util_pct>("cpu_util_pct", "REAL"),
  column<&TelemetrySample::rss_bytes>("rss_bytes", "REAL"),
});
// clang-format on

template <typename Record, std::size_t N>
constexpr std::size_t count_columns(const Table<Record, N>& t, Write write) {
  std::size_t n = 0;
  for (const auto& c : t.columns) n += c.write == write ? 1 : 0;
  return n;
}
// upsert_sql returns the one generated column (the id) and needs a key to meet a row by.
static_assert(count_columns(kTrials, Write::generated) == 1 && kTrials.columns[0].name == "id");
static_assert(count_columns(kTrials, Write::conflict_key) > 0);

// "CREATE TABLE name (\n  column type,\n  ...\n  constraints\n);\n", as schema version 1 wrote it.
template <typename Record, std::size_t N>
std::string create_table_sql(const Table<Record, N>& t) {
  std::string sql = "CREATE TABLE " + std::string(t.name) + " (";
  const char* separator = "\n  ";
  for (const auto& c : t.columns) {
    sql += separator;
    sql += c.name;
    sql += ' ';
    sql += c.type;
    separator = ",\n  ";
  }
  if (!t.constraints.empty()) {
    sql += separator;
    sql += t.constraints;
  }
  return sql + "\n);\n";
}

// The names of the columns `keep` selects, in table order: "a, b, c".
template <typename Record, std::size_t N, typename Keep>
std::string column_names(const Table<Record, N>& t, Keep keep) {
  std::string names;
  for (const auto& c : t.columns) {
    if (!keep(c)) continue;
    if (!names.empty()) names += ", ";
    names += c.name;
  }
  return names;
}

// Every column, for SELECT; read_row reads them in this order.
template <typename Record, std::size_t N>
std::string select_list(const Table<Record, N>& t) {
  return column_names(t, [](const Column<Record>&) { return true; });
}

template <typename Record, std::size_t N>
Record read_row(const Statement& s, const Table<Record, N>& t) {
  Record r;
  for (std::size_t i = 0; i < N; ++i) t.columns[i].read(s, static_cast<int>(i), r);
  return r;
}

// "INSERT INTO name (written columns) VALUES (?, ...)"; bind_written binds in this order.
// `verb` is "INSERT" or "INSERT OR REPLACE".
template <typename Record, std::size_t N>
std::string insert_sql(const Table<Record, N>& t, std::string_view verb = "INSERT") {
  std::string marks;
  for (const auto& c : t.columns) {
    if (c.written()) marks += marks.empty() ? "?" : ",?";
  }
  return std::string(verb) + " INTO " + std::string(t.name) + " (" +
         column_names(t, [](const Column<Record>& c) { return c.written(); }) + ") VALUES (" +
         marks + ")";
}

template <typename Record, std::size_t N>
void bind_written(Statement& s, const Table<Record, N>& t, const Record& r) {
  for (const auto& c : t.columns) {
    if (c.written()) c.bind(s, r, c.nullable());
  }
}

// insert_sql, and on a conflict with the row of the same key an update of every other written
// column, returning the generated id. Binds as insert_sql.
template <typename Record, std::size_t N>
std::string upsert_sql(const Table<Record, N>& t) {
  std::string set;
  for (const auto& c : t.columns) {
    if (c.write != Write::value && c.write != Write::keep_when_null) continue;
    const std::string name(c.name);
    if (!set.empty()) set += ", ";
    set += c.write == Write::value ? name + " = excluded." + name
                                   : name + " = coalesce(excluded." + name + ", " + name + ")";
  }
  return insert_sql(t) + " ON CONFLICT (" +
         column_names(t, [](const Column<Record>& c) { return c.write == Write::conflict_key; }) +
         ") DO UPDATE SET " + set + " RETURNING " +
         column_names(t, [](const Column<Record>& c) { return c.write == Write::generated; });
}

// "UPDATE name SET (each reset column) = ?, ... WHERE id = ?"; bind_reset binds the values.
template <typename Record, std::size_t N>
std::string reset_sql(const Table<Record, N>& t) {
  std::string set;
  for (const auto& c : t.columns) {
    if (c.restart != Restart::reset) continue;
    if (!set.empty()) set += ", ";
    set += std::string(c.name) + " = ?";
  }
  return "UPDATE " + std::string(t.name) + " SET " + set + " WHERE id = ?";
}

template <typename Record, std::size_t N>
void bind_reset(Statement& s, const Table<Record, N>& t, const Record& fresh) {
  for (const auto& c : t.columns) {
    if (c.restart == Restart::reset) c.bind(s, fresh, c.nullable());
  }
}

}  // namespace cb::results::tables
