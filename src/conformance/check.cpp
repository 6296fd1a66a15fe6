#include "conformance/check.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "conformance/measure.h"
#include "core/atomic_file.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace cb::conformance {
namespace {

using backends::Backend;
using backends::ExecutionSettings;
using backends::Trainer;

constexpr int kBatch = 8;
constexpr int kOverfitBatch = 16;
constexpr int kOverfitSteps = 60;
constexpr double kLaterLossTolerance = 1e-3;  // steps 2 and 3, after ReLU flips have spread
constexpr double kMixedPrecisionTolerance = 5e-2;

CheckResult result(const std::string& check, const Agreement& a) {
  return {"", "", check, a.ok() ? Outcome::pass : Outcome::fail,
          fmt::format("{:.3g} (bound {:.0e}; {})", a.value, a.tolerance, a.detail)};
}

// One backend on one device: builds trainers on demand and runs each check.
class BackendChecks {
 public:
  BackendChecks(const Backend& backend, std::string device, const Backend* reference,
                const model::ModelSpec& spec, const model::Weights& weights, int threads)
      : backend_(backend), reference_(reference), spec_(spec), weights_(weights) {
    settings_.device = std::move(device);
    settings_.threads = threads;
    settings_.deterministic = backend.unsupported(with_determinism()) == std::nullopt;
  }

  std::vector<CheckResult> run() {
    std::vector<CheckResult> out;
    add(out, "builds", [&] { return builds(); });
    if (out.back().outcome != Outcome::pass) return out;
    add(out, "parameter_count", [&] { return parameter_count(); });
    add(out, "weights_loaded", [&] { return weights_loaded(); });
    add(out, "logits", [&] { return logits(); });
    add(out, "sgd_steps", [&] { return sgd_steps(); });
    add(out, "evaluate_matches_logits", [&] { return evaluate_matches_logits(); });
    add(out, "overfits_a_batch", [&] { return overfits(); });
    add(out, "deterministic", [&] { return deterministic(); });
    add(out, "channels_last", [&] { return channels_last(); });
    add(out, "precision_bf16", [&] { return mixed_precision(backends::MixedPrecision::bf16); });
    add(out, "precision_fp16", [&] { return mixed_precision(backends::MixedPrecision::fp16); });
    return out;
  }

 private:
  // Runs one check; a throwing backend fails it with its message.
  void add(std::vector<CheckResult>& out, const std::string& name, const std::function<CheckResult()>& check) {
    CheckResult r;
    try {
      r = check();
    } catch (const std::exception& e) {
      r.outcome = Outcome::fail;
      r.detail = fmt::format("threw: {}", e.what());
    }
    r.check = name;
    r.backend = backend_.info().name;
    r.device = settings_.device;
    out.push_back(std::move(r));
  }

  ExecutionSettings with_determinism() const {
    ExecutionSettings s = settings_;
    s.deterministic = true;
    return s;
  }

  std::unique_ptr<Trainer> trainer(const ExecutionSettings& s) const {
    return make_trainer(backend_, spec_, weights_, s);
  }
  std::unique_ptr<Trainer> reference_trainer() const {
    ExecutionSettings s;
    s.threads = settings_.threads;
    s.deterministic = true;
    return make_trainer(*reference_, spec_, weights_, s);
  }
  bool is_reference() const { return reference_ == &backend_ && settings_.device == "cpu"; }
  static CheckResult skip(std::string why) { return {"", "", "", Outcome::skip, std::move(why)}; }
  static CheckResult verdict(bool ok, std::string detail) {
    return {"", "", "", ok ? Outcome::pass : Outcome::fail, std::move(detail)};
  }

  CheckResult builds() {
    if (auto why = backend_.cannot_build(spec_)) return skip(*why);
    if (auto why = backend_.unsupported(settings_)) return skip(*why);
    trainer(settings_);
    return verdict(true, fmt::format("{} built on {}", spec_.name, settings_.device));
  }

  CheckResult parameter_count() {
    const auto expected = model::analyse(spec_).parameters;
    const auto got = trainer(settings_)->parameter_count();
    return verdict(got == expected, fmt::format("{} against the spec's {}", got, expected));
  }

  // Every tensor of the harness's initial weights is what the framework holds after building.
  CheckResult weights_loaded() {
    const auto exported = trainer(settings_)->export_weights();
    double worst = 0;
    std::string where = "every tensor";
    for (const auto& t : weights_.tensors) {
      const auto* e = exported.find(t.name);
      if (!e) return verdict(false, fmt::format("{} is missing from the exported weights", t.name));
      const double d = relative_max_difference(e->tensor.values, t.tensor.values);
      if (d > worst) worst = d, where = t.name;
    }
    return verdict(worst <= 1e-6, fmt::format("{:.3g} relative ({}; bound 1e-6)", worst, where));
  }

  CheckResult logits() {
    if (is_reference()) return skip("the reference");
    auto ref = reference_trainer();
    auto mine = trainer(settings_);
    return result("", compare_logits(*ref, *mine, random_batch(spec_, kBatch, 1)));
  }

  // Three SGD steps: the first held to the full step criteria, the losses of the next two to 1e-3.
  CheckResult sgd_steps() {
    if (is_reference()) return skip("the reference");
    auto ref = reference_trainer();
    auto mine = trainer(settings_);
    const StepAgreement first = compare_sgd_step(*ref, *mine, random_batch(spec_, kBatch, 2));
    for (const Agreement* a : {&first.loss, &first.buffers, &first.step}) {
      if (!a->ok()) return result("", *a);
    }
    double worst = 0;
    for (std::uint64_t s = 3; s <= 4; ++s) {
      const auto batch = random_batch(spec_, kBatch, s);
      const double lb = backends::train_step_and_read(*ref, in_layout(batch, ref->input_layout())).loss;
      const double la = backends::train_step_and_read(*mine, in_layout(batch, mine->input_layout())).loss;
      worst = std::max(worst, std::abs(la - lb) / std::max(1.0, std::abs(lb)));
    }
    return verdict(worst <= kLaterLossTolerance,
                   fmt::format("step 1: loss {:.2g}, buffers {:.2g}, step {:.2g}; steps 2-3: loss "
                               "{:.2g} (bounds {:.0e}, {:.0e}, {:.0e}, {:.0e})",
                               first.loss.value, first.buffers.value, first.step.value, worst,
                               kLossTolerance, kBufferTolerance, kStepTolerance, kLaterLossTolerance));
  }

  // evaluate() (inference mode) agrees with the cross-entropy and argmax of logits().
  CheckResult evaluate_matches_logits() {
    auto t = trainer(settings_);
    const auto batch = in_layout(random_batch(spec_, kBatch, 5), t->input_layout());
    const auto logits = t->logits(batch);
    const auto eval = t->evaluate(batch);
    const auto classes = static_cast<std::size_t>(spec_.num_classes);
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(batch.n); ++i) {
      const float* row = logits.data() + i * classes;
      const double top = *std::max_element(row, row + classes);
      double sum = 0;
      for (std::size_t k = 0; k < classes; ++k) sum += std::exp(row[k] - top);
      const auto label = static_cast<std::size_t>(batch.labels[i]);
      loss_sum += std::log(sum) + top - row[label];
      correct += static_cast<std::size_t>(std::max_element(row, row + classes) - row) == label;
    }
    const double loss_diff = std::abs(eval.loss_sum - loss_sum) / std::max(1.0, std::abs(loss_sum));
    return verdict(eval.count == batch.n && eval.correct == correct && loss_diff <= kLossTolerance,
                   fmt::format("loss sum {:.6f} against {:.6f} from the logits, correct {} against "
                               "{}, count {} of {}", eval.loss_sum, loss_sum, eval.correct, correct,
                               eval.count, batch.n));
  }

  // Training memorizes one small batch: the first sign of a broken gradient or optimizer.
  CheckResult overfits() {
    auto t = trainer(settings_);
    t->set_learning_rate(0.05);
    const auto batch = in_layout(random_batch(spec_, kOverfitBatch, 6), t->input_layout());
    const double first = backends::train_step_and_read(*t, batch).loss;
    for (int i = 1; i < kOverfitSteps; ++i) t->train_step(batch);
    const auto eval = t->evaluate(batch);
    const double final_loss = eval.loss_sum / std::max<std::int64_t>(eval.count, 1);
    return verdict(eval.correct == eval.count && final_loss < 0.25 * first,
                   fmt::format("{} steps: loss {:.3f} → {:.3f}, {} of {} right (needs all, and the "
                               "loss below a quarter)", kOverfitSteps, first, final_loss,
                               eval.correct, eval.count));
  }

  CheckResult deterministic() {
    if (auto why = backend_.unsupported(with_determinism())) return skip(*why);
    std::vector<double> losses[2];
    for (auto& run : losses) {
      auto t = trainer(with_determinism());
      for (std::uint64_t s = 7; s < 10; ++s) {
        run.push_back(backends::train_step_and_read(*t, in_layout(random_batch(spec_, kBatch, s), t->input_layout())).loss);
      }
    }
    return verdict(losses[0] == losses[1],
                   fmt::format("3 steps twice: losses {:.9g} {:.9g} {:.9g} and {:.9g} {:.9g} {:.9g}",
                               losses[0][0], losses[0][1], losses[0][2], losses[1][0],
                               losses[1][1], losses[1][2]));
  }

  CheckResult channels_last() {
    ExecutionSettings s = settings_;
    s.channels_last = true;
    if (auto why = backend_.unsupported(s)) return skip(*why);
    auto plain = trainer(settings_);
    auto cl = trainer(s);
    return result("", compare_logits(*plain, *cl, random_batch(spec_, kBatch, 10)));
  }

  // One step in mixed precision against the same step in float32, to 5e-2 of the loss.
  CheckResult mixed_precision(backends::MixedPrecision p) {
    ExecutionSettings s = settings_;
    s.precision = p;
    s.deterministic = false;
    if (auto why = backend_.unsupported(s)) return skip(*why);
    auto full = trainer(settings_);
    auto mixed = trainer(s);
    const auto batch = random_batch(spec_, kBatch, 11);
    const double lf = backends::train_step_and_read(*full, in_layout(batch, full->input_layout())).loss;
    const double lm = backends::train_step_and_read(*mixed, in_layout(batch, mixed->input_layout())).loss;
    const double d = std::abs(lm - lf) / std::max(1.0, std::abs(lf));
    return verdict(std::isfinite(lm) && d <= kMixedPrecisionTolerance,
                   fmt::format("loss {:.5f} against float32's {:.5f} ({:.2g}, bound {:.0e})", lm, lf,
                               d, kMixedPrecisionTolerance));
  }

  const Backend& backend_;
  const Backend* reference_;
  const model::ModelSpec& spec_;
  const model::Weights& weights_;
  ExecutionSettings settings_;
};

// torch when it is registered and available here (whether or not it is among those checked),
// else the first available backend of the list.
const Backend* choose_reference(const std::vector<const Backend*>& backends, const model::ModelSpec& spec) {
  const auto usable = [&](const Backend* b) { return b && b->info().available && !b->cannot_build(spec); };
  if (const Backend* torch = backends::find_backend("torch"); usable(torch)) return torch;
  for (const auto* b : backends) {
    if (usable(b)) return b;
  }
  return nullptr;
}

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::pass: return "pass";
    case Outcome::fail: return "FAIL";
    case Outcome::skip: return "skip";
  }
  return "?";
}

bool CheckReport::failed() const {
  return std::any_of(results.begin(), results.end(), [](const CheckResult& r) { return r.outcome == Outcome::fail; });
}

std::string CheckReport::summary(const std::string& backend) const {
  bool any_pass = false;
  for (const auto& r : results) {
    if (r.backend != backend) continue;
    if (r.outcome == Outcome::fail) return "fail";
    any_pass = any_pass || r.outcome == Outcome::pass;
  }
  return any_pass ? "pass" : "skip";
}

CheckReport run_checks(const std::vector<const Backend*>& backends, const CheckOptions& options) {
  CheckReport report;
  report.model = options.model;
  const model::ModelSpec spec = model::build_zoo_model(options.model, 10);
  const model::Weights weights = model::initial_weights(spec, 2024);
  const Backend* reference = choose_reference(backends, spec);
  if (reference) report.reference = reference->info().name + " on cpu";
  for (const auto* b : backends) {
    const auto info = b->info();
    if (!info.available) {
      report.results.push_back({info.name, options.device.value_or("-"), "available", Outcome::skip,
                                info.unavailable_reason});
      continue;
    }
    bool any_device = false;
    for (const auto& d : info.devices) {
      if (options.device && d.id != *options.device) continue;
      any_device = true;
      auto rows = BackendChecks(*b, d.id, reference, spec, weights, options.threads).run();
      report.results.insert(report.results.end(), rows.begin(), rows.end());
    }
    if (!any_device) {
      report.results.push_back({info.name, *options.device, "available", Outcome::skip,
                                fmt::format("{} has no device '{}' here", info.name, *options.device)});
    }
  }
  return report;
}

std::string format_check_table(const CheckReport& report) {
  std::ostringstream out;
  out << fmt::format("conformance checks of {} against {}\n", report.model,
                     report.reference.empty() ? "no reference (no backend could build it)" : report.reference);
  std::string column;
  for (const auto& r : report.results) {
    const std::string name = r.backend + " " + r.device;
    if (name != column) {
      out << fmt::format("\n{}\n", name);
      column = name;
    }
    out << fmt::format("  {:<24} {:<5} {}\n", r.check, to_string(r.outcome), r.detail);
  }
  out << fmt::format("\n{}\n", report.failed() ? "FAILED: the backends marked FAIL disagree with the reference "
                                                   "or with themselves; do not trust their results"
                                                 : "every check that ran passed");
  return out.str();
}

nlohmann::json to_json(const CheckReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : report.results) {
    rows.push_back({{"backend", r.backend}, {"device", r.device}, {"check", r.check},
                    {"outcome", r.outcome == Outcome::fail ? "fail" : std::string(to_string(r.outcome))},
                    {"detail", r.detail}});
  }
  return {{"model", report.model}, {"reference", report.reference}, {"failed", report.failed()},
          {"results", rows}};
}

std::filesystem::path check_record_path() {
  if (const char* f = std::getenv("CIFARBENCH_CHECK_FILE"); f && *f) return f;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "cifarbench/check.json";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache/cifarbench/check.json";
  return std::filesystem::temp_directory_path() / "cifarbench-check.json";
}

void write_check_record(const CheckReport& report, const std::filesystem::path& path) {
  nlohmann::json record = nlohmann::json::object();
  std::ifstream in(path);
  if (in) record = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) record = nlohmann::json::object();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::set<std::string> seen;
  for (const auto& r : report.results) {
    if (!seen.insert(r.backend).second) continue;
    const std::string summary = report.summary(r.backend);
    if (summary == "skip") continue;  // unavailable here: nothing was verified
    const auto* b = backends::find_backend(r.backend);
    record[r.backend] = {{"result", summary}, {"checked", today_utc()}, {"host", host},
                         {"version", b ? b->info().version : ""}, {"model", report.model}};
  }
  std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path, record.dump(2) + "\n");
}

nlohmann::json check_status(const std::string& framework) {
  std::ifstream in(check_record_path());
  if (!in) return {{"result", "never"}};
  const auto record = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains(framework) || !record[framework].is_object()) {
    return {{"result", "never"}};
  }
  nlohmann::json status = record[framework];
  // A check of another version of the framework says nothing about this one.
  const auto* b = backends::find_backend(framework);
  if (b && status.value("version", "") != b->info().version) {
    status["checked_version"] = status.value("version", "");
    status["result"] = "never";
  }
  return status;
}

}  // namespace cb::conformance
