// Decoding one JPEG (libjpeg-turbo) or PNG (libpng) held in memory into 8-bit RGB, strictly:
// a decoder warning (truncated data, bad Huffman code) is an error, not a grey patch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cb::data {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  // height × width × 3, interleaved, rows top to bottom
};

enum class ImageFormat { jpeg, png, unknown };

// By file extension, case-insensitively: .jpg/.jpeg, .png.
ImageFormat image_format_from_name(std::string_view file_name);

// Decodes by content (magic bytes). Grey and palette images become RGB, 16-bit PNG is scaled to
// 8 bits; PNG with alpha (an alpha channel or tRNS), CMYK JPEG and images larger than
// 4096×4096 are refused. InputError names `name`.
RgbImage decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// Writes the image planar (all R, then G, then B) into `out` (3 × height × width bytes),
// resampling bilinearly (pixel centres aligned) when the size differs.
void write_planar(const RgbImage& image, int height, int width, std::uint8_t* out);

// Whether this build can decode the format (libjpeg-turbo / libpng are optional dependencies).
bool can_decode(ImageFormat format);

}  // namespace cb::data
