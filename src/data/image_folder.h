// Image-folder datasets: ROOT/<split>/<class>/*.{jpg,jpeg,png} as a directory, or as a .tar,
// .tar.gz/.tgz or .zip archive read in memory with libarchive (nothing is extracted to disk).
// Images are decoded on every core. An archive holding CIFAR binary files loads as CIFAR.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/cifar_binary.h"
#include "data/dataset.h"

namespace cb::data {

struct ImageFolderOptions {
  std::vector<std::string> classes;  // label order; empty: class folders sorted by name
  std::optional<int> resize;         // square side to resample to; unset: other sizes are refused
  int decode_threads = 0;            // 0: one per core
  Cifar100Labels cifar100_labels = Cifar100Labels::fine;  // for archives holding CIFAR-100
};

// ROOT is the folder holding train/ and test/, or a folder whose only subfolder is that.
Dataset load_image_folder(const std::filesystem::path& root, const ImageFolderOptions& options);
// An archive file; InputError names the archive and the member at fault.
Dataset load_archive(const std::filesystem::path& archive, const ImageFolderOptions& options);
// The same from bytes in memory (`name` stands for the archive in messages); used by the fuzzer.
Dataset load_archive_memory(const void* bytes, std::size_t size, const std::string& name,
                            const ImageFolderOptions& options);

// .tar, .tar.gz, .tgz or .zip, by name.
bool is_archive_path(const std::filesystem::path& path);
// Whether this build reads archives (libarchive is an optional dependency).
bool can_read_archives();

// Splits a member path into components; InputError if it is absolute or has a '..' component.
std::vector<std::string> safe_member_components(const std::string& member,
                                                const std::string& archive);

}  // namespace cb::data
