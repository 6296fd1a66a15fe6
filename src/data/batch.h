// A batch as the harness hands it to a backend: contiguous, in the layout the backend asked for.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace cb::data {

enum class Layout { nchw, nhwc };
enum class Precision { float32, uint8 };  // uint8: raw pixels for backends that normalize on device

inline std::string_view to_string(Layout l) { return l == Layout::nchw ? "NCHW" : "NHWC"; }

struct Batch {
  Layout layout = Layout::nchw;
  Precision precision = Precision::float32;
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<float> data;            // n × c × h × w in `layout` (float32 batches)
  std::vector<std::uint8_t> data_u8;  // the same, for uint8 batches
  std::vector<std::int64_t> labels;   // n
  std::vector<std::int64_t> indices;  // n: the sample index in its split (for tracing)

  std::int64_t numel() const { return static_cast<std::int64_t>(n) * c * h * w; }
};

}  // namespace cb::data
