// Per-channel mean and standard deviation of a split's pixels (on the 0-255 scale).
#pragma once

#include <vector>

#include "data/dataset.h"

namespace cb::data {

struct ChannelStats {
  std::vector<double> mean;  // one per channel
  std::vector<double> std;   // population standard deviation, one per channel
};

ChannelStats channel_stats(const Dataset& dataset, const Split& split);

}  // namespace cb::data
