#include "model/weights_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/input_file.h"
#include "model/analysis.h"
#include "model/initial_weights.h"

namespace cb::model {
namespace {

constexpr std::uint32_t kMaxNameLength = 1024;
constexpr std::uint8_t kMaxRank = 8;
constexpr std::uint64_t kMaxValues = std::uint64_t{1} << 40;
constexpr std::uint8_t kFloat32 = 1;
constexpr std::uint8_t kTrainableFlag = 1;

bool valid_tensor_name_byte(unsigned char ch) { return ch >= 0x21 && ch <= 0x7E; }

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

class ByteWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
  void text(std::string_view s) { bytes_.append(s); }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

// Reads little-endian fields; every failure names the source and the offset of the field.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const {
    throw InputError(fmt::format("{}: byte offset {}: {}", source_, offset, what));
  }
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }

  void need(std::size_t n, const std::string& what) const {
    if (remaining() < n) {
      fail_at(pos_, fmt::format("the file ends ({} bytes) where {} ({} bytes) was expected",
                                bytes_.size(), what, n));
    }
  }
  std::uint8_t u8(const std::string& what) {
    need(1, what);
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  std::uint32_t u32(const std::string& what) {
    need(4, what);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes_[pos_++])) << (8 * i);
    }
    return v;
  }
  std::uint64_t u64(const std::string& what) {
    need(8, what);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes_[pos_++])) << (8 * i);
    }
    return v;
  }
  std::string_view text(std::size_t n, const std::string& what) {
    need(n, what);
    const auto s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::string_view bytes_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

void check_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    throw InputError(
        fmt::format("weights: tensor name '{}' must be 1 to {} bytes", name, kMaxNameLength));
  }
  for (unsigned char ch : name) {
    if (!valid_tensor_name_byte(ch)) {
      throw InputError(
          fmt::format("weights: tensor name '{}' has a byte outside printable "
                      "ASCII (0x21 to 0x7E)",
                      name));
    }
  }
}

}  // namespace

std::string encode_weights(const Weights& weights) {
  ByteWriter w;
  w.text(kWeightsMagic);
  w.u32(kWeightsVersion);
  if (weights.tensors.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw InputError("weights: more tensors than the format's 32-bit count");
  }
  w.u32(static_cast<std::uint32_t>(weights.tensors.size()));
  std::set<std::string, std::less<>> names;
  for (const auto& t : weights.tensors) {
    check_name(t.name);
    if (!names.insert(t.name).second) {
      throw InputError(fmt::format("weights: tensor name '{}' appears twice", t.name));
    }
    if (t.tensor.shape.size() > kMaxRank) {
      throw InputError(fmt::format("weights: tensor '{}' has rank {}; at most {}", t.name,
                                   t.tensor.shape.size(), kMaxRank));
    }
    for (auto d : t.tensor.shape) {
      if (d < 0) {
        throw InputError(fmt::format("weights: tensor '{}' has a negative dimension in {}", t.name,
                                     shape_text(t.tensor.shape)));
      }
    }
    if (static_cast<std::int64_t>(t.tensor.values.size()) != t.tensor.numel()) {
      throw InputError(fmt::format("weights: tensor '{}' of shape {} holds {} values, not {}",
                                   t.name, shape_text(t.tensor.shape), t.tensor.values.size(),
                                   t.tensor.numel()));
    }
    w.u32(static_cast<std::uint32_t>(t.name.size()));
    w.text(t.name);
    w.u8(t.trainable ? kTrainableFlag : 0);
    w.u8(kFloat32);
    w.u8(static_cast<std::uint8_t>(t.tensor.shape.size()));
    w.u8(0);
    for (auto d : t.tensor.shape) w.u64(static_cast<std::uint64_t>(d));
    for (float v : t.tensor.values) w.f32(v);
  }
  w.u64(stable_hash(w.bytes()));
  return std::move(w.bytes());
}

namespace {

// The magic and the format version; returns the tensor count.
std::uint32_t read_header(ByteReader& r) {
  const auto magic = r.text(kWeightsMagic.size(), "the magic \"CBWEIGHT\"");
  if (magic != kWeightsMagic) {
    r.fail_at(0, "not a cifarbench weights file (expected the magic \"CBWEIGHT\")");
  }
  const std::size_t version_at = r.offset();
  const auto version = r.u32("the format version");
  if (version != kWeightsVersion) {
    r.fail_at(version_at, fmt::format("format version {} is not supported (expected {})", version,
                                      kWeightsVersion));
  }
  return r.u32("the tensor count");
}

// A tensor's name (length, then printable ASCII), new among `names`.
std::string read_tensor_name(ByteReader& r, const std::string& which,
                             std::set<std::string, std::less<>>& names) {
  const std::size_t length_at = r.offset();
  const auto length = r.u32("the name length of " + which);
  if (length == 0 || length > kMaxNameLength) {
    r.fail_at(length_at, fmt::format("{} has a name length of {} (expected 1 to {})", which,
                                     length, kMaxNameLength));
  }
  const std::size_t name_at = r.offset();
  std::string name(r.text(length, "the name of " + which));
  for (std::size_t k = 0; k < name.size(); ++k) {
    if (!valid_tensor_name_byte(static_cast<unsigned char>(name[k]))) {
      r.fail_at(name_at + k, fmt::format("the name of {} has a byte outside printable ASCII", which));
    }
  }
  if (!names.insert(name).second) {
    r.fail_at(name_at, fmt::format("tensor name '{}' appears twice", name));
  }
  return name;
}

// The flags, data type, rank and reserved byte of tensor `named`; sets `trainable` and returns
// the rank.
std::uint8_t read_tensor_header(ByteReader& r, const std::string& named, bool& trainable) {
  const std::size_t flags_at = r.offset();
  const auto flags = r.u8("the flags of " + named);
  if ((flags & ~kTrainableFlag) != 0) {
    r.fail_at(flags_at,
              fmt::format("{} has unknown flags 0x{:02x} (expected 0 or 1)", named, flags));
  }
  trainable = (flags & kTrainableFlag) != 0;
  const std::size_t dtype_at = r.offset();
  const auto dtype = r.u8("the data type of " + named);
  if (dtype != kFloat32) {
    r.fail_at(dtype_at, fmt::format("{} has data type {} (expected 1, float32)", named, dtype));
  }
  const std::size_t rank_at = r.offset();
  const auto rank = r.u8("the rank of " + named);
  if (rank > kMaxRank) {
    r.fail_at(rank_at, fmt::format("{} has rank {} (expected at most {})", named, rank, kMaxRank));
  }
  const std::size_t reserved_at = r.offset();
  if (r.u8("the reserved byte of " + named) != 0) {
    r.fail_at(reserved_at, fmt::format("the reserved byte of {} is not 0", named));
  }
  return rank;
}

// The `rank` dimensions of tensor `named`, each bounded by what is left of the file.
std::vector<std::int64_t> read_shape(ByteReader& r, std::uint8_t rank, const std::string& named) {
  std::vector<std::int64_t> shape;
  std::uint64_t numel = 1;
  std::uint64_t nonzero_product = 1;  // bounded too, so that an empty tensor's shape is sane
  for (std::uint8_t d = 0; d < rank; ++d) {
    const std::size_t dim_at = r.offset();
    const auto dim = r.u64(fmt::format("dimension {} of {}", d, named));
    // The values must fit in what is left of the file: this also bounds numel against overflow.
    if (dim != 0 && numel > r.remaining() / 4 / dim) {
      r.fail_at(dim_at, fmt::format("dimension {} of {} is {}: the values would need more "
                                    "than the {} bytes left (truncated, or a wrong shape)",
                                    d, named, dim, r.remaining()));
    }
    if (dim != 0 && nonzero_product > kMaxValues / dim) {
      r.fail_at(dim_at, fmt::format("dimension {} of {} is {}: the shape exceeds 2^40 values", d,
                                    named, dim));
    }
    nonzero_product *= dim != 0 ? dim : 1;
    numel *= dim;
    shape.push_back(static_cast<std::int64_t>(dim));
  }
  return shape;
}

// `numel` little-endian float32 values of tensor `named`.
std::vector<float> read_values(ByteReader& r, std::uint64_t numel, const std::string& named) {
  const auto bytes = r.text(numel * 4, fmt::format("the {} float32 values of {}", numel, named));
  std::vector<float> values(numel);
  for (std::size_t k = 0; k < numel; ++k) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) {
      bits |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[4 * k + b])) << (8 * b);
    }
    values[k] = std::bit_cast<float>(bits);
  }
  return values;
}

}  // namespace

Weights decode_weights(std::string_view bytes, const std::string& source) {
  ByteReader r(bytes, source);
  const auto count = read_header(r);
  Weights weights;
  std::set<std::string, std::less<>> names;
  for (std::uint32_t i = 0; i < count; ++i) {
    NamedTensor t;
    t.name = read_tensor_name(r, fmt::format("tensor {} of {}", i + 1, count), names);
    const std::string named = fmt::format("tensor '{}'", t.name);
    const std::uint8_t rank = read_tensor_header(r, named, t.trainable);
    t.tensor.shape = read_shape(r, rank, named);
    std::uint64_t numel = 1;
    for (auto d : t.tensor.shape) numel *= static_cast<std::uint64_t>(d);
    t.tensor.values = read_values(r, numel, named);
    weights.tensors.push_back(std::move(t));
  }
  const std::size_t checksum_at = r.offset();
  const auto checksum = r.u64("the checksum");
  if (checksum != stable_hash(bytes.substr(0, checksum_at))) {
    r.fail_at(checksum_at, "the checksum does not match the contents (the file is corrupt)");
  }
  if (r.remaining() != 0) {
    r.fail_at(r.offset(), fmt::format("{} unexpected bytes after the checksum", r.remaining()));
  }
  return weights;
}

void save_weights(const Weights& weights, const std::filesystem::path& path) {
  const std::string bytes = encode_weights(weights);
  const auto temporary = path.string() + fmt::format(".tmp.{}", ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw InputError(
          fmt::format("{}: cannot create the weights file (is the directory there "
                      "and writable?)",
                      path.string()));
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      throw InputError(fmt::format("{}: cannot write the weights (disk full?)", path.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::remove(temporary.c_str());
    throw InputError(fmt::format("{}: cannot write the weights: {}", path.string(), ec.message()));
  }
}

Weights load_weights(const std::filesystem::path& path) {
  return decode_weights(read_regular_file(path, "weights file"), path.string());
}

void check_weights_match(const ModelSpec& spec, const Weights& weights, const std::string& source) {
  const auto expected = parameter_shapes(spec);
  for (const auto& p : expected) {
    const NamedTensor* t = weights.find(p.name);
    if (!t) {
      throw InputError(
          fmt::format("{}: has no tensor '{}' that model '{}' needs", source, p.name, spec.name));
    }
    if (t->tensor.shape != p.shape) {
      throw InputError(fmt::format("{}: tensor '{}' has shape {}; model '{}' needs {}", source,
                                   p.name, shape_text(t->tensor.shape), spec.name,
                                   shape_text(p.shape)));
    }
    if (t->trainable != p.trainable) {
      throw InputError(fmt::format("{}: tensor '{}' is marked {}; model '{}' needs it {}", source,
                                   p.name, t->trainable ? "trainable" : "a buffer", spec.name,
                                   p.trainable ? "trainable" : "a buffer"));
    }
  }
  if (weights.tensors.size() != expected.size()) {
    for (const auto& t : weights.tensors) {
      bool known = false;
      for (const auto& p : expected) known = known || p.name == t.name;
      if (!known) {
        throw InputError(
            fmt::format("{}: tensor '{}' is not part of model '{}'", source, t.name, spec.name));
      }
    }
  }
}

}  // namespace cb::model
