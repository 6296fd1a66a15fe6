// The model zoo: the networks cifarbench compares, for 32×32 RGB inputs and any class count.
// Layer recipes, variant choices and counts are in docs/models.md.
#pragma once

#include <string>
#include <vector>

#include "model/spec.h"

namespace cb::model {

// Every zoo name, in the order `cifarbench models` lists them.
std::vector<std::string> zoo_names();
bool is_zoo_model(const std::string& name);
// The one-line description of a zoo model; InputError for an unknown name.
std::string zoo_description(const std::string& name);
// The spec of a zoo model with shapes inferred; InputError for an unknown name (listing the
// zoo) or num_classes < 1.
ModelSpec build_zoo_model(const std::string& name, int num_classes);

}  // namespace cb::model
