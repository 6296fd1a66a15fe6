// Selecting, pairing and judging groups of trials.
#include "report/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>

#include "core/error.h"

namespace cb::report {
namespace {
using results::TrialRecord;
using Key = std::map<std::string, std::string>;

Key group_key(const GroupSummary& g, const std::set<std::string>& ignored) {
  Key key = {{"framework", g.framework},
             {"model", g.model},
             {"recipe", g.recipe},
             {"device", g.device},
             {"threads", std::to_string(g.threads)},
             {"batch_size", std::to_string(g.batch_size)},
             {"processes", std::to_string(g.processes)}};
  for (const auto& k : ignored) key.erase(k);
  return key;
}

std::string trial_field(const TrialRecord& t, const std::string& key) {
  if (key == "framework") return t.framework;
  if (key == "model") return t.model;
  if (key == "recipe") return t.recipe;
  if (key == "device") return t.device;
  if (key == "threads") return std::to_string(t.threads);
  if (key == "batch_size") return std::to_string(t.batch_size);
  if (key == "processes") return std::to_string(t.processes);
  if (key == "dataset") return t.dataset;
  throw CheckFailed(fmt::format("compare: no trial field '{}'", key));
}

// The trials of `snapshot` that a selector matches (epochs and samples are not needed).
results::ResultsSnapshot select(const results::ResultsSnapshot& snapshot,
                                const GroupSelector& selector, const std::string& flag) {
  results::ResultsSnapshot out;
  out.database = snapshot.database;
  out.suites = snapshot.suites;
  for (const auto& [key, value] : selector.terms) {
    std::set<std::string> seen;
    for (const auto& t : snapshot.trials) seen.insert(trial_field(t, key));
    if (!seen.count(value)) {
      throw InputError(fmt::format("{} {}={}: no trial in {} has {} '{}' (it has: {})", flag, key,
                                   value, snapshot.database, key, value, fmt::join(seen, ", ")));
    }
  }
  for (const auto& t : snapshot.trials) {
    const bool match =
        std::all_of(selector.terms.begin(), selector.terms.end(),
                    [&](const auto& kv) { return trial_field(t, kv.first) == kv.second; });
    if (match) out.trials.push_back(t);
  }
  return out;
}

struct Pairing {
  std::vector<std::pair<const GroupSummary*, const GroupSummary*>> pairs;
  std::vector<std::string> unpaired;
};

// Pairs groups with equal keys (less the ignored fields); then a leftover A group with the only
// leftover B group of the same framework, model and recipe (settings differ: "threads 1 vs 2").
Pairing pair_groups(const std::vector<GroupSummary>& as, const std::vector<GroupSummary>& bs,
                    const std::set<std::string>& ignored, const std::string& a_name,
                    const std::string& b_name) {
  Pairing p;
  std::vector<bool> a_used(as.size(), false), b_used(bs.size(), false);
  for (std::size_t i = 0; i < as.size(); ++i) {
    for (std::size_t j = 0; j < bs.size() && !a_used[i]; ++j) {
      if (b_used[j] || group_key(as[i], ignored) != group_key(bs[j], ignored)) continue;
      p.pairs.emplace_back(&as[i], &bs[j]);
      a_used[i] = b_used[j] = true;
    }
  }
  std::set<std::string> loose = ignored;
  loose.insert({"device", "threads", "batch_size", "processes"});
  for (std::size_t i = 0; i < as.size(); ++i) {
    if (a_used[i]) continue;
    std::vector<std::size_t> candidates;
    for (std::size_t j = 0; j < bs.size(); ++j) {
      if (!b_used[j] && group_key(as[i], loose) == group_key(bs[j], loose)) candidates.push_back(j);
    }
    std::size_t rivals = 0;  // other leftover A groups that would claim the same B group
    for (std::size_t k = 0; k < as.size(); ++k) {
      if (!a_used[k] && group_key(as[k], loose) == group_key(as[i], loose)) ++rivals;
    }
    if (candidates.size() == 1 && rivals == 1) {
      p.pairs.emplace_back(&as[i], &bs[candidates[0]]);
      a_used[i] = b_used[candidates[0]] = true;
    }
  }
  for (std::size_t i = 0; i < as.size(); ++i) {
    if (!a_used[i]) {
      p.unpaired.push_back(fmt::format("{} {} ({}): no counterpart in {}", a_name, as[i].label(),
                                       as[i].setup(), b_name));
    }
  }
  for (std::size_t j = 0; j < bs.size(); ++j) {
    if (!b_used[j]) {
      p.unpaired.push_back(fmt::format("{} {} ({}): no counterpart in {}", b_name, bs[j].label(),
                                       bs[j].setup(), a_name));
    }
  }
  return p;
}

CompareOutcome judge_pairs(const Pairing& pairing, const Thresholds& thresholds,
                           const std::function<std::string(const GroupSummary&)>& label_a,
                           const std::function<std::string(const GroupSummary&)>& label_b) {
  CompareOutcome out;
  out.thresholds = thresholds;
  out.unpaired = pairing.unpaired;
  for (const auto& [a, b] : pairing.pairs) {
    out.pairs.push_back(compare_groups(*a, *b, label_a(*a), label_b(*b), thresholds));
    out.synthetic |= out.pairs.back().synthetic;
  }
  return out;
}
}  // namespace

std::string GroupSelector::label() const {
  std::vector<std::string> parts;
  for (const auto& [key, value] : terms) {
    parts.push_back(key == "framework" ? value : fmt::format("{}={}", key, value));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

const std::vector<std::string>& selector_keys() {
  static const std::vector<std::string> keys = {"framework", "model",      "recipe",    "device",
                                                "threads",   "batch_size", "processes", "dataset"};
  return keys;
}

GroupSelector parse_selector(const std::vector<std::string>& terms, const std::string& flag) {
  GroupSelector s;
  for (const auto& term : terms) {
    const auto eq = term.find('=');
    const std::string key = eq == std::string::npos ? "" : term.substr(0, eq);
    const auto& keys = selector_keys();
    if (eq == std::string::npos || eq + 1 == term.size() ||
        std::find(keys.begin(), keys.end(), key) == keys.end()) {
      throw InputError(fmt::format("{} {}: expected KEY=VALUE with KEY one of {}", flag, term,
                                   fmt::join(keys, ", ")));
    }
    s.terms.emplace_back(key, term.substr(eq + 1));
  }
  if (s.terms.empty()) throw InputError(fmt::format("{}: expected at least one KEY=VALUE", flag));
  return s;
}

PairVerdict compare_groups(const GroupSummary& a, const GroupSummary& b, std::string label_a,
                           std::string label_b, const Thresholds& thresholds) {
  PairVerdict pair;
  pair.a = std::move(label_a);
  pair.b = std::move(label_b);
  pair.model = a.model;
  pair.recipe = a.recipe;
  pair.setup_a = a.setup();
  pair.setup_b = b.setup();
  pair.synthetic = a.synthetic || b.synthetic;
  static const std::vector<double> kNone;
  for (const auto& rule : comparison_rules(thresholds)) {
    const auto ia = a.values.find(rule.metric_id);
    const auto ib = b.values.find(rule.metric_id);
    if (ia == a.values.end() && ib == b.values.end()) continue;
    pair.rows.push_back(judge_metric(rule, ia == a.values.end() ? kNone : ia->second,
                                     ib == b.values.end() ? kNone : ib->second));
  }
  return pair;
}

bool CompareOutcome::any_worse() const {
  return std::any_of(pairs.begin(), pairs.end(),
                     [](const PairVerdict& p) { return p.any_worse(); });
}

CompareOutcome compare_results(const results::ResultsSnapshot& base,
                               const results::ResultsSnapshot& next, const Thresholds& thresholds) {
  if (base.trials.empty()) throw InputError(fmt::format("BASE {}: no trials", base.database));
  if (next.trials.empty()) throw InputError(fmt::format("NEW {}: no trials", next.database));
  const Study base_study = build_study(base);
  const Study next_study = build_study(next);
  const Pairing pairing = pair_groups(next_study.groups, base_study.groups, {}, "NEW", "BASE");
  if (pairing.pairs.empty()) {
    throw InputError(fmt::format("compare: no group of NEW {} has a counterpart in BASE {}: {}",
                                 next.database, base.database, fmt::join(pairing.unpaired, "; ")));
  }
  CompareOutcome out = judge_pairs(
      pairing, thresholds, [](const GroupSummary& g) { return "NEW " + g.framework; },
      [](const GroupSummary& g) { return "BASE " + g.framework; });
  out.a_description = "NEW: " + next.database;
  out.b_description = "BASE: " + base.database;
  return out;
}

CompareOutcome compare_selections(const results::ResultsSnapshot& snapshot, const GroupSelector& a,
                                  const GroupSelector& b, const Thresholds& thresholds) {
  const Study a_study = build_study(select(snapshot, a, "--a"));
  const Study b_study = build_study(select(snapshot, b, "--b"));
  std::set<std::string> named;
  for (const auto& [key, value] : a.terms) named.insert(key);
  for (const auto& [key, value] : b.terms) named.insert(key);
  const Pairing pairing =
      pair_groups(a_study.groups, b_study.groups, named, "--a " + a.label(), "--b " + b.label());
  if (pairing.pairs.empty()) {
    throw InputError(fmt::format("compare: no group of --a {} has a counterpart in --b {}: {}",
                                 a.label(), b.label(), fmt::join(pairing.unpaired, "; ")));
  }
  // Without a framework term, the label says which framework a pair is about.
  const auto labeller = [&named](const GroupSelector& s) {
    return [&named, &s](const GroupSummary& g) {
      return named.count("framework") ? s.label() : fmt::format("{} ({})", s.label(), g.framework);
    };
  };
  CompareOutcome out = judge_pairs(pairing, thresholds, labeller(a), labeller(b));
  out.a_description = fmt::format("A (--a {}): {}", a.label(), snapshot.database);
  out.b_description = fmt::format("B (--b {}): {}", b.label(), snapshot.database);
  return out;
}

}  // namespace cb::report
