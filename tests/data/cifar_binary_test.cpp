// CIFAR-10/100 binary readers: layout, labels, and every kind of bad file named with its offset.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "core/error.h"
#include "data/cifar_binary.h"
#include "fixtures.h"

namespace cb {
namespace {
using testing::Bytes;
using testing::TempDir;

std::string load_error(const std::filesystem::path& dir) {
  try {
    data::load_cifar10_dir(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CifarBinary, LoadsEveryBatchInOrderWithPlanarPixels) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path(), 4, 5);
  const auto ds = data::load_cifar10_dir(dir.path());
  EXPECT_EQ(ds.name, "cifar10");
  EXPECT_FALSE(ds.synthetic);
  EXPECT_EQ(ds.train.count, 20);
  EXPECT_EQ(ds.test.count, 5);
  EXPECT_EQ(ds.train.pixels.size(), 20 * data::kCifarPixelBytes);
  EXPECT_EQ(ds.classes.front(), "airplane");
  EXPECT_EQ(ds.classes.back(), "truck");
  EXPECT_EQ(ds.classes.size(), 10u);  // the trailing blank line is not a class
  // Record 3 of batch 2 is the 8th train image: label 3 % 10, first pixel (3*7) % 251.
  EXPECT_EQ(ds.train.labels[7], 3);
  EXPECT_EQ(ds.train.image(7, ds.image_bytes())[0], 21);
  EXPECT_EQ(ds.train.image(7, ds.image_bytes())[1024], (21 + 1024) % 251);  // start of G plane
}

TEST(CifarBinary, TruncatedFileIsRefusedWithItsNameAndOffset) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path());
  Bytes batch = testing::cifar_records(4, 10);
  batch.resize(batch.size() - 100);
  testing::write_file(dir / "data_batch_3.bin", batch);
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("data_batch_3.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("byte offset 9219"), std::string::npos) << message;  // 3 whole records
}

TEST(CifarBinary, TrailingExtraBytesAreRefused) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path());
  Bytes batch = testing::cifar_records(5, 10);
  batch.push_back(0);
  testing::write_file(dir / "test_batch.bin", batch);
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("test_batch.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("1 stray byte(s) at byte offset 15365"), std::string::npos) << message;
}

TEST(CifarBinary, Label10IsOutOfRangeForCifar10) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path());
  Bytes batch = testing::cifar_records(4, 10);
  batch[2 * 3073] = 10;  // the label byte of record 2
  testing::write_file(dir / "data_batch_5.bin", batch);
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("data_batch_5.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("record 2 at byte offset 6146 has label 10"), std::string::npos)
      << message;
}

TEST(CifarBinary, MissingBatchFileIsNamed) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path());
  std::filesystem::remove(dir / "data_batch_4.bin");
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("missing data_batch_4.bin"), std::string::npos) << message;
}

TEST(CifarBinary, ClassCountComesFromTheMetaFile) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path());
  testing::write_text(dir / "batches.meta.txt", "a\nb\nc\n");
  // Labels go up to 9 in the fixture: with three classes, label 3 (record 3) is out of range.
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("has label 3 (expected 0 to 2)"), std::string::npos) << message;
}

TEST(CifarBinary, Cifar100ChoosesFineOrCoarseLabels) {
  TempDir dir;
  Bytes train;
  for (int r = 0; r < 3; ++r) {
    train.push_back(static_cast<std::uint8_t>(r));       // coarse
    train.push_back(static_cast<std::uint8_t>(50 + r));  // fine
    train.insert(train.end(), data::kCifarPixelBytes, 9);
  }
  testing::write_file(dir / "train.bin", train);
  testing::write_file(dir / "test.bin", train);
  const auto fine = data::load_cifar100_dir(dir.path(), data::Cifar100Labels::fine);
  const auto coarse = data::load_cifar100_dir(dir.path(), data::Cifar100Labels::coarse);
  EXPECT_EQ(fine.name, "cifar100-fine");
  EXPECT_EQ(fine.classes.size(), 100u);
  EXPECT_EQ(fine.train.labels, (std::vector<std::int32_t>{50, 51, 52}));
  EXPECT_EQ(coarse.classes.size(), 20u);
  EXPECT_EQ(coarse.train.labels, (std::vector<std::int32_t>{0, 1, 2}));
}

TEST(CifarBinary, Cifar100CoarseLabelOutOfRangeNamesTheOffset) {
  TempDir dir;
  Bytes train(2 + data::kCifarPixelBytes, 0);
  train[0] = 20;
  testing::write_file(dir / "train.bin", train);
  testing::write_file(dir / "test.bin", train);
  try {
    data::load_cifar100_dir(dir.path(), data::Cifar100Labels::fine);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.bin: record 0 at byte offset 0 has label 20"),
              std::string::npos)
        << e.what();
  }
}

TEST(CifarBinary, WrittenLayoutReadsBackIdentically) {
  TempDir dir;
  testing::write_cifar10_dir(dir / "in", 3, 2);
  const auto original = data::load_cifar10_dir(dir / "in");
  std::filesystem::create_directories(dir / "out");
  data::write_cifar10_layout(original, dir / "out");
  const auto copy = data::load_cifar10_dir(dir / "out");
  EXPECT_EQ(copy.train.pixels, original.train.pixels);
  EXPECT_EQ(copy.train.labels, original.train.labels);
  EXPECT_EQ(copy.test.pixels, original.test.pixels);
  EXPECT_EQ(copy.classes, original.classes);
}

}  // namespace
}  // namespace cb

// Issue 19: inputs that used to be accepted without a word, or escape as internal errors.
namespace cb {
namespace {

TEST(CifarBinaryIntegrity, EmptyBatchFileIsRefusedNamingIt) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  testing::write_file(dir / "data_batch_4.bin", {});
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("data_batch_4.bin: empty file"), std::string::npos) << message;
}

TEST(CifarBinaryIntegrity, DuplicateClassNamesAreRefusedNamingTheName) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  testing::write_text(dir / "batches.meta.txt", "cat\ndog\ncat\nbird\nfrog\nhorse\nship\ntruck\ndeer\nplane\n");
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("batches.meta.txt: class name 'cat' appears twice"), std::string::npos)
      << message;
}

TEST(CifarBinaryIntegrity, NonUtf8ClassNameIsAnInputErrorNamingTheFile) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  testing::write_text(dir / "batches.meta.txt",
                      "a\nb\nc\nd\ne\nf\ng\nh\ni\n\xff\xfe" "garbage\n");
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("batches.meta.txt: class name #10: invalid UTF-8"), std::string::npos)
      << message;
}

TEST(CifarBinaryIntegrity, ControlCharacterInAClassNameIsRefused) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  testing::write_text(dir / "batches.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\x01k\n");
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("control character 0x01"), std::string::npos) << message;
}

TEST(CifarBinaryIntegrity, FifoInPlaceOfABatchFileIsRefusedWithoutBlocking) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  std::filesystem::remove(dir / "data_batch_2.bin");
  ASSERT_EQ(mkfifo((dir / "data_batch_2.bin").c_str(), 0644), 0);
  const std::string message = load_error(dir.path());  // opening a FIFO would wait for a writer
  EXPECT_NE(message.find("data_batch_2.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("FIFO"), std::string::npos) << message;
}

TEST(CifarBinaryIntegrity, DirectoryInPlaceOfABatchFileIsRefused) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  std::filesystem::remove(dir / "test_batch.bin");
  std::filesystem::create_directory(dir / "test_batch.bin");
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("test_batch.bin: the CIFAR file is a directory"), std::string::npos)
      << message;
}

TEST(CifarBinaryIntegrity, ClassNameWithANewlineIsNotWrittenAsTwoClasses) {
  testing::TempDir dir;
  testing::write_cifar10_dir(dir.path());
  data::Dataset ds = data::load_cifar10_dir(dir.path());
  ds.classes[3] = "two\nclasses";
  std::filesystem::create_directory(dir / "out");
  try {
    data::write_cifar10_layout(ds, dir / "out");
    FAIL() << "a class name with a newline was written";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("control character 0x0a"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cb
