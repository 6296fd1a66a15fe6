// Checking a results set against reference curves: each group of completed trials (framework x
// model x recipe x dataset) against the reference of its (model, recipe, dataset), and each of
// its trials alone (docs/references.md).
#pragma once

#include <string>
#include <vector>

#include "results/reference_curve.h"

namespace cb::results {

enum class ReferenceOutcome {
  passed,
  failed,        // the group is significantly below the reference at some epoch
  withheld,      // a reference exists but cannot be compared (synthetic vs real data, no epochs)
  no_reference,  // no reference for this (model, recipe)
};
const char* to_string(ReferenceOutcome outcome);

struct FlaggedTrial {
  std::string key;
  CurveCheck check;  // failed
};

struct GroupReferenceCheck {
  std::string framework, model, recipe, dataset;
  bool synthetic = false;
  std::size_t trials = 0;
  ReferenceOutcome outcome = ReferenceOutcome::no_reference;
  std::string reference;              // the reference's name, when one was found
  std::string reason;                 // for withheld and no_reference
  CurveCheck group;                   // the group's pooled values against the reference
  std::vector<FlaggedTrial> flagged;  // trials that fail on their own
};

// Every group of the snapshot's completed trials, in (framework, model, recipe, dataset) order.
// A group uses the first reference (by name) with its model, recipe and dataset; a reference of
// the same model and recipe on other data withholds the check and says why.
std::vector<GroupReferenceCheck> check_against_references(const ResultsSnapshot& snapshot,
                                                          const std::vector<ReferenceCurve>& refs,
                                                          const ReferenceRule& rule);

}  // namespace cb::results
