// The weights file (.cbw): named float32 tensors, little-endian, with a checksum. The format is
// documented byte by byte in docs/models.md; initial weights, checkpoints and imported
// (transfer-learning) weights all use it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "model/spec.h"
#include "model/weights.h"

namespace cb::model {

inline constexpr std::string_view kWeightsMagic = "CBWEIGHT";
inline constexpr std::uint32_t kWeightsVersion = 1;

// The file's bytes for `weights`. Throws InputError if a name is empty, too long or has bytes
// outside printable ASCII, if names repeat, or if a tensor's values do not match its shape.
std::string encode_weights(const Weights& weights);
// Parses the file's bytes; `source` (a path) names them in errors, which give the byte offset
// and what was expected there (bad magic, unknown version, truncation, sizes, checksum, ...).
Weights decode_weights(std::string_view bytes, const std::string& source);

// Writes atomically (a temporary file renamed into place), so a crash never leaves a partial
// file under `path`. InputError if the file cannot be written.
void save_weights(const Weights& weights, const std::filesystem::path& path);
// Reads and decodes; InputError naming the path (and the byte offset when malformed).
Weights load_weights(const std::filesystem::path& path);

// Checks that `weights` holds exactly the spec's tensors (names, shapes, trainable flags), in
// any order; InputError naming `source`, the tensor and the difference.
void check_weights_match(const ModelSpec& spec, const Weights& weights, const std::string& source);

}  // namespace cb::model
