// MD5 against the test suite in RFC 1321, appendix A.5.
#include <gtest/gtest.h>

#include "data/md5.h"
#include "fixtures.h"

namespace cb {
namespace {

std::string md5_of(const std::string& text) {
  data::Md5 md5;
  md5.update(text);
  return md5.hex_digest();
}

TEST(Md5, MatchesTheRfc1321TestSuite) {
  EXPECT_EQ(md5_of(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_of("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_of("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_of("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_of("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_of("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                   "7890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5, SplittingTheInputAnywhereGivesTheSameDigest) {
  const std::string text(1000, 'x');
  for (std::size_t cut : {1, 55, 56, 63, 64, 65, 999}) {
    data::Md5 md5;
    md5.update(text.substr(0, cut));
    md5.update(text.substr(cut));
    EXPECT_EQ(md5.hex_digest(), md5_of(text)) << cut;
  }
}

TEST(Md5, FileDigestEqualsTheDigestOfItsBytes) {
  testing::TempDir dir;
  testing::write_text(dir / "f.txt", "message digest");
  EXPECT_EQ(data::md5_file(dir / "f.txt"), "f96b697d7cb7938d525a2f31aaf161d0");
}

}  // namespace
}  // namespace cb
