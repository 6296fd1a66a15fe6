#include "trial/config_diff.h"

#include <fmt/format.h>

namespace cb::trial {
namespace {

std::string shown(const nlohmann::json* v) { return v ? v->dump() : std::string("(absent)"); }

void diff(const nlohmann::json* a, const nlohmann::json* b, const std::string& path,
          std::vector<std::string>& out) {
  if (a && b && a->is_object() && b->is_object()) {
    for (const auto& [key, value] : a->items()) {
      const std::string sub = path.empty() ? key : path + "." + key;
      diff(&value, b->contains(key) ? &(*b)[key] : nullptr, sub, out);
    }
    for (const auto& [key, value] : b->items()) {
      if (!a->contains(key)) diff(nullptr, &value, path.empty() ? key : path + "." + key, out);
    }
    return;
  }
  // Numbers compare by value (1 and 1.0 are one learning rate).
  if (a && b && a->is_number() && b->is_number() && a->get<double>() == b->get<double>()) return;
  if (a && b && *a == *b) return;
  out.push_back(fmt::format("{}: {} → {}", path.empty() ? "configuration" : path, shown(a), shown(b)));
}

}  // namespace

std::vector<std::string> config_differences(const nlohmann::json& stored, const nlohmann::json& wanted) {
  std::vector<std::string> out;
  diff(&stored, &wanted, "", out);
  return out;
}

}  // namespace cb::trial
