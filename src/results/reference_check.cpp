#include "results/reference_check.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

namespace cb::results {

const char* to_string(ReferenceOutcome outcome) {
  switch (outcome) {
    case ReferenceOutcome::passed:
      return "pass";
    case ReferenceOutcome::failed:
      return "FAIL";
    case ReferenceOutcome::withheld:
      return "withheld";
    case ReferenceOutcome::no_reference:
      return "no reference";
  }
  return "?";
}

namespace {

using GroupKey = std::tuple<std::string, std::string, std::string, std::string>;

// The reference for a group, or the reason there is none to compare with.
const ReferenceCurve* find_reference(const GroupReferenceCheck& g,
                                     const std::vector<ReferenceCurve>& refs, std::string& reason) {
  const ReferenceCurve* other_data = nullptr;
  for (const auto& r : refs) {
    if (r.model != g.model || r.recipe != g.recipe) continue;
    if (r.dataset == g.dataset && r.synthetic == g.synthetic) return &r;
    if (!other_data) other_data = &r;
  }
  if (!other_data) {
    reason = fmt::format("no reference for model {}, recipe {}", g.model, g.recipe);
  } else if (g.synthetic && !other_data->synthetic) {
    reason =
        fmt::format("withheld: a synthetic-data trial cannot be compared to a {} reference ({})",
                    other_data->dataset, other_data->name);
  } else if (other_data->synthetic && !g.synthetic) {
    reason = fmt::format(
        "withheld: reference {} was built from synthetic data and matches only "
        "synthetic trials",
        other_data->name);
  } else {
    reason = fmt::format("withheld: reference {} is on dataset {}, these trials on {}",
                         other_data->name, other_data->dataset, g.dataset);
  }
  return other_data;
}

void check_group(GroupReferenceCheck& g, const std::vector<TrialCurve>& curves,
                 const std::vector<ReferenceCurve>& refs, const ReferenceRule& rule) {
  const ReferenceCurve* ref = find_reference(g, refs, g.reason);
  if (!ref) return;  // no_reference
  g.reference = ref->name;
  if (ref->dataset != g.dataset || ref->synthetic != g.synthetic) {
    g.outcome = ReferenceOutcome::withheld;
    return;
  }
  g.reason.clear();
  g.group = check_curve(ref->epochs, pool_epochs(curves), rule);
  if (g.group.epochs.empty()) {
    g.outcome = ReferenceOutcome::withheld;
    g.reason = "withheld: no epoch evaluated by both these trials and the reference";
    return;
  }
  g.outcome = g.group.failed() ? ReferenceOutcome::failed : ReferenceOutcome::passed;
  for (const auto& c : curves) {
    auto alone = check_curve(ref->epochs, pool_epochs({c}), rule);
    if (alone.failed()) g.flagged.push_back({c.trial->key, std::move(alone)});
  }
}

}  // namespace

std::vector<GroupReferenceCheck> check_against_references(const ResultsSnapshot& snapshot,
                                                          const std::vector<ReferenceCurve>& refs,
                                                          const ReferenceRule& rule) {
  std::map<GroupKey, std::vector<TrialCurve>> groups;
  for (auto& c : completed_trial_curves(snapshot)) {
    const auto& t = *c.trial;
    groups[{t.framework, t.model, t.recipe, t.dataset}].push_back(std::move(c));
  }
  std::vector<GroupReferenceCheck> out;
  for (const auto& [key, curves] : groups) {
    GroupReferenceCheck g;
    std::tie(g.framework, g.model, g.recipe, g.dataset) = key;
    g.trials = curves.size();
    for (const auto& c : curves) g.synthetic = g.synthetic || c.trial->synthetic;
    check_group(g, curves, refs, rule);
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace cb::results
