// `cifarbench data download` against a real HTTP server on 127.0.0.1 and file:// URLs.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>

#include "data/md5.h"
#include "fixtures.h"
#include "support/run_process.h"

namespace cb {
namespace {
using testing::run_cifarbench;
using testing::TempDir;
namespace fs = std::filesystem;

// Serves a folder; mode "close-once" sends half of the first response and hangs up, later
// requests honour Range. Every request is logged to requests.log as "PATH RANGE".
constexpr const char* kServerScript = R"PY(
import http.server, os, sys
root, mode = sys.argv[1], sys.argv[2]
state = {"closed": False}
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        rng = self.headers.get("Range")
        with open(os.path.join(root, "requests.log"), "a") as log:
            log.write("%s %s\n" % (self.path, rng))
        path = os.path.join(root, self.path.lstrip("/"))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        if mode == "close-once" and not state["closed"]:
            state["closed"] = True
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        start = int(rng[6:].split("-")[0]) if rng and rng.startswith("bytes=") else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
)PY";

// A python3 HTTP server on a free port, stopped (by its own pid) when the test ends.
class HttpServer {
 public:
  HttpServer(const fs::path& root, const std::string& mode) : root_(root) {
    testing::write_text(root / "server.py", kServerScript);
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      const std::string script = (root / "server.py").string();
      const std::string dir = root.string();
      execlp("python3", "python3", script.c_str(), dir.c_str(), mode.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    if (f && std::fscanf(f, "%d", &port_) != 1) port_ = 0;
    if (f) std::fclose(f);
  }
  ~HttpServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string url(const std::string& file) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + file;
  }
  std::string requests() const {
    const auto b = testing::read_file(root_ / "requests.log");
    return std::string(b.begin(), b.end());
  }
  int port() const { return port_; }

 private:
  fs::path root_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A small archive laid out like the official cifar-10-binary.tar.gz.
testing::Bytes fake_official_archive(std::vector<testing::Member> extra = {}) {
  TempDir dir;
  testing::write_cifar10_dir(dir.path(), 30, 20);  // ~600 KB, enough to be cut in half
  std::vector<testing::Member> members;
  for (const auto& f : fs::directory_iterator(dir.path())) {
    members.push_back(
        {"cifar-10-batches-bin/" + f.path().filename().string(), testing::read_file(f.path())});
  }
  members.insert(members.end(), extra.begin(), extra.end());
  return testing::make_archive(members, testing::ArchiveKind::tar_gz);
}

std::string md5_of(const testing::Bytes& bytes) {
  data::Md5 md5;
  md5.update(bytes.data(), bytes.size());
  return md5.hex_digest();
}

struct DownloadFixture : ::testing::Test {
  TempDir served, cache;
  testing::Bytes archive = fake_official_archive();
  void SetUp() override { testing::write_file(served / "c10.tar.gz", archive); }
  testing::ProcessResult download(const std::string& url, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {
        "data",  "download",      "--url",     url, "--dir", cache.path().string(),
        "--md5", md5_of(archive), "--backoff", "0"};
    args.insert(args.end(), more.begin(), more.end());
    return run_cifarbench(args);
  }
};

TEST_F(DownloadFixture, HttpDownloadIsCheckedAndExtracted) {
  HttpServer server(served.path(), "normal");
  ASSERT_GT(server.port(), 0);
  const auto r = download(server.url("c10.tar.gz"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::read_file(cache / "cifar-10-binary.tar.gz"), archive);
  EXPECT_TRUE(fs::exists(cache / "cifar-10-batches-bin/data_batch_5.bin"));
  const auto info = run_cifarbench({"data", "info", (cache / "cifar-10-batches-bin").string()});
  EXPECT_NE(info.out.find("train    150 images"), std::string::npos) << info.out << info.err;
}

TEST_F(DownloadFixture, FileUrlWorks) {
  const auto r = download("file://" + (served / "c10.tar.gz").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(cache / "cifar-10-batches-bin/test_batch.bin"));
}

TEST_F(DownloadFixture, WithoutDirItFillsTheCacheWhereOtherCommandsFindIt) {
  const std::vector<std::string> env = {"CIFARBENCH_DATA=",
                                        "XDG_CACHE_HOME=" + cache.path().string()};
  const auto r =
      run_cifarbench({"data", "download", "--url", "file://" + (served / "c10.tar.gz").string(),
                      "--md5", md5_of(archive)},
                     env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(cache / "cifarbench/cifar-10-batches-bin/data_batch_1.bin"));
  const auto info = run_cifarbench({"data", "info"}, env);
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("cifarbench/cifar-10-batches-bin"), std::string::npos) << info.out;
}

TEST_F(DownloadFixture, NotFoundExits2NamingTheUrlAndStatus) {
  HttpServer server(served.path(), "normal");
  const auto r = download(server.url("missing.tar.gz"), {"--retries", "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.tar.gz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP status 404"), std::string::npos) << r.err;
  EXPECT_EQ(server.requests(), "/missing.tar.gz None\n") << "a 404 is not retried";
  EXPECT_FALSE(fs::exists(cache / "cifar-10-binary.tar.gz"));
}

TEST_F(DownloadFixture, MissingFileUrlExits2) {
  const auto r = download("file://" + (served / "nope.tar.gz").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.tar.gz"), std::string::npos) << r.err;
}

TEST_F(DownloadFixture, ServerClosingMidTransferIsRetriedWithResume) {
  HttpServer server(served.path(), "close-once");
  const auto r = download(server.url("c10.tar.gz"), {"--retries", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::read_file(cache / "cifar-10-binary.tar.gz"), archive);
  const std::string log = server.requests();
  EXPECT_NE(
      log.find("/c10.tar.gz None\n/c10.tar.gz bytes=" + std::to_string(archive.size() / 2) + "-"),
      std::string::npos)
      << log;
}

TEST_F(DownloadFixture, ServerClosingMidTransferWithoutRetriesExits2AndLeavesNoArchive) {
  HttpServer server(served.path(), "close-once");
  const auto r = download(server.url("c10.tar.gz"), {"--retries", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("c10.tar.gz"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(cache / "cifar-10-binary.tar.gz"));
  EXPECT_FALSE(fs::exists(cache / "cifar-10-batches-bin"));
  // The next run resumes the kept partial file instead of starting over.
  const auto again = download(server.url("c10.tar.gz"), {"--retries", "0"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(testing::read_file(cache / "cifar-10-binary.tar.gz"), archive);
  EXPECT_NE(server.requests().find("bytes=" + std::to_string(archive.size() / 2) + "-"),
            std::string::npos);
}

TEST_F(DownloadFixture, WrongMd5Exits2AndDeletesTheFile) {
  const auto r =
      run_cifarbench({"data", "download", "--url", "file://" + (served / "c10.tar.gz").string(),
                      "--dir", cache.path().string()});  // the published MD5 cannot match
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected c32a1d4ab5d03f1284b67883e8d87530"), std::string::npos) << r.err;
  for (const auto& e : fs::directory_iterator(cache.path()))
    ADD_FAILURE() << "left behind: " << e.path();
}

TEST_F(DownloadFixture, ArchiveWithDotDotMemberIsRefusedAndNothingExtracted) {
  archive = fake_official_archive({{"cifar-10-batches-bin/../../escape.txt", {'x'}}});
  testing::write_file(served / "c10.tar.gz", archive);
  const auto r = download("file://" + (served / "c10.tar.gz").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'..'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(cache / "cifar-10-batches-bin"));
  EXPECT_FALSE(fs::exists(cache.path().parent_path() / "escape.txt"));
  for (const auto& e : fs::directory_iterator(cache.path())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".extract")) << e.path();
  }
}

}  // namespace
}  // namespace cb
