// Fetching an archive over HTTP(S) or file:// with libcurl (retries with backoff, resume of a
// .part file, MD5 check) and extracting it safely (no absolute paths, no '..', no links).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cb::data {

struct DownloadOptions {
  std::string dataset = "cifar10";  // cifar10 or cifar100: picks the official URL and MD5
  std::string url;                  // empty: the official URL
  std::filesystem::path dir;        // empty: cache_dir()
  std::optional<std::string> md5;   // empty: the published MD5 of the official archive
  int retries = 4;                  // further attempts after a failed one
  double backoff_seconds = 1.0;     // wait before the first retry, doubled after each
  bool progress = true;             // a progress bar, drawn only when stderr is a terminal
};

struct DownloadResult {
  std::filesystem::path archive;      // DIR/cifar-10-binary.tar.gz, MD5 checked
  std::filesystem::path dataset_dir;  // DIR/cifar-10-batches-bin, extracted
  bool fetched = false;               // false when a checked archive was already there
};

// Downloads (unless DIR already holds the archive with the right MD5), checks, extracts.
// InputError (exit 2) for an HTTP error, an interrupted transfer after the last retry, a wrong
// MD5 or an unsafe archive; the archive name only ever holds a complete, checked file.
DownloadResult download_dataset(const DownloadOptions& options);

// Fetches `url` into `destination` through `destination`.part, resuming what a previous attempt
// left there. Throws InputError naming the URL when every attempt fails.
void fetch_url(const std::string& url, const std::filesystem::path& destination, int retries,
               double backoff_seconds, bool progress);

// Extracts the archive into `into` (created) through a temporary folder renamed at the end, so
// a refused or failed extraction leaves nothing behind. Returns the top-level names extracted.
std::vector<std::string> extract_archive_safely(const std::filesystem::path& archive,
                                                const std::filesystem::path& into);

bool can_download();  // whether this build has libcurl

}  // namespace cb::data
