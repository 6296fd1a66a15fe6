// The reference-curve check as lines of text (docs/references.md), for `cifarbench reference
// check` and the report's `--reference` section.
#pragma once

#include <string>
#include <vector>

#include "results/reference_check.h"

namespace cb::report {

// One epoch's numbers: "epoch 3: 41.2 % (n 2) vs reference 90.1 % (sd 0.4, n 3), welch t = ...".
std::string describe_epoch(const results::EpochComparison& c);
// A heading with the rule, then one line per group (and one per flagged trial, indented).
std::vector<std::string> reference_section_lines(
    const std::vector<results::GroupReferenceCheck>& checks, const results::ReferenceRule& rule);

}  // namespace cb::report
