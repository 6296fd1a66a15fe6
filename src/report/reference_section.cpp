#include "report/reference_section.h"

#include <fmt/format.h>

#include <cmath>

namespace cb::report {

std::string describe_epoch(const results::EpochComparison& c) {
  const std::string sd = std::isnan(c.reference_sd)
                             ? std::string("n")
                             : fmt::format("sd {:.2f}, n", 100 * c.reference_sd);
  std::string text = fmt::format("epoch {}: {:.2f} % (n {}) vs reference {:.2f} % ({} {})", c.epoch,
                                 100 * c.mean, c.n, 100 * c.reference_mean, sd, c.n_reference);
  if (c.test == results::EpochTest::floor) {
    return text + fmt::format(", floor rule ({} by more than the margin)",
                              c.below ? "below" : "not below");
  }
  return text + fmt::format(", {} t = {:.3f}, df = {:.2f}, one-sided p = {:.3g}, Holm level {:.3g}",
                            results::to_string(c.test), c.t, c.df, c.p_value, c.holm_alpha);
}

namespace {

const results::EpochComparison& failing_epoch(const results::CurveCheck& check) {
  for (const auto& c : check.epochs) {
    if (c.epoch == *check.first_failing_epoch) return c;
  }
  return check.epochs.front();
}

std::string group_line(const results::GroupReferenceCheck& g) {
  const std::string head = fmt::format("{} / {} / {} / {} ({} trial{})", g.framework, g.model,
                                       g.recipe, g.dataset, g.trials, g.trials == 1 ? "" : "s");
  using results::ReferenceOutcome;
  switch (g.outcome) {
    case ReferenceOutcome::no_reference:
    case ReferenceOutcome::withheld:
      return fmt::format("{}: {}", head, g.reason);
    case ReferenceOutcome::failed:
      return fmt::format("{} vs {}: FAIL at {}", head, g.reference,
                         describe_epoch(failing_epoch(g.group)));
    case ReferenceOutcome::passed:
      break;
  }
  return fmt::format("{} vs {}: pass ({} epoch{} matched; last {})", head, g.reference,
                     g.group.epochs.size(), g.group.epochs.size() == 1 ? "" : "s",
                     describe_epoch(g.group.epochs.back()));
}

}  // namespace

std::vector<std::string> reference_section_lines(
    const std::vector<results::GroupReferenceCheck>& checks, const results::ReferenceRule& rule) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format(
      "Reference check: test accuracy per epoch against the reference curve; fails at the first "
      "epoch significantly below (reference mean - {:.2f} points, one-sided, alpha {}, Holm over "
      "the matched epochs; docs/references.md)",
      100 * rule.margin, rule.alpha));
  for (const auto& g : checks) {
    lines.push_back(group_line(g));
    for (const auto& t : g.flagged) {
      lines.push_back(fmt::format("  trial {} fails alone at {}", t.key,
                                  describe_epoch(failing_epoch(t.check))));
    }
  }
  return lines;
}

}  // namespace cb::report
