// `cifarbench report` as a real child process: formats, bad input, gnuplot figures, and the
// HTML report rendered in headless Chromium.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "results/sample_results.h"
#include "support/run_process.h"

namespace cb {
namespace {
using testing::PlausibleStudy;
using testing::run_cifarbench;
using testing::run_process;
using testing::TempDir;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void fill(const std::filesystem::path& dir, const PlausibleStudy& spec = {}) {
  auto store = results::ResultsStore::open(dir);
  testing::fill_plausible_results(store, spec);
}

bool executable(const char* path) { return ::access(path, X_OK) == 0; }

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(ReportCommand, ConsoleFormatPrintsTheTablesToStandardOutput) {
  TempDir tmp;
  fill(tmp.path());
  const auto r = run_cifarbench({"report", tmp.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Table 1. Test accuracy (%)"), std::string::npos);
  EXPECT_NE(r.out.find("Table 8. Framework comparisons"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "report"));
}

TEST(ReportCommand, AMissingResultsDirectoryExits2NamingIt) {
  TempDir tmp;
  const auto missing = (tmp.path() / "nowhere").string();
  const auto r = run_cifarbench({"report", missing});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
}

TEST(ReportCommand, ANewerSchemaExits2NamingTheFileAndBothVersions) {
  TempDir tmp;
  fill(tmp.path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((tmp.path() / "results.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 2", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  const auto r = run_cifarbench({"report", tmp.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("results.sqlite"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("version 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("up to 1"), std::string::npos) << r.err;
}

TEST(ReportCommand, AnUnknownFormatExits2ListingTheFormats) {
  TempDir tmp;
  fill(tmp.path());
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "pdf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("html"), std::string::npos) << r.err;
}

TEST(ReportCommand, ReadsCommittedResultsWhileAWriterHoldsAnOpenTransaction) {
  TempDir tmp;
  fill(tmp.path());
  // A `run` in the middle of an epoch: a write transaction open and uncommitted.
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open((tmp.path() / "results.sqlite").c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer,
                         "BEGIN IMMEDIATE; UPDATE trials SET status = 'running' "
                         "WHERE status = 'completed'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const auto r = run_cifarbench(
      {"report", tmp.path().string(), "--format", "json", "--out", (tmp.path() / "out").string()});
  sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(writer);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read(tmp.path() / "out" / "report.json").find("\"completed\": 6"), std::string::npos);
}

TEST(ReportCommand, MarkdownWithGnuplotWritesEveryFigureAsSvgAndPng) {
  if (!executable("/usr/bin/gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  TempDir tmp;
  fill(tmp.path());
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "md"},
                                {"CIFARBENCH_GNUPLOT=/usr/bin/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto figures = tmp.path() / "report" / "figures";
  for (const char* id :
       {"fig1_accuracy", "fig2_training_time", "fig3_gpu_utilization", "fig4_learning_curve_epochs",
        "fig5_learning_curve_time", "fig6_utilization_timeline"}) {
    const std::string svg = read(figures / (std::string(id) + ".svg"));
    const std::string png = read(figures / (std::string(id) + ".png"));
    EXPECT_NE(svg.find("<svg"), std::string::npos) << id;
    ASSERT_GT(png.size(), 1000u) << id;
    EXPECT_EQ(png.substr(1, 3), "PNG") << id;
  }
  const std::string md = read(tmp.path() / "report" / "report.md");
  EXPECT_NE(md.find("![Fig. 1. Test accuracy"), std::string::npos);
}

TEST(ReportCommand, WithoutGnuplotHtmlStillHasTablesAndSaysFiguresWereSkipped) {
  TempDir tmp;
  fill(tmp.path());
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "html"},
                                {"CIFARBENCH_GNUPLOT=/nonexistent"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("figures were skipped"), std::string::npos) << r.err;
  const std::string html = read(tmp.path() / "report" / "report.html");
  EXPECT_NE(html.find("Table 1. Test accuracy"), std::string::npos);
  EXPECT_NE(html.find("figures were skipped"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
}

TEST(ReportCommand, AGnuplotThatNeverFinishesIsKilledAndTheReportStillWritten) {
  TempDir tmp;
  fill(tmp.path());
  const auto stuck = tmp.path() / "stuck-gnuplot";
  std::ofstream(stuck) << "#!/bin/sh\nexec sleep 600\n";
  std::filesystem::permissions(stuck, std::filesystem::perms::owner_all);
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "html"},
                                {"CIFARBENCH_GNUPLOT=" + stuck.string(),
                                 "CIFARBENCH_GNUPLOT_TIMEOUT_S=0.2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read(tmp.path() / "report" / "report.html");
  EXPECT_NE((r.err + html).find("did not finish within 0.2 s and was killed"), std::string::npos)
      << r.err;
  EXPECT_NE(html.find("Table 1. Test accuracy"), std::string::npos);
}

TEST(ReportCommand, WithGnuplotAbsentFromPathFiguresAreSkipped) {
  TempDir tmp;
  fill(tmp.path());
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "md"},
                                {"PATH=/nonexistent-bin", "CIFARBENCH_GNUPLOT="});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read(tmp.path() / "report" / "report.md").find("gnuplot not found on PATH"),
            std::string::npos);
}

// Width and height from a PNG's IHDR chunk.
std::pair<unsigned, unsigned> png_size(const std::string& png) {
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(png[at + 3]));
  };
  if (png.size() < 24) return {0, 0};
  return {be32(16), be32(20)};
}

std::vector<std::string> chromium_args(const std::filesystem::path& profile) {
  return {"/usr/bin/chromium",
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--user-data-dir=" + profile.string(),
          "--window-size=1280,2000"};
}

TEST(ReportCommand, HtmlReportRendersInHeadlessChromiumWithTablesAndFigures) {
  if (!executable("/usr/bin/chromium")) GTEST_SKIP() << "/usr/bin/chromium is not installed";
  if (!executable("/usr/bin/gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  TempDir tmp;
  PlausibleStudy spec;
  spec.synthetic = true;
  fill(tmp.path(), spec);
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "html"},
                                {"CIFARBENCH_GNUPLOT=/usr/bin/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string url = "file://" + (tmp.path() / "report" / "report.html").string();

  auto dump = chromium_args(tmp.path() / "profile-dom");
  dump.push_back("--dump-dom");
  dump.push_back(url);
  const auto dom = run_process(dump);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_NE(dom.out.find("Table 1. Test accuracy (%)"), std::string::npos);
  EXPECT_NE(dom.out.find("Table 3. GPU utilization (%)"), std::string::npos);
  EXPECT_NE(dom.out.find("id=\"synthetic-banner\""), std::string::npos);
  EXPECT_GE(occurrences(dom.out, "<table"), 10u);
  // Synthetic data: the accuracy figures (1, 4, 5) are withheld, with the reason in the page;
  // training time, utilization, the telemetry timeline and MFU remain.
  EXPECT_EQ(occurrences(dom.out, "<img "), 4u);
  EXPECT_EQ(occurrences(dom.out, "src=\"data:image/svg+xml;base64,"), 4u);
  EXPECT_NE(dom.out.find("Accuracy withheld: these trials ran on synthetic data"), std::string::npos);

  const auto screenshot = tmp.path() / "screenshot.png";
  auto shot = chromium_args(tmp.path() / "profile-shot");
  shot.push_back("--screenshot=" + screenshot.string());
  shot.push_back(url);
  const auto s = run_process(shot);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const std::string png = read(screenshot);
  EXPECT_EQ(png_size(png), std::make_pair(1280u, 2000u));
  EXPECT_GT(png.size(), 50000u);  // a blank page compresses to a few kB
  if (const char* keep = std::getenv("CIFARBENCH_KEEP_SCREENSHOT")) {
    std::filesystem::copy_file(screenshot, keep, std::filesystem::copy_options::overwrite_existing);
  }
}

// Appended to a copy of the report: measures the laid-out page in the browser and posts what
// it found to the page framing it.
constexpr const char* kLayoutProbe = R"js(
<script>
window.addEventListener('load', () => {
  const vw = document.documentElement.clientWidth;
  const out = {viewport: vw, page: document.documentElement.scrollWidth, overflowing: [],
               boxes: 0, scrolling: 0, images: [], unboxed_tables: 0};
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.closest('.scroll');
    if (box && box !== el) continue;  // inside a scrolling box, wider content is expected
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1) out.overflowing.push(el.tagName + ':' + Math.round(r.right));
  }
  for (const box of document.querySelectorAll('.scroll')) {
    out.boxes++;
    if (box.scrollWidth > box.clientWidth + 1) out.scrolling++;
  }
  for (const t of document.querySelectorAll('table')) if (!t.closest('.scroll')) out.unboxed_tables++;
  for (const img of document.images) out.images.push(img.getBoundingClientRect().width);
  window.parent.postMessage(JSON.stringify(out), '*');
});
</script>
)js";

// The report laid out in an iframe `width` pixels wide (a window cannot be narrower than 500
// pixels in headless Chromium), as the probe measured it.
nlohmann::json layout_at_width(const std::filesystem::path& dir, int width) {
  const std::string frame = fmt::format("frame{}.html", width);
  std::ofstream(dir / frame) << fmt::format(
      "<!DOCTYPE html><html><body style=\"margin:0\">\n"
      "<iframe src=\"probe.html\" style=\"width:{}px;height:900px;border:0\"></iframe>\n"
      "<pre id=\"probe-result\"></pre>\n<script>window.addEventListener('message', e => {{ "
      "document.getElementById('probe-result').textContent = e.data; }});</script>\n"
      "</body></html>\n",
      width);
  auto args = chromium_args(dir / fmt::format("profile-{}", width));
  args.back() = "--window-size=1500,1000";
  for (const char* extra : {"--virtual-time-budget=5000", "--allow-file-access-from-files",
                            "--dump-dom"}) {
    args.push_back(extra);
  }
  args.push_back("file://" + (dir / frame).string());
  const auto r = run_process(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string open = "<pre id=\"probe-result\">";
  const auto begin = r.out.find(open);
  const auto end = r.out.find("</pre>", begin);
  if (begin == std::string::npos || end == std::string::npos || end == begin + open.size()) {
    ADD_FAILURE() << "no layout measured at " << width << " px: " << r.out.substr(0, 2000);
    return nlohmann::json::object();
  }
  return nlohmann::json::parse(r.out.substr(begin + open.size(), end - begin - open.size()));
}

TEST(ReportCommand, HtmlReportFitsALaptopAndAPhoneWidthInHeadlessChromium) {
  if (!executable("/usr/bin/chromium")) GTEST_SKIP() << "/usr/bin/chromium is not installed";
  if (!executable("/usr/bin/gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  TempDir tmp;
  fill(tmp.path());  // real data: all seven figures
  const auto r = run_cifarbench({"report", tmp.path().string(), "--format", "html"},
                                {"CIFARBENCH_GNUPLOT=/usr/bin/gnuplot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ofstream(tmp.path() / "report" / "probe.html")
      << read(tmp.path() / "report" / "report.html") << kLayoutProbe;
  for (const int width : {1366, 390}) {
    SCOPED_TRACE(fmt::format("{} px", width));
    const auto layout = layout_at_width(tmp.path() / "report", width);
    ASSERT_TRUE(layout.contains("viewport")) << layout.dump();
    const int viewport = layout["viewport"];
    EXPECT_LE(viewport, width);
    EXPECT_GE(viewport, width - 20);  // less a scroll bar
    EXPECT_LE(layout["page"].get<int>(), viewport) << "the page scrolls sideways";
    EXPECT_TRUE(layout["overflowing"].empty()) << layout["overflowing"].dump();
    EXPECT_EQ(layout["unboxed_tables"], 0);
    EXPECT_GE(layout["boxes"].get<int>(), 10);
    ASSERT_EQ(layout["images"].size(), 7u);
    for (const auto& image : layout["images"]) EXPECT_LE(image.get<double>(), viewport);
    if (width == 390) {
      EXPECT_GE(layout["scrolling"].get<int>(), 1) << "wide tables should scroll in their box";
    }
  }
}

TEST(ReportCommand, ConsoleTablesKeepWithin120ColumnsWithFootnotesForMissingValues) {
  TempDir tmp;
  PlausibleStudy spec;
  spec.frameworks = {"torch", "dlib", "tensorflow"};
  fill(tmp.path(), spec);  // no GPU: every GPU cell is unavailable; one trial failed
  const auto r = run_cifarbench({"report", tmp.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto width = std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; });
    EXPECT_LE(width, 120) << line;
  }
  EXPECT_NE(r.out.find("n/a¹"), std::string::npos);
  EXPECT_NE(r.out.find("¹ no NVIDIA driver"), std::string::npos);
  EXPECT_EQ(r.out.find("n/a (no NVIDIA driver"), std::string::npos) << "reasons go to footnotes";
  EXPECT_NE(r.out.find("cpu, "), std::string::npos);
}

}  // namespace
}  // namespace cb
