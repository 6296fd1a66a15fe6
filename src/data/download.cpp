#include "data/download.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "data/image_folder.h"
#include "data/import.h"
#include "data/md5.h"
#include "data/official_archives.h"

#ifdef CIFARBENCH_HAVE_CURL
#include <curl/curl.h>
#endif
#ifdef CIFARBENCH_HAVE_ARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

namespace cb::data {
namespace fs = std::filesystem;

bool can_download() {
#ifdef CIFARBENCH_HAVE_CURL
  return true;
#else
  return false;
#endif
}

#ifdef CIFARBENCH_HAVE_CURL
namespace {

struct Transfer {
  std::FILE* file = nullptr;
  CURL* curl = nullptr;
  curl_off_t resume_from = 0;
  bool checked_status = false;
  bool draw_progress = false;
  std::string label;
  std::chrono::steady_clock::time_point last_draw{};
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->checked_status) {
    t->checked_status = true;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (t->resume_from > 0 && code == 200) {  // the server ignored the range: start over
      if (std::fflush(t->file) != 0 || ftruncate(fileno(t->file), 0) != 0) return 0;
      std::rewind(t->file);
      t->resume_from = 0;
    }
  }
  return std::fwrite(data, size, count, t->file) * size;
}

int draw_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->draw_progress) return 0;
  const auto clock = std::chrono::steady_clock::now();
  if (clock - t->last_draw < std::chrono::milliseconds(200) && (total == 0 || now < total))
    return 0;
  t->last_draw = clock;
  const double done_mb = static_cast<double>(now + t->resume_from) / 1e6;
  if (total > 0) {
    const double all = static_cast<double>(total + t->resume_from);
    const int percent = static_cast<int>(100.0 * static_cast<double>(now + t->resume_from) / all);
    const int bars = percent * 30 / 100;
    std::fprintf(stderr, "\r%s [%-30s] %3d%% %.1f/%.1f MB", t->label.c_str(),
                 std::string(static_cast<std::size_t>(bars), '#').c_str(), percent, done_mb,
                 all / 1e6);
  } else {
    std::fprintf(stderr, "\r%s %.1f MB", t->label.c_str(), done_mb);
  }
  return 0;
}

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One attempt. Returns the curl code; `http_status` is set for HTTP(S) URLs.
CURLcode attempt_fetch(const std::string& url, const fs::path& part, bool progress,
                       long& http_status) {
  std::error_code ec;
  const auto have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  Transfer t;
  t.file = std::fopen(part.c_str(), "ab");
  if (!t.file) throw InputError(fmt::format("{}: cannot open for writing", part.string()));
  t.curl = curl_easy_init();
  t.resume_from = static_cast<curl_off_t>(have);
  t.draw_progress = progress && isatty(STDERR_FILENO) && !cb::log::quiet();
  t.label = url.substr(url.find_last_of('/') + 1);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(t.curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(t.curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // abandon a stalled transfer
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "cifarbench");
  curl_easy_setopt(t.curl, CURLOPT_RESUME_FROM_LARGE, t.resume_from);
  curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, draw_progress);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
  const CURLcode code = curl_easy_perform(t.curl);
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &http_status);
  if (t.draw_progress) std::fprintf(stderr, "\n");
  curl_easy_cleanup(t.curl);
  const bool closed = std::fclose(t.file) == 0;
  if (code == CURLE_OK && !closed) throw InputError(fmt::format("{}: write failed", part.string()));
  if (code != CURLE_OK) spdlog::debug("{}: {}", url, error[0] ? error : curl_easy_strerror(code));
  return code;
}

bool is_retryable(CURLcode code, long http_status) {
  switch (code) {
    case CURLE_HTTP_RETURNED_ERROR:
      return http_status >= 500 || http_status == 408 || http_status == 429 || http_status == 416;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_FILE_COULDNT_READ_FILE:
    case CURLE_REMOTE_FILE_NOT_FOUND:
    case CURLE_WRITE_ERROR:
      return false;
    default:
      return true;
  }
}

}  // namespace

void fetch_url(const std::string& url, const fs::path& destination, int retries,
               double backoff_seconds, bool progress) {
  global_curl_init();
  const fs::path part = destination.string() + ".part";
  double wait = backoff_seconds;
  std::string last_error;
  for (int attempt = 0; attempt <= retries; ++attempt) {
    long http_status = 0;
    const CURLcode code = attempt_fetch(url, part, progress, http_status);
    if (code == CURLE_OK) {
      std::error_code ec;
      fs::rename(part, destination, ec);
      if (ec)
        throw InputError(
            fmt::format("{}: cannot rename into place: {}", destination.string(), ec.message()));
      return;
    }
    std::error_code ec;
    const auto have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
    last_error = code == CURLE_HTTP_RETURNED_ERROR
                     ? fmt::format("HTTP status {}", http_status)
                     : fmt::format("{} (after {} bytes)", curl_easy_strerror(code), have);
    if (code == CURLE_RANGE_ERROR || http_status == 416) fs::remove(part, ec);  // restart whole
    if (!is_retryable(code, http_status)) break;
    if (attempt < retries) {
      spdlog::warn("{}: {}; retrying in {:.1f} s ({} of {})", url, last_error, wait, attempt + 1,
                   retries);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      wait *= 2;
    }
  }
  std::error_code ec;
  const bool kept = fs::exists(part, ec) && fs::file_size(part, ec) > 0;
  throw InputError(fmt::format("download of {} failed: {}{}", url, last_error,
                               kept ? fmt::format(" (the partial file {} is kept; running the "
                                                  "download again resumes it)",
                                                  part.string())
                                    : ""));
}
#else
void fetch_url(const std::string& url, const fs::path&, int, double, bool) {
  throw Unsupported(
      fmt::format("cannot download {}: this build has no libcurl (rebuild with "
                  "libcurl4-openssl-dev, or fetch the archive yourself and pass "
                  "--data)",
                  url));
}
#endif

std::vector<std::string> extract_archive_safely(const fs::path& archive_path,
                                                const fs::path& into) {
#ifdef CIFARBENCH_HAVE_ARCHIVE
  std::error_code ec;
  fs::create_directories(into, ec);
  if (ec) throw InputError(fmt::format("{}: cannot create: {}", into.string(), ec.message()));
  const fs::path temp = into / fmt::format(".extract-{}", ::getpid());
  fs::remove_all(temp, ec);
  fs::create_directories(temp);
  std::vector<std::string> top_level;
  try {
    std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_format_zip(a.get());
    if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 20) != ARCHIVE_OK) {
      throw InputError(fmt::format("{}: cannot open as an archive: {}", archive_path.string(),
                                   archive_error_string(a.get())));
    }
    archive_entry* entry = nullptr;
    int r;
    while ((r = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      const char* raw = archive_entry_pathname(entry);
      const std::string name = raw ? raw : "";
      const auto parts = safe_member_components(name, archive_path.string());
      if (parts.empty()) continue;
      fs::path target = temp;
      for (const auto& p : parts) target /= p;
      const auto type = archive_entry_filetype(entry);
      if (type == AE_IFDIR) {
        fs::create_directories(target);
      } else if (type == AE_IFREG) {
        fs::create_directories(target.parent_path());
        std::ofstream out(target, std::ios::binary | std::ios::trunc);
        char chunk[1 << 16];
        la_ssize_t n;
        while ((n = archive_read_data(a.get(), chunk, sizeof chunk)) > 0) out.write(chunk, n);
        if (n < 0) {
          throw InputError(fmt::format("{}:{}: cannot read member: {}", archive_path.string(), name,
                                       archive_error_string(a.get())));
        }
        out.close();
        if (!out) throw InputError(fmt::format("{}: write failed", target.string()));
      } else {
        throw InputError(fmt::format("{}: member '{}' is a link or special file (refused)",
                                     archive_path.string(), name));
      }
      if (std::find(top_level.begin(), top_level.end(), parts[0]) == top_level.end()) {
        top_level.push_back(parts[0]);
      }
    }
    if (r != ARCHIVE_EOF) {
      throw InputError(fmt::format("{}: corrupt archive: {}", archive_path.string(),
                                   archive_error_string(a.get())));
    }
    for (const auto& name : top_level) {  // replace earlier extractions of the same names
      fs::remove_all(into / name);
      fs::rename(temp / name, into / name);
    }
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
  fs::remove_all(temp, ec);
  return top_level;
#else
  (void)into;
  throw Unsupported(
      fmt::format("{}: this build cannot extract archives (no libarchive)", archive_path.string()));
#endif
}

DownloadResult download_dataset(const DownloadOptions& options) {
  const OfficialArchive& official = official_archive_for(options.dataset);
  DownloadResult result;
  const fs::path dir = options.dir.empty() ? cache_dir() : options.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(fmt::format("--dir {}: cannot create: {}", dir.string(), ec.message()));
  const std::string url = options.url.empty() ? official.url : options.url;
  const std::string expected = options.md5.value_or(official.md5);
  result.archive = dir / official.file_name;
  if (!(fs::exists(result.archive, ec) && md5_file(result.archive) == expected)) {
    fs::remove(result.archive, ec);
    const fs::path unchecked = dir / (official.file_name + ".unchecked");
    spdlog::info("downloading {} into {}", url, dir.string());
    fetch_url(url, unchecked, options.retries, options.backoff_seconds, options.progress);
    const std::string got = md5_file(unchecked);
    if (got != expected) {
      fs::remove(unchecked, ec);
      throw InputError(fmt::format("{} (from {}): MD5 is {}, expected {}; the file was deleted",
                                   result.archive.string(), url, got, expected));
    }
    fs::rename(unchecked, result.archive);
    result.fetched = true;
  }
  const auto top = extract_archive_safely(result.archive, dir);
  result.dataset_dir = dir / official.extracted_dir;
  if (!fs::is_directory(result.dataset_dir, ec)) {
    if (top.size() == 1 && fs::is_directory(dir / top[0], ec)) {
      result.dataset_dir = dir / top[0];
    } else {
      throw InputError(fmt::format("{}: expected the archive to hold the folder {}",
                                   result.archive.string(), official.extracted_dir));
    }
  }
  write_checksum_manifest(result.dataset_dir, official.dataset, url);
  return result;
}

}  // namespace cb::data
