// The weights file: an exact round trip, and malformed files refused with the byte offset named.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "model/initial_weights.h"
#include "model/weights_file.h"
#include "model/zoo.h"

namespace cb::model {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class WeightsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("cb_weights_test_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Weights two_tensors() {
  Weights w;
  w.tensors.push_back({"fc.weight", true, {{2, 3}, {1, -2, 3.5f, 0, -0.0f, 1e-30f}}});
  w.tensors.push_back({"bn.running_var", false, {{2}, {1, 2}}});
  return w;
}

// Decoding error message for `bytes` ("" if they decode).
std::string decode_error(const std::string& bytes) {
  try {
    decode_weights(bytes, "w.cbw");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Rewrites the checksum after a deliberate edit, so the test reaches the check it targets.
std::string with_valid_checksum(std::string bytes) {
  const auto n = bytes.size() - 8;
  const auto h = stable_hash(std::string_view(bytes).substr(0, n));
  for (int i = 0; i < 8; ++i)
    bytes[n + static_cast<std::size_t>(i)] = static_cast<char>(h >> (8 * i));
  return bytes;
}

bool bitwise_equal(const Weights& a, const Weights& b) {
  if (a.tensors.size() != b.tensors.size()) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& x = a.tensors[i];
    const auto& y = b.tensors[i];
    if (x.name != y.name || x.trainable != y.trainable || x.tensor.shape != y.tensor.shape ||
        x.tensor.values.size() != y.tensor.values.size()) {
      return false;
    }
    for (std::size_t k = 0; k < x.tensor.values.size(); ++k) {
      if (std::bit_cast<std::uint32_t>(x.tensor.values[k]) !=
          std::bit_cast<std::uint32_t>(y.tensor.values[k])) {
        return false;
      }
    }
  }
  return true;
}

TEST_F(WeightsFile, SaveThenLoadIsBitwiseExact) {
  const auto spec = build_zoo_model("resnet20", 10);
  const auto weights = initial_weights(spec, 7);
  save_weights(weights, dir_ / "w.cbw");
  EXPECT_TRUE(bitwise_equal(load_weights(dir_ / "w.cbw"), weights));
}

TEST_F(WeightsFile, RoundTripKeepsNegativeZeroNanAndInfinity) {
  Weights w;
  w.tensors.push_back(
      {"odd",
       true,
       {{4},
        {-0.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
         std::numeric_limits<float>::denorm_min()}}});
  save_weights(w, dir_ / "w.cbw");
  EXPECT_TRUE(bitwise_equal(load_weights(dir_ / "w.cbw"), w));
}

TEST_F(WeightsFile, RoundTripKeepsScalarsAndEmptyTensors) {
  Weights w;
  w.tensors.push_back({"scalar", true, {{}, {2.5f}}});
  w.tensors.push_back({"empty", false, {{0, 3}, {}}});
  EXPECT_TRUE(bitwise_equal(decode_weights(encode_weights(w), "mem"), w));
}

TEST_F(WeightsFile, SavingLeavesNoTemporaryFileBehind) {
  save_weights(two_tensors(), dir_ / "w.cbw");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1);
}

TEST_F(WeightsFile, LayoutStartsWithMagicVersionAndCount) {
  const auto bytes = encode_weights(two_tensors());
  EXPECT_EQ(bytes.substr(0, 8), "CBWEIGHT");
  EXPECT_EQ(bytes.substr(8, 8), std::string("\x01\0\0\0\x02\0\0\0", 8));
  // header 16 + (4 + 9 + 4 + 16 + 24) + (4 + 14 + 4 + 8 + 8) + checksum 8
  EXPECT_EQ(bytes.size(), 16u + 57u + 38u + 8u);
}

TEST_F(WeightsFile, MissingFileNamesThePath) {
  try {
    load_weights(dir_ / "absent.cbw");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "absent.cbw")) << e.what();
  }
}

TEST_F(WeightsFile, DirectoryInPlaceOfTheFileIsAnInputErrorNamingIt) {
  std::filesystem::create_directories(dir_ / "model.weights");
  try {
    load_weights(dir_ / "model.weights");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "model.weights: the weights file is a directory")) << e.what();
  }
}

TEST_F(WeightsFile, BadMagicIsRefusedAtOffsetZero) {
  auto bytes = encode_weights(two_tensors());
  bytes[0] = 'X';
  const auto error = decode_error(bytes);
  EXPECT_TRUE(contains(error, "w.cbw: byte offset 0:")) << error;
  EXPECT_TRUE(contains(error, "magic")) << error;
}

TEST_F(WeightsFile, UnknownVersionIsRefusedAtOffsetEight) {
  auto bytes = encode_weights(two_tensors());
  bytes[8] = 9;
  const auto error = decode_error(with_valid_checksum(bytes));
  EXPECT_TRUE(contains(error, "byte offset 8:")) << error;
  EXPECT_TRUE(contains(error, "version 9")) << error;
}

TEST_F(WeightsFile, TruncationInsideValuesIsRefusedAtTheShapeThatNoLongerFits) {
  const auto bytes = encode_weights(two_tensors());
  // fc.weight's last dimension is at 16 + 4 + 9 + 4 + 8 = 41; its values would end at 73.
  const auto error = decode_error(bytes.substr(0, 60));
  EXPECT_TRUE(contains(error, "byte offset 41:")) << error;
  EXPECT_TRUE(contains(error, "'fc.weight'")) << error;
  EXPECT_TRUE(contains(error, "truncated")) << error;
}

TEST_F(WeightsFile, TruncationInsideAHeaderIsRefusedAtTheFieldThatIsCut) {
  const auto bytes = encode_weights(two_tensors());
  // fc.weight's name starts at 20; cut after three of its nine bytes.
  const auto error = decode_error(bytes.substr(0, 23));
  EXPECT_TRUE(contains(error, "byte offset 20:")) << error;
  EXPECT_TRUE(contains(error, "name of tensor 1 of 2")) << error;
}

TEST_F(WeightsFile, TruncationBeforeTheChecksumIsRefusedWithTheOffset) {
  const auto bytes = encode_weights(two_tensors());
  const auto error = decode_error(bytes.substr(0, bytes.size() - 3));
  EXPECT_TRUE(contains(error, fmt::format("byte offset {}:", bytes.size() - 8))) << error;
  EXPECT_TRUE(contains(error, "checksum")) << error;
}

TEST_F(WeightsFile, EmptyFileIsRefusedAtOffsetZero) {
  EXPECT_TRUE(contains(decode_error(""), "byte offset 0:"));
}

TEST_F(WeightsFile, AShapeLargerThanTheFileIsRefusedAtItsDimension) {
  auto bytes = encode_weights(two_tensors());
  bytes[33] = 0x40;  // fc.weight's first dimension (offset 16+4+9+4 = 33) becomes 64
  const auto error = decode_error(with_valid_checksum(bytes));
  EXPECT_TRUE(contains(error, "byte offset 33:")) << error;
  EXPECT_TRUE(contains(error, "dimension 0")) << error;
}

TEST_F(WeightsFile, AWrongSizeThatStillFitsIsCaughtBeforeTheChecksum) {
  auto bytes = encode_weights(two_tensors());
  bytes[33] = 1;  // [1, 3]: the rest of the tensor's bytes are misread as the next header
  const auto error = decode_error(with_valid_checksum(bytes));
  EXPECT_TRUE(contains(error, "byte offset ")) << error;
  EXPECT_FALSE(error.empty());
}

TEST_F(WeightsFile, UnknownDataTypeIsRefusedAtItsOffset) {
  auto bytes = encode_weights(two_tensors());
  bytes[30] = 2;  // fc.weight's dtype: 16 + 4 + 9 + 1 (flags) = 30
  const auto error = decode_error(with_valid_checksum(bytes));
  EXPECT_TRUE(contains(error, "byte offset 30:")) << error;
  EXPECT_TRUE(contains(error, "data type")) << error;
}

TEST_F(WeightsFile, ACorruptValueIsCaughtByTheChecksum) {
  auto bytes = encode_weights(two_tensors());
  bytes[50] ^= 0x01;
  const auto error = decode_error(bytes);
  EXPECT_TRUE(contains(error, fmt::format("byte offset {}:", bytes.size() - 8))) << error;
  EXPECT_TRUE(contains(error, "checksum")) << error;
}

TEST_F(WeightsFile, TrailingBytesAreRefusedWithTheirOffset) {
  const auto bytes = encode_weights(two_tensors());
  const auto error = decode_error(bytes + "xx");
  EXPECT_TRUE(contains(error, fmt::format("byte offset {}:", bytes.size()))) << error;
}

TEST_F(WeightsFile, EveryTruncationIsRefusedWithAnOffset) {
  const auto bytes = encode_weights(two_tensors());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto error = decode_error(bytes.substr(0, n));
    EXPECT_TRUE(contains(error, "w.cbw: byte offset ")) << n << ": " << error;
  }
}

TEST_F(WeightsFile, EverySingleByteCorruptionIsRefusedWithAnOffset) {
  const auto bytes = encode_weights(two_tensors());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto corrupt = bytes;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
    const auto error = decode_error(corrupt);
    EXPECT_TRUE(contains(error, "w.cbw: byte offset ")) << i << ": " << error;
  }
}

TEST_F(WeightsFile, AHugeDimensionBesideAZeroOneIsRefused) {
  Weights w;
  w.tensors.push_back({"empty", true, {{0, 1}, {}}});
  auto bytes = encode_weights(w);
  // The second dimension (offset 16 + 4 + 5 + 4 + 8 = 37) becomes 2^62.
  bytes[37 + 7] = 0x40;
  const auto error = decode_error(with_valid_checksum(bytes));
  EXPECT_TRUE(contains(error, "byte offset 37:")) << error;
  EXPECT_TRUE(contains(error, "2^40")) << error;
}

TEST_F(WeightsFile, SavingIntoAMissingDirectoryNamesThePath) {
  try {
    save_weights(two_tensors(), dir_ / "no" / "such" / "w.cbw");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), (dir_ / "no" / "such" / "w.cbw").string())) << e.what();
  }
}

TEST_F(WeightsFile, DuplicateNamesAreRefusedWhenEncoding) {
  auto w = two_tensors();
  w.tensors[1].name = "fc.weight";
  EXPECT_THROW(encode_weights(w), InputError);
}

TEST_F(WeightsFile, ValuesThatDoNotMatchTheShapeAreRefusedWhenEncoding) {
  auto w = two_tensors();
  w.tensors[0].tensor.values.pop_back();
  EXPECT_THROW(encode_weights(w), InputError);
}

TEST_F(WeightsFile, InitialWeightsMatchTheirSpec) {
  const auto spec = build_zoo_model("resnet20-b", 10);
  EXPECT_NO_THROW(check_weights_match(spec, initial_weights(spec, 1), "init"));
}

TEST_F(WeightsFile, WeightsOfAnotherModelDoNotMatchNamingTheTensor) {
  const auto spec = build_zoo_model("resnet20", 10);
  const auto other = initial_weights(build_zoo_model("resnet20", 100), 1);
  try {
    check_weights_match(spec, other, "other.cbw");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "other.cbw: tensor 'linear.weight' has shape [100, 64]"))
        << e.what();
  }
}

TEST_F(WeightsFile, MissingTensorIsNamed) {
  const auto spec = build_zoo_model("resnet20", 10);
  auto w = initial_weights(spec, 1);
  w.tensors.pop_back();
  try {
    check_weights_match(spec, w, "w.cbw");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "'linear.bias'")) << e.what();
  }
}

TEST_F(WeightsFile, ExtraTensorIsNamed) {
  const auto spec = build_zoo_model("resnet20", 10);
  auto w = initial_weights(spec, 1);
  w.tensors.push_back({"stray", true, {{1}, {0}}});
  try {
    check_weights_match(spec, w, "w.cbw");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "'stray'")) << e.what();
  }
}

}  // namespace
}  // namespace cb::model
