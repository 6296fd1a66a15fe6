// Data resolution: --data, then CIFARBENCH_DATA, then the cache, then (not here) a download.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "data/resolve.h"
#include "fixtures.h"

namespace cb {
namespace {
using testing::TempDir;

// Sets or clears an environment variable for one test, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value.empty())
      unsetenv(name);
    else
      setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

data::DataRequest offline() {
  data::DataRequest r;
  r.allow_download = false;
  return r;
}

TEST(Resolve, DataFlagWinsOverTheEnvironment) {
  TempDir a, b;
  testing::write_cifar10_dir(a.path(), 1, 1);
  testing::write_cifar10_dir(b.path(), 2, 2);
  ScopedEnv env("CIFARBENCH_DATA", b.path().string());
  auto r = offline();
  r.path = a.path().string();
  EXPECT_EQ(data::resolve_dataset(r).train.count, 5);
}

TEST(Resolve, ADataPathWithTheSyntheticDatasetIsRefusedNotIgnored) {
  data::DataRequest r;
  r.dataset = "synthetic";
  r.path = "/nonexistent";
  try {
    data::resolve_dataset(r);
    FAIL() << "the path was ignored";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--data /nonexistent: the synthetic dataset"),
              std::string::npos)
        << e.what();
  }
}

TEST(Resolve, EnvironmentIsUsedWithoutTheFlag) {
  TempDir b;
  testing::write_cifar10_dir(b.path(), 2, 2);
  ScopedEnv env("CIFARBENCH_DATA", b.path().string());
  EXPECT_EQ(data::resolve_dataset(offline()).train.count, 10);
}

TEST(Resolve, CacheIsUsedWhenNothingElseIsGiven) {
  TempDir cache;
  testing::write_cifar10_dir(cache / "cifarbench/cifar-10-batches-bin", 3, 1);
  ScopedEnv env("CIFARBENCH_DATA", "");
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path().string());
  EXPECT_EQ(data::resolve_dataset(offline()).train.count, 15);
}

TEST(Resolve, NoDataAnywhereListsEveryWayToProvideIt) {
  TempDir cache;
  ScopedEnv env("CIFARBENCH_DATA", "");
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path().string());
  try {
    data::resolve_dataset(offline());
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string m = e.what();
    for (const char* way : {"--data PATH", "CIFARBENCH_DATA=PATH", "data download", "data import",
                            "--dataset synthetic"}) {
      EXPECT_NE(m.find(way), std::string::npos) << way << "\n" << m;
    }
  }
}

TEST(Resolve, MissingDataPathIsNamedWithTheFlag) {
  auto r = offline();
  r.path = "/no/such/place";
  try {
    data::resolve_dataset(r);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--data /no/such/place"), std::string::npos) << e.what();
  }
}

TEST(Resolve, SyntheticNeedsNoFiles) {
  auto r = offline();
  r.dataset = "synthetic";
  r.synthetic.train_count = 20;
  r.synthetic.test_count = 10;
  const auto ds = data::resolve_dataset(r);
  EXPECT_TRUE(ds.synthetic);
  EXPECT_EQ(ds.name, "synthetic");
}

TEST(Resolve, FolderHoldingOnlyTheExtractedCifarFolderLoadsIt) {
  TempDir dir;
  testing::write_cifar10_dir(dir / "cifar-10-batches-bin", 1, 1);
  EXPECT_EQ(data::load_dataset_at(dir.path(), offline()).name, "cifar10");
}

TEST(Resolve, UnknownDatasetNameIsRefused) {
  auto r = offline();
  r.dataset = "imagenet";
  EXPECT_THROW(data::resolve_dataset(r), InputError);
}

}  // namespace
TEST(EvenlySpaced, AClassSortedSplitKeepsEveryClassInProportion) {
  data::Split split;
  split.count = 100;  // 10 classes of 10, stored class by class; 2 bytes per image
  for (int i = 0; i < 100; ++i) {
    split.labels.push_back(i / 10);
    split.pixels.push_back(static_cast<std::uint8_t>(i));
    split.pixels.push_back(static_cast<std::uint8_t>(200));
  }
  const data::Split part = data::evenly_spaced(split, 2, 20);
  ASSERT_EQ(part.count, 20);
  ASSERT_EQ(part.labels.size(), 20u);
  ASSERT_EQ(part.pixels.size(), 40u);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(std::count(part.labels.begin(), part.labels.end(), c), 2) << c;
  EXPECT_EQ(part.pixels[2], 5);  // image 1 is the original image 5, pixels and label together
  EXPECT_EQ(part.labels[1], 0);
  EXPECT_EQ(part.pixels[3], 200);
  EXPECT_EQ(data::evenly_spaced(split, 2, 0).count, 100);    // 0: the whole split
  EXPECT_EQ(data::evenly_spaced(split, 2, 500).count, 100);  // more than there are: the whole split
}

}  // namespace cb
