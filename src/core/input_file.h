// Reading an input file the user named: only regular files are read. A FIFO would block the
// reader forever, /dev/zero never ends and a directory is not data; each is refused naming the
// path and what it is, before any read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace cb {

// Opens `path` read-only (never blocking on a FIFO) and returns the descriptor, after checking
// that it is a regular file; `what` says what the file is for ("weights file"). Throws
// InputError naming the path otherwise. The caller closes the descriptor.
int open_regular_file(const std::filesystem::path& path, std::string_view what);

// The whole file, read through open_regular_file; files larger than max_bytes are refused.
std::string read_regular_file(const std::filesystem::path& path, std::string_view what,
                              std::uint64_t max_bytes = std::uint64_t{1} << 32);

}  // namespace cb
