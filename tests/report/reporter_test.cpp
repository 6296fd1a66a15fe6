// Every reporter, rendering a study read from a real results database.
#include "report/reporter.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "report/report.h"
#include "results/sample_results.h"

namespace cb::report {
namespace {
using testing::PlausibleStudy;
using testing::TempDir;

results::ResultsSnapshot snapshot_of(const PlausibleStudy& spec) {
  TempDir tmp;
  auto store = results::ResultsStore::open(tmp.path());
  testing::fill_plausible_results(store, spec);
  return store.load();
}

std::vector<ReportFile> render(const std::string& format, const PlausibleStudy& spec = {},
                               const std::vector<std::string>& reference_lines = {}) {
  const Study study = build_study(snapshot_of(spec));
  const auto tables = build_tables(study);
  const FigureSet figures;
  return make_reporter(format)->render({study, tables, figures, false, reference_lines});
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Reporters, EveryFormatPlacesTheReferenceCheckAfterTheVerdict) {
  const std::vector<std::string> lines = {"reference check (rule: ...)",
                                          "torch / simple-cnn / default / cifar10 (3 trials) vs ref: FAIL at epoch 2"};
  for (const std::string format : {"console", "md", "html", "json", "csv"}) {
    std::string all;
    for (const auto& f : render(format, {}, lines)) all += f.text;
    const auto at = all.find("FAIL at epoch 2");
    ASSERT_NE(at, std::string::npos) << format;
    if (format != "csv") {
      EXPECT_LT(all.find(format == "json" ? "\"verdict\"" : "Verdict"), at) << format;
    }
    // Without lines there is no such section.
    std::string plain;
    for (const auto& f : render(format)) plain += f.text;
    EXPECT_EQ(plain.find("Reference curves"), std::string::npos) << format;
    EXPECT_EQ(plain.find("reference_check"), std::string::npos) << format;
  }
}

TEST(Reporters, ConsoleShowsEveryTableTitle) {
  const auto files = render("console");
  ASSERT_EQ(files.size(), 1u);
  for (const char* title :
       {"Table 1. Test accuracy", "Table 2. Training time", "Table 3. GPU utilization",
        "Table 4. Throughput", "Table 5. Time to target", "Table 6. Peak memory and energy",
        "Table 8. Framework comparisons", "Table 9. Trials"}) {
    EXPECT_NE(files[0].text.find(title), std::string::npos) << title;
  }
}

TEST(Reporters, EveryOutputOfASyntheticStudyCarriesTheBanner) {
  PlausibleStudy spec;
  spec.synthetic = true;
  for (const auto& format : report_formats()) {
    for (const auto& file : render(format, spec)) {
      EXPECT_NE(file.text.find("accuracy is not CIFAR-10's"), std::string::npos)
          << format << " " << file.name;
    }
  }
}

TEST(Reporters, RealDataOutputsCarryNoSyntheticBanner) {
  for (const auto& format : report_formats()) {
    for (const auto& file : render(format)) {
      EXPECT_EQ(file.text.find("SYNTHETIC DATA"), std::string::npos) << format << " " << file.name;
    }
  }
}

TEST(Reporters, MarkdownRendersPipeTables) {
  const auto text = render("md").at(0).text;
  EXPECT_NE(text.find("## Table 1. Test accuracy (%)"), std::string::npos);
  EXPECT_NE(text.find("| Framework | Model |"), std::string::npos);
  EXPECT_NE(text.find("| --- |"), std::string::npos);
}

TEST(Reporters, CsvQuotesFieldsWithCommasQuotesAndNewlines) {
  const auto files = render("csv");
  const auto it = std::find_if(files.begin(), files.end(),
                               [](const ReportFile& f) { return f.name == "trials.csv"; });
  ASSERT_NE(it, files.end());
  EXPECT_NE(it->text.find(",\"killed by signal 9, out of memory?\nstderr tail: "
                          "\"\"std::bad_alloc\"\"\"\n"),
            std::string::npos)
      << it->text;
}

TEST(Reporters, CsvTrialsHaveOneRowPerTrialWithEveryColumn) {
  const auto files = render("csv", [] {
    PlausibleStudy spec;
    spec.one_failed_trial = false;  // its multi-line error would span two lines
    return spec;
  }());
  const auto& trials = files.at(2);
  ASSERT_EQ(trials.name, "trials.csv");
  std::stringstream lines(trials.text);
  std::string line;
  std::getline(lines, line);
  const auto columns = std::count(line.begin(), line.end(), ',');
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), columns) << line;
  }
  EXPECT_EQ(rows, 2 * 3);
}

TEST(Reporters, CsvSummaryHasOneRowPerGroupAndMetric) {
  const auto files = render("csv");
  const auto& summary = files.at(0);
  ASSERT_EQ(summary.name, "summary.csv");
  const auto rows = std::count(summary.text.begin(), summary.text.end(), '\n') - 1;
  EXPECT_EQ(rows, static_cast<long>(2 * metrics().size()));
  EXPECT_NE(summary.text.find("gpu_util,%,0,,,,,,,,,n/a (no NVIDIA driver)"), std::string::npos)
      << summary.text;
}

TEST(Reporters, JsonParsesWithNullsForWhatWasNotMeasured) {
  const auto doc = nlohmann::json::parse(render("json").at(0).text);
  ASSERT_EQ(doc["groups"].size(), 2u);
  const auto& gpu = doc["groups"][0]["metrics"]["gpu_util"];
  EXPECT_EQ(gpu["unavailable"], "n/a (no NVIDIA driver)");
  EXPECT_FALSE(gpu.contains("mean"));
  const auto& acc = doc["groups"][0]["metrics"]["accuracy"];
  EXPECT_EQ(acc["n"], 3);
  EXPECT_EQ(acc["ci95"].size(), 2u);
  EXPECT_TRUE(acc["olympic_mean"].is_null());
  EXPECT_EQ(doc["trials"].size(), 7u);
  EXPECT_TRUE(doc["comparisons"][0]["p_value"].is_number());
}

TEST(Reporters, HtmlEscapesTextAndIncludesTheEnvironment) {
  const auto text = render("html").at(0).text;
  EXPECT_NE(text.find("<h2>Environment</h2>"), std::string::npos);
  EXPECT_NE(text.find("Test CPU @ 2.0GHz"), std::string::npos);
  EXPECT_NE(text.find("<details>"), std::string::npos);
  EXPECT_EQ(text.find("<script"), std::string::npos);  // self-contained and inert
}

TEST(Reporters, UnknownFormatIsBadInputListingTheValidOnes) {
  try {
    make_reporter("pdf");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("console, md, csv, json, html"), std::string::npos);
  }
}

TEST(ProduceReport, FileFormatsWithoutAnOutputDirectoryAreBadInput) {
  EXPECT_THROW(produce_report(snapshot_of({}), {"html", std::nullopt, {}}), InputError);
}

TEST(ProduceReport, WritesTheFilesOfTheFormatAndNoPartialOnes) {
  TempDir out;
  const auto output = produce_report(snapshot_of({}), {"csv", out.path(), {}});
  EXPECT_EQ(output.files.size(), 5u);  // summary, comparisons, trials, epochs, verdict
  for (const auto& entry : std::filesystem::directory_iterator(out.path())) {
    EXPECT_NE(entry.path().extension(), ".partial") << entry.path();
  }
  EXPECT_NE(read(out.path() / "summary.csv").find("framework,model"), std::string::npos);
}

TEST(ProduceReport, WithoutGnuplotTheTablesComeOutAndTheReportSaysFiguresWereSkipped) {
  TempDir out;
  ::setenv("CIFARBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
  const auto output = produce_report(snapshot_of({}), {"html", out.path(), {}});
  ::unsetenv("CIFARBENCH_GNUPLOT");
  EXPECT_TRUE(output.figures.figures.empty());
  const std::string html = read(out.path() / "report.html");
  EXPECT_NE(html.find("Table 1. Test accuracy"), std::string::npos);
  EXPECT_NE(html.find("figures were skipped"), std::string::npos);
  EXPECT_NE(html.find("/nonexistent/gnuplot"), std::string::npos);
}

}  // namespace
}  // namespace cb::report

namespace cb::report {
namespace {

TEST(Reporters, EveryFormatOpensWithTheVerdict) {
  const auto text = [](const std::string& format, const std::string& name) {
    for (const auto& f : render(format)) {
      if (f.name == name) return f.text;
    }
    ADD_FAILURE() << format << " has no " << name;
    return std::string();
  };
  const std::string console = text("console", "report.txt");
  ASSERT_NE(console.find("Verdict\n-------\ndlib vs torch: resnet20"), std::string::npos);
  EXPECT_LT(console.find("Verdict\n"), console.find("Table 1."));
  const std::string md = text("md", "report.md");
  EXPECT_LT(md.find("## Verdict"), md.find("## Table 1."));
  EXPECT_NE(md.find("- Training time: inconclusive, too few seeds"), std::string::npos)
      << md.substr(0, 600);
  const std::string html = text("html", "report.html");
  ASSERT_NE(html.find("<section id=\"verdict\">"), std::string::npos);
  EXPECT_LT(html.find("<section id=\"verdict\">"), html.find("<section id=\"tables\">"));
  const std::string json = text("json", "report.json");
  EXPECT_EQ(json.rfind("{\n  \"verdict\": [", 0), 0u) << json.substr(0, 80);
  const auto doc = nlohmann::json::parse(json);
  EXPECT_FALSE(doc["verdict"][0]["sentences"].empty());
  const std::string csv = text("csv", "verdict.csv");
  EXPECT_NE(csv.find("dlib,torch,resnet20,default"), std::string::npos) << csv.substr(0, 300);
  EXPECT_NE(csv.find(",training_time,ratio,3,3,"), std::string::npos) << csv;
}

TEST(Reporters, OnSyntheticDataAccuracySentencesAreWithheldWithOneLine) {
  PlausibleStudy spec;
  spec.synthetic = true;
  const std::string console = render("console", spec)[0].text;
  const auto verdict = console.substr(0, console.find("Table 1."));
  EXPECT_NE(verdict.find("Accuracy is not judged here: these trials ran on synthetic data"),
            std::string::npos)
      << verdict;
  EXPECT_EQ(verdict.find("test accuracy is"), std::string::npos) << verdict;
}

TEST(Reporters, WithOneFrameworkTheVerdictSaysThereIsNothingToCompare) {
  PlausibleStudy spec;
  spec.frameworks = {"torch"};
  const std::string console = render("console", spec)[0].text;
  EXPECT_NE(console.find(kNothingCompared), std::string::npos);
}

}  // namespace
}  // namespace cb::report
