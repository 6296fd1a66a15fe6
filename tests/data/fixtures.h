// Small real files for the data tests: temporary folders, CIFAR records, JPEG and PNG encoders,
// and tar/zip archives written with libarchive (including the malicious kinds).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <jpeglib.h>
#include <png.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/cifar_binary.h"

#include "support/temp_dir.h"

namespace cb::testing {
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

inline void write_file(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const fs::path& path, const std::string& text) {
  write_file(path, Bytes(text.begin(), text.end()));
}

inline Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// `count` CIFAR records; record r has label(s) `labels_of(r)` and pixels filled with r + k.
inline Bytes cifar_records(int count, int classes, int label_bytes = 1) {
  Bytes out;
  for (int r = 0; r < count; ++r) {
    for (int k = 0; k < label_bytes; ++k) out.push_back(static_cast<std::uint8_t>(r % classes));
    for (std::size_t p = 0; p < data::kCifarPixelBytes; ++p) {
      out.push_back(static_cast<std::uint8_t>((r * 7 + p) % 251));
    }
  }
  return out;
}

// A complete small CIFAR-10 folder: `per_batch` records in each of the five train batches.
inline void write_cifar10_dir(const fs::path& dir, int per_batch = 4, int test = 5) {
  for (int b = 1; b <= 5; ++b) {
    write_file(dir / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records(per_batch, 10));
  }
  write_file(dir / "test_batch.bin", cifar_records(test, 10));
  write_text(dir / "batches.meta.txt",
             "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
}

// A solid-colour-ish RGB image with a gradient, so resizes and decodes are checkable.
inline Bytes test_rgb(int width, int height, int seed) {
  Bytes rgb(static_cast<std::size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        rgb[(static_cast<std::size_t>(y) * width + x) * 3 + c] =
            static_cast<std::uint8_t>((seed * 40 + c * 60 + x * 2 + y) % 256);
      }
    }
  }
  return rgb;
}

inline Bytes encode_jpeg(int width, int height, int seed, int quality = 95) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const Bytes rgb = test_rgb(width, height, seed);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<std::uint8_t*>(rgb.data()) + cinfo.next_scanline * width * 3;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

// PNG with the given colour type (PNG_COLOR_TYPE_RGB, _RGBA, _GRAY) and bit depth (8 or 16).
// Each sample holds test_rgb's value (16-bit samples hold v * 257, i.e. the same intensity).
inline Bytes encode_png(int width, int height, int seed, int color_type = PNG_COLOR_TYPE_RGB,
                        int depth = 8) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t n) {
        auto* v = static_cast<Bytes*>(png_get_io_ptr(p));
        v->insert(v->end(), data, data + n);
      },
      nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), depth,
               color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const int channels = color_type == PNG_COLOR_TYPE_RGBA   ? 4
                       : color_type == PNG_COLOR_TYPE_GRAY ? 1
                                                           : 3;
  const Bytes rgb = test_rgb(width, height, seed);
  Bytes row;
  for (int y = 0; y < height; ++y) {
    row.clear();
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const std::uint8_t v = c < 3 ? rgb[(static_cast<std::size_t>(y) * width + x) * 3 + c] : 255;
        row.push_back(v);
        if (depth == 16) row.push_back(v);  // big-endian v * 257
      }
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

struct Member {
  std::string name;
  Bytes bytes;
  bool symlink = false;
};

enum class ArchiveKind { tar, tar_gz, zip };

inline Bytes make_archive(const std::vector<Member>& members, ArchiveKind kind) {
  archive* a = archive_write_new();
  if (kind == ArchiveKind::zip) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    if (kind == ArchiveKind::tar_gz) archive_write_add_filter_gzip(a);
  }
  std::vector<std::uint8_t> buffer(64 << 20);
  std::size_t used = 0;
  archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    if (m.symlink) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, "/etc/passwd");
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, static_cast<la_int64_t>(m.bytes.size()));
    }
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    if (!m.symlink) archive_write_data(a, m.bytes.data(), m.bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  buffer.resize(used);
  return buffer;
}

// Members for a two-split image folder: `per_class` train and 1 test image in each class.
inline std::vector<Member> image_folder_members(const std::string& root,
                                                const std::vector<std::string>& classes,
                                                int per_class, int side = 32) {
  std::vector<Member> members;
  int seed = 0;
  for (const char* split : {"train", "test"}) {
    const int n = std::string(split) == "train" ? per_class : 1;
    for (const auto& c : classes) {
      for (int i = 0; i < n; ++i) {
        const std::string prefix = root.empty() ? "" : root + "/";
        members.push_back({prefix + split + "/" + c + "/" + std::to_string(i) + ".jpg",
                           encode_jpeg(side, side, seed++)});
      }
    }
  }
  return members;
}

inline void write_members(const fs::path& dir, const std::vector<Member>& members) {
  for (const auto& m : members) write_file(dir / m.name, m.bytes);
}

}  // namespace cb::testing
