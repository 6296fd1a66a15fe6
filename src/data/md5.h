// MD5 message digest (RFC 1321), for checking downloads against the published checksums.
// Not for security: CIFAR's archives are published with MD5 sums, so that is what we compare.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace cb::data {

class Md5 {
 public:
  Md5();
  void update(const void* data, std::size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  // Finishes the digest and returns it as 32 lowercase hex digits; the object is then spent.
  std::string hex_digest();

 private:
  void transform(const std::uint8_t block[64]);

  std::array<std::uint32_t, 4> state_;
  std::uint64_t length_bytes_ = 0;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
};

// The MD5 of a whole file, as 32 lowercase hex digits; InputError if it cannot be read.
std::string md5_file(const std::filesystem::path& path);

}  // namespace cb::data
