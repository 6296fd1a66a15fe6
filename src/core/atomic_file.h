// Writing a file so that readers see the old contents or the new, never half: the text goes to
// a temporary file beside the target, is flushed to disk, then renamed over it.
#pragma once

#include <filesystem>
#include <string_view>

namespace cb {

// Writes `text` to `path` atomically. Throws InputError naming the path when the directory is
// missing or not writable, or the disk is full; the temporary file is removed on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

// fsync()s a file or directory (best effort): data written before it survives a power loss.
void sync_path(const std::filesystem::path& path);

}  // namespace cb
