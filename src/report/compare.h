// Comparing groups of trials: two results directories (NEW against BASE), or two selections
// within one (`--a framework=torch --b framework=dlib`). Groups are formed as the report forms
// them (framework x model x recipe x setup) and paired by model, recipe and setup; every pair
// is judged metric by metric (report/verdict.h). `cifarbench compare` prints this; the report's
// verdict section is the same judgement on the study's framework pairs.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/study.h"
#include "report/verdict.h"
#include "results/records.h"

namespace cb::report {

// Trials whose fields equal every term, e.g. framework=torch and threads=2.
struct GroupSelector {
  std::vector<std::pair<std::string, std::string>> terms;
  std::string label() const;  // "torch", "threads=1", "torch, threads=1"
};
// The keys a selector may use, as trials record them.
const std::vector<std::string>& selector_keys();
// Parses KEY=VALUE terms given to `flag`; InputError naming the flag, the term and the keys.
GroupSelector parse_selector(const std::vector<std::string>& terms, const std::string& flag);

// Judges every compared metric of group a against group b.
PairVerdict compare_groups(const GroupSummary& a, const GroupSummary& b, std::string label_a,
                           std::string label_b, const Thresholds& thresholds);

struct CompareOutcome {
  std::string a_description, b_description;  // "NEW: results/b", "--a framework=torch"
  Thresholds thresholds;
  bool synthetic = false;
  std::vector<PairVerdict> pairs;
  std::vector<std::string> unpaired;  // groups with no counterpart, and why
  bool any_worse() const;
};

// NEW (A) against BASE (B). Groups are paired by framework, model, recipe and setup; a group
// left over is paired with the only remaining one of the same framework, model and recipe (a
// run made with other settings). InputError when nothing pairs.
CompareOutcome compare_results(const results::ResultsSnapshot& base,
                               const results::ResultsSnapshot& next, const Thresholds& thresholds);
// Selection a against selection b within one results set, paired by every group key the
// selectors do not name. InputError for a term no trial matches, or when nothing pairs.
CompareOutcome compare_selections(const results::ResultsSnapshot& snapshot, const GroupSelector& a,
                                  const GroupSelector& b, const Thresholds& thresholds);

// The outcome as console text, Markdown or JSON (`format` is console, md or json).
std::string render_compare(const CompareOutcome& outcome, std::string_view format);
const std::vector<std::string>& compare_formats();

}  // namespace cb::report
