// JSON helpers shared by the modules' serializers.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>

namespace cb {

// An optional value as JSON: the value, or null where it is absent.
template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace cb
