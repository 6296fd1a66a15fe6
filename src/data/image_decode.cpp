#include "data/image_decode.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "core/error.h"

#ifdef CIFARBENCH_HAVE_JPEG
#include <jpeglib.h>
#endif
#ifdef CIFARBENCH_HAVE_PNG
#include <png.h>
#endif

namespace cb::data {
namespace {
constexpr int kMaxSide = 4096;  // far above any classification dataset; bounds memory per image

#ifdef CIFARBENCH_HAVE_JPEG
struct JpegErrorState {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<JpegErrorState*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

// Warnings (level -1) mean corrupt data that libjpeg would paper over: refuse instead.
void jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0) jpeg_fail(cinfo);
}

// Plain C-style body: no C++ objects with destructors live between setjmp and longjmp.
bool decode_jpeg(const std::uint8_t* bytes, std::size_t size, RgbImage& out, char* error) {
  jpeg_decompress_struct cinfo;
  JpegErrorState err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_message;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    std::snprintf(error, JMSG_LENGTH_MAX, "%s", err.message);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, const_cast<unsigned char*>(bytes), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    std::snprintf(error, JMSG_LENGTH_MAX, "CMYK JPEG is not supported (expected RGB or grey)");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  if (cinfo.image_width > kMaxSide || cinfo.image_height > kMaxSide) {
    std::snprintf(error, JMSG_LENGTH_MAX, "image is %u×%u, larger than %d×%d", cinfo.image_width,
                  cinfo.image_height, kMaxSide, kMaxSide);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out.width = static_cast<int>(cinfo.output_width);
  out.height = static_cast<int>(cinfo.output_height);
  out.rgb.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.rgb.data() + static_cast<std::size_t>(cinfo.output_scanline) * out.width * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}
#endif

#ifdef CIFARBENCH_HAVE_PNG
struct PngSource {
  const std::uint8_t* bytes;
  std::size_t size;
  std::size_t pos;
  char message[256];
};

void png_fail(png_structp png, png_const_charp message) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->message, sizeof src->message, "%s", message);
  png_longjmp(png, 1);
}

void png_ignore_warning(png_structp, png_const_charp) {}  // e.g. a harmless iCCP remark

void png_read_memory(png_structp png, png_bytep data, png_size_t length) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (src->size - src->pos < length) png_error(png, "file is truncated");
  std::memcpy(data, src->bytes + src->pos, length);
  src->pos += length;
}

bool decode_png(const std::uint8_t* bytes, std::size_t size, RgbImage& out, char* error,
                std::size_t error_size) {
  // The size is in the IHDR chunk, at a fixed offset: refuse a large image before libpng does
  // (its own limit reports "Invalid IHDR data", as if the file were corrupt).
  if (size >= 24 && std::memcmp(bytes + 12, "IHDR", 4) == 0) {
    const auto be32 = [&](std::size_t at) {
      return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
             (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
    };
    const std::uint32_t width = be32(16), height = be32(20);
    if (width > static_cast<std::uint32_t>(kMaxSide) || height > static_cast<std::uint32_t>(kMaxSide)) {
      std::snprintf(error, error_size, "image is %u×%u, larger than %d×%d", width, height, kMaxSide,
                    kMaxSide);
      return false;
    }
  }
  PngSource src{bytes, size, 0, {0}};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    std::snprintf(error, error_size, "out of memory");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  std::vector<png_bytep>* rows = new std::vector<png_bytep>();  // freed on both paths below
  if (setjmp(png_jmpbuf(png))) {
    std::snprintf(error, error_size, "%s", src.message);
    png_destroy_read_struct(&png, &info, nullptr);
    delete rows;
    return false;
  }
  png_set_user_limits(png, kMaxSide, kMaxSide);
  png_set_read_fn(png, &src, png_read_memory);
  png_read_info(png, info);
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) {
    png_error(png, "PNG with alpha (transparency) is refused: convert it to RGB first");
  }
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (color == PNG_COLOR_TYPE_GRAY) png_set_gray_to_rgb(png);
  if (depth == 16) png_set_scale_16(png);  // rounds to the nearest 8-bit value
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out.width = static_cast<int>(png_get_image_width(png, info));
  out.height = static_cast<int>(png_get_image_height(png, info));
  if (png_get_rowbytes(png, info) != static_cast<std::size_t>(out.width) * 3) {
    png_error(png, "unexpected PNG pixel format after conversion to RGB");
  }
  out.rgb.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  rows->resize(static_cast<std::size_t>(out.height));
  for (int y = 0; y < out.height; ++y) {
    (*rows)[static_cast<std::size_t>(y)] =
        out.rgb.data() + static_cast<std::size_t>(y) * out.width * 3;
  }
  png_read_image(png, rows->data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  delete rows;
  return true;
}
#endif

bool ends_with_icase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    const char a = s[s.size() - suffix.size() + i];
    if (std::tolower(static_cast<unsigned char>(a)) != suffix[i]) return false;
  }
  return true;
}
}  // namespace

ImageFormat image_format_from_name(std::string_view file_name) {
  if (ends_with_icase(file_name, ".jpg") || ends_with_icase(file_name, ".jpeg")) {
    return ImageFormat::jpeg;
  }
  if (ends_with_icase(file_name, ".png")) return ImageFormat::png;
  return ImageFormat::unknown;
}

bool can_decode(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg:
#ifdef CIFARBENCH_HAVE_JPEG
      return true;
#else
      return false;
#endif
    case ImageFormat::png:
#ifdef CIFARBENCH_HAVE_PNG
      return true;
#else
      return false;
#endif
    case ImageFormat::unknown:
      return false;
  }
  return false;
}

RgbImage decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  static constexpr std::uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  RgbImage image;
  char error[256] = {0};
  bool ok = false;
  if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) {
#ifdef CIFARBENCH_HAVE_JPEG
    ok = decode_jpeg(bytes, size, image, error);
#else
    throw Unsupported(
        fmt::format("{}: this build has no JPEG support (rebuild with libjpeg-turbo)", name));
#endif
  } else if (size >= 8 && std::memcmp(bytes, kPngMagic, 8) == 0) {
#ifdef CIFARBENCH_HAVE_PNG
    ok = decode_png(bytes, size, image, error, sizeof error);
#else
    throw Unsupported(fmt::format("{}: this build has no PNG support (rebuild with libpng)", name));
#endif
  } else {
    throw InputError(fmt::format("{}: not a JPEG or PNG image (unrecognised first bytes)", name));
  }
  if (!ok) throw InputError(fmt::format("{}: corrupt or unsupported image: {}", name, error));
  if (image.width <= 0 || image.height <= 0) {
    throw InputError(fmt::format("{}: image has no pixels", name));
  }
  return image;
}

void write_planar(const RgbImage& image, int height, int width, std::uint8_t* out) {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  if (image.height == height && image.width == width) {
    for (std::size_t p = 0; p < plane; ++p) {
      out[p] = image.rgb[3 * p];
      out[plane + p] = image.rgb[3 * p + 1];
      out[2 * plane + p] = image.rgb[3 * p + 2];
    }
    return;
  }
  const double sy = static_cast<double>(image.height) / height;
  const double sx = static_cast<double>(image.width) / width;
  for (int y = 0; y < height; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, image.height - 1.0);
    const int y0 = static_cast<int>(fy);
    const int y1 = std::min(y0 + 1, image.height - 1);
    const double wy = fy - y0;
    for (int x = 0; x < width; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, image.width - 1.0);
      const int x0 = static_cast<int>(fx);
      const int x1 = std::min(x0 + 1, image.width - 1);
      const double wx = fx - x0;
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int yy, int xx) {
          return static_cast<double>(
              image.rgb[(static_cast<std::size_t>(yy) * image.width + xx) * 3 + c]);
        };
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                         wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        out[c * plane + static_cast<std::size_t>(y) * width + x] =
            static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
}

}  // namespace cb::data
