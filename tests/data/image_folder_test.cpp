// Image folders and archives: layout, class order, decoding decisions, and refusals.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/image_decode.h"
#include "data/image_folder.h"
#include "fixtures.h"

namespace cb {
namespace {
using testing::ArchiveKind;
using testing::Member;
using testing::TempDir;

const std::vector<std::string> kClasses = {"cat", "airplane", "dog"};  // not in sorted order

std::string folder_error(const std::filesystem::path& root, data::ImageFolderOptions options = {}) {
  try {
    data::load_image_folder(root, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string archive_error(const std::vector<Member>& members, ArchiveKind kind = ArchiveKind::tar) {
  const auto bytes = testing::make_archive(members, kind);
  try {
    data::load_archive_memory(bytes.data(), bytes.size(), "bad.tar", {});
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ImageFolder, LoadsSplitsWithClassesSortedByName) {
  TempDir dir;
  testing::write_members(dir / "pets", testing::image_folder_members("", kClasses, 2));
  const auto ds = data::load_image_folder(dir / "pets", {});
  EXPECT_EQ(ds.name, "pets");
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"airplane", "cat", "dog"}));
  EXPECT_EQ(ds.train.count, 6);
  EXPECT_EQ(ds.test.count, 3);
  EXPECT_EQ(ds.train.labels, (std::vector<std::int32_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(ds.height, 32);
  EXPECT_EQ(ds.width, 32);
}

TEST(ImageFolder, GivenClassListSetsTheLabelOrder) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  data::ImageFolderOptions options;
  options.classes = {"dog", "cat", "airplane"};
  const auto ds = data::load_image_folder(dir.path(), options);
  EXPECT_EQ(ds.classes, options.classes);
  EXPECT_EQ(ds.train.labels, (std::vector<std::int32_t>{0, 1, 2}));
}

TEST(ImageFolder, ClassFolderMissingFromTheGivenListIsRefused) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  data::ImageFolderOptions options;
  options.classes = {"dog", "cat"};
  EXPECT_NE(folder_error(dir.path(), options).find("class folder train/airplane is not among"),
            std::string::npos);
}

TEST(ImageFolder, DecodedPixelsArePlanarAndCloseToTheSource) {
  TempDir dir;
  testing::write_file(dir / "train/a/0.png", testing::encode_png(32, 32, 1));
  testing::write_file(dir / "test/a/0.png", testing::encode_png(32, 32, 1));
  const auto ds = data::load_image_folder(dir.path(), {});
  const auto rgb = testing::test_rgb(32, 32, 1);
  const std::uint8_t* px = ds.train.image(0, ds.image_bytes());
  EXPECT_EQ(px[0], rgb[0]);                                     // R of (0,0)
  EXPECT_EQ(px[1024 + 5 * 32 + 7], rgb[(5 * 32 + 7) * 3 + 1]);  // G of (7,5)
}

TEST(ImageFolder, DifferentImageSizeIsRefusedWithoutResize) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  testing::write_file(dir / "train/dog/9.jpg", testing::encode_jpeg(40, 30, 3));
  const std::string message = folder_error(dir.path());
  EXPECT_NE(message.find("dog/9.jpg: image is 40×30"), std::string::npos) << message;
  EXPECT_NE(message.find("resize"), std::string::npos) << message;
}

TEST(ImageFolder, ResizeResamplesEveryImage) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1, 64));
  testing::write_file(dir / "train/dog/9.jpg", testing::encode_jpeg(40, 30, 3));
  data::ImageFolderOptions options;
  options.resize = 16;
  const auto ds = data::load_image_folder(dir.path(), options);
  EXPECT_EQ(ds.height, 16);
  EXPECT_EQ(ds.width, 16);
  EXPECT_EQ(ds.train.pixels.size(), 4u * 3 * 16 * 16);
}

TEST(ImageFolder, CorruptJpegIsRefusedNamingTheFile) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  auto jpeg = testing::encode_jpeg(32, 32, 5);
  jpeg.resize(jpeg.size() / 2);  // cut mid-scan: libjpeg would pad with grey, we refuse
  testing::write_file(dir / "train/cat/0.jpg", jpeg);
  const std::string message = folder_error(dir.path());
  EXPECT_NE(message.find("train/cat/0.jpg: corrupt"), std::string::npos) << message;
}

TEST(ImageFolder, PngWithAlphaIsRefused) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  testing::write_file(dir / "train/cat/5.png", testing::encode_png(32, 32, 1, PNG_COLOR_TYPE_RGBA));
  const std::string message = folder_error(dir.path());
  EXPECT_NE(message.find("cat/5.png"), std::string::npos) << message;
  EXPECT_NE(message.find("alpha"), std::string::npos) << message;
}

TEST(ImageFolder, PngWiderThanTheLimitIsRefusedForItsSizeNotAsCorrupt) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  testing::write_file(dir / "train/cat/wide.png", testing::encode_png(5000, 1, 1));
  const std::string message = folder_error(dir.path());
  EXPECT_NE(message.find("cat/wide.png"), std::string::npos) << message;
  EXPECT_NE(message.find("5000×1, larger than 4096×4096"), std::string::npos) << message;
}

TEST(ImageArchive, AMemberOverThePerMemberLimitIsRefusedWhileInflating) {
  auto members = testing::image_folder_members("set", kClasses, 1);
  members.push_back({"set/train/cat/huge.jpg", testing::Bytes((std::size_t{256} << 20) + 1, 0)});
  const std::string message = archive_error(members, ArchiveKind::tar_gz);
  EXPECT_NE(message.find("huge.jpg: member"), std::string::npos) << message;
  EXPECT_NE(message.find("268435456"), std::string::npos) << message;
}

TEST(ImageArchive, AMemberOutsideTrainAndTestIsSkipped) {
  auto members = testing::image_folder_members("set", kClasses, 1);
  members.push_back({"set/README", testing::Bytes(1 << 20, 'x')});
  members.push_back({"set/README", testing::Bytes(1 << 20, 'y')});  // twice: never even read
  EXPECT_EQ(archive_error(members, ArchiveKind::tar_gz), "(no error)");
}

TEST(ImageFolder, SixteenBitPngIsScaledToEightBits) {
  const auto png16 = testing::encode_png(8, 8, 2, PNG_COLOR_TYPE_RGB, 16);
  const auto image = data::decode_image(png16.data(), png16.size(), "x.png");
  EXPECT_EQ(image.rgb, testing::test_rgb(8, 8, 2));  // v * 257 scales back to v exactly
}

TEST(ImageFolder, GreyPngBecomesRgb) {
  const auto grey = testing::encode_png(8, 8, 2, PNG_COLOR_TYPE_GRAY);
  const auto image = data::decode_image(grey.data(), grey.size(), "g.png");
  ASSERT_EQ(image.rgb.size(), 8u * 8 * 3);
  EXPECT_EQ(image.rgb[0], image.rgb[1]);
  EXPECT_EQ(image.rgb[1], image.rgb[2]);
}

TEST(ImageFolder, NonImageFileInAClassFolderIsRefused) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  testing::write_text(dir / "train/dog/notes.txt", "hello");
  const std::string message = folder_error(dir.path());
  EXPECT_NE(message.find("dog/notes.txt: not an image file"), std::string::npos) << message;
}

TEST(ImageFolder, HiddenFilesAreSkipped) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 1));
  testing::write_text(dir / "train/dog/.DS_Store", "junk");
  EXPECT_EQ(data::load_image_folder(dir.path(), {}).train.count, 3);
}

TEST(ImageFolder, EmptyDirectoryIsRefused) {
  TempDir dir;
  const std::string message = folder_error(dir.path());
  EXPECT_NE(message.find(dir.path().string() + ": is empty"), std::string::npos) << message;
}

TEST(ImageFolder, MissingTestSplitIsRefused) {
  TempDir dir;
  testing::write_file(dir / "train/a/0.jpg", testing::encode_jpeg(32, 32, 0));
  EXPECT_NE(folder_error(dir.path()).find("the test split has no images"), std::string::npos);
}

TEST(ImageFolder, DecodeThreadCountDoesNotChangeTheBytes) {
  TempDir dir;
  testing::write_members(dir.path(), testing::image_folder_members("", kClasses, 5));
  data::ImageFolderOptions one, four;
  one.decode_threads = 1;
  four.decode_threads = 4;
  const auto a = data::load_image_folder(dir.path(), one);
  const auto b = data::load_image_folder(dir.path(), four);
  EXPECT_EQ(a.train.pixels, b.train.pixels);
  EXPECT_EQ(a.train.labels, b.train.labels);
}

TEST(ImageArchive, TarGzZipAndFolderLoadTheSameDataset) {
  TempDir dir;
  const auto members = testing::image_folder_members("set", kClasses, 2);
  testing::write_members(dir.path(), members);
  const auto folder = data::load_image_folder(dir / "set", {});
  for (auto [kind, name] : {std::pair{ArchiveKind::tar, "set.tar"},
                            {ArchiveKind::tar_gz, "set.tar.gz"},
                            {ArchiveKind::zip, "set.zip"}}) {
    testing::write_file(dir / name, testing::make_archive(members, kind));
    const auto ds = data::load_archive(dir / name, {});
    EXPECT_EQ(ds.name, "set") << name;
    EXPECT_EQ(ds.classes, folder.classes) << name;
    EXPECT_EQ(ds.train.pixels, folder.train.pixels) << name;
    EXPECT_EQ(ds.test.labels, folder.test.labels) << name;
  }
}

TEST(ImageArchive, MemberWithDotDotIsRefused) {
  auto members = testing::image_folder_members("set", kClasses, 1);
  members.push_back({"set/train/cat/../../../evil.jpg", testing::encode_jpeg(32, 32, 1)});
  const std::string message = archive_error(members);
  EXPECT_NE(message.find("'set/train/cat/../../../evil.jpg'"), std::string::npos) << message;
  EXPECT_NE(message.find("'..'"), std::string::npos) << message;
}

TEST(ImageArchive, MemberWithAbsolutePathIsRefused) {
  auto members = testing::image_folder_members("set", kClasses, 1);
  members.push_back({"/tmp/evil.jpg", testing::encode_jpeg(32, 32, 1)});
  EXPECT_NE(archive_error(members).find("absolute path"), std::string::npos);
}

TEST(ImageArchive, SymlinkMemberIsRefused) {
  auto members = testing::image_folder_members("set", kClasses, 1);
  members.push_back({"set/train/cat/link.jpg", {}, true});
  EXPECT_NE(archive_error(members).find("set/train/cat/link.jpg: only regular files"),
            std::string::npos);
}

TEST(ImageArchive, TheSameMemberTwiceIsRefusedNamingIt) {
  auto members = testing::image_folder_members("set", kClasses, 1);
  members.push_back(members.front());  // would count its image twice
  const std::string message = archive_error(members);
  EXPECT_NE(message.find("set/train/cat/0.jpg: this member appears twice"), std::string::npos)
      << message;
}

TEST(ImageFolder, ClassFolderNameWithANewlineIsRefused) {
  TempDir dir;
  testing::write_members(dir / "pets", testing::image_folder_members("", {"cat", "bad\nname"}, 1));
  const std::string message = folder_error(dir / "pets");
  EXPECT_NE(message.find("class folders"), std::string::npos) << message;
  EXPECT_NE(message.find("control character 0x0a"), std::string::npos) << message;
}

TEST(ImageArchive, CorruptArchiveIsRefusedNamingIt) {
  auto bytes =
      testing::make_archive(testing::image_folder_members("set", kClasses, 2), ArchiveKind::tar_gz);
  bytes.resize(bytes.size() / 2);
  try {
    data::load_archive_memory(bytes.data(), bytes.size(), "half.tar.gz", {});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("half.tar.gz"), std::string::npos) << e.what();
  }
}

TEST(ImageArchive, ArchiveOfCifarBinaryLoadsAsCifar) {
  TempDir dir;
  testing::write_cifar10_dir(dir / "cifar-10-batches-bin", 2, 3);
  std::vector<Member> members;
  for (const auto& f : std::filesystem::directory_iterator(dir / "cifar-10-batches-bin")) {
    members.push_back(
        {"cifar-10-batches-bin/" + f.path().filename().string(), testing::read_file(f.path())});
  }
  const auto bytes = testing::make_archive(members, ArchiveKind::tar_gz);
  const auto ds =
      data::load_archive_memory(bytes.data(), bytes.size(), "cifar-10-binary.tar.gz", {});
  EXPECT_EQ(ds.name, "cifar10");
  EXPECT_EQ(ds.train.count, 10);
  EXPECT_EQ(ds.test.count, 3);
}

}  // namespace
}  // namespace cb
