// Test fixtures shared by tests/results and tests/report: a results database filled with plausible records (several frameworks and seeds).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "results/store.h"
#include "support/temp_dir.h"

namespace cb::testing {

struct PlausibleStudy {
  std::vector<std::string> frameworks = {"torch", "dlib"};
  int seeds = 3;
  int epochs = 4;
  bool synthetic = false;
  bool with_gpu = false;         // GPU telemetry present, or "no NVIDIA driver"
  bool one_failed_trial = true;  // adds a failed trial with an error text
};

// Writes a suite of completed trials, their epochs and telemetry samples into `store`.
inline void fill_plausible_results(results::ResultsStore& store, const PlausibleStudy& study) {
  using namespace results;
  SuiteRecord suite;
  suite.name = "plausible";
  suite.file = "configs/plausible.toml";
  suite.config = {{"seeds", study.seeds}};
  store.begin_suite(suite);
  for (std::size_t f = 0; f < study.frameworks.size(); ++f) {
    const std::string& fw = study.frameworks[f];
    for (int seed = 1; seed <= study.seeds; ++seed) {
      TrialRecord t;
      t.suite_id = suite.id;
      t.framework = fw;
      t.model = "resnet20";
      t.recipe = "default";
      t.seed = static_cast<std::uint64_t>(seed);
      t.key = fw + "/resnet20/default/seed=" + std::to_string(seed);
      t.threads = 2;
      t.batch_size = 128;
      t.device = study.with_gpu ? "cuda:0" : "cpu";
      t.dataset = study.synthetic ? "synthetic" : "cifar10";
      t.synthetic = study.synthetic;
      t.config = {{"epochs", study.epochs},
                  {"lr", 0.1},
                  {"model_info", {{"mflops_per_image", 20.0}}},
                  {"recipe", {{"hardware", {{"device", t.device}}}}}};
      t.environment = {{"os", {{"name", "Debian GNU/Linux 12"}}},
                       {"cpu", {{"model", "Test CPU @ 2.0GHz"}, {"logical_cores", 2}}},
                       {"blas", {{"library", "libopenblas.so.0"}}},
                       {"peak", {{"cpu_fp32_flops_per_s", 190e9}}}};
      t.status = TrialStatus::running;
      store.upsert_trial(t);
      // Frameworks differ clearly in speed and a little in accuracy; seeds add noise.
      const double speed = 1000.0 + 400.0 * static_cast<double>(f);
      const double noise = 0.004 * ((seed * 7) % 5 - 2);
      double cumulative = 0;
      for (int e = 1; e <= study.epochs; ++e) {
        EpochRecord ep;
        ep.trial_id = t.id;
        ep.epoch = e;
        ep.train_loss = 2.0 / e + noise;
        ep.train_accuracy = 0.5 + 0.1 * e + noise;
        ep.test_accuracy = 0.45 + 0.1 * e + noise - 0.01 * static_cast<double>(f);
        ep.epoch_time_s = 50000.0 / speed * (1.0 + 0.01 * seed);
        cumulative += ep.epoch_time_s;
        ep.training_time_s = cumulative;
        ep.images_per_s = 50000.0 / ep.epoch_time_s;
        store.add_epoch(ep);
      }
      std::vector<TelemetrySample> samples;
      for (int i = 0; i < 20; ++i) {
        TelemetrySample s;
        s.trial_id = t.id;
        s.t_s = cumulative * i / 19.0;
        s.phase = i % 5 == 4 ? "eval" : "train";
        s.cpu_util_pct = 150.0 + 10.0 * (i % 3) + 5.0 * static_cast<double>(f);
        s.rss_bytes = 8e8 + 1e6 * i;
        if (study.with_gpu) {
          s.gpu_util_pct = 70.0 + 5.0 * static_cast<double>(f) + (i % 4);
          s.gpu_mem_bytes = 3e9;
          s.power_w = 250;
        }
        samples.push_back(s);
      }
      store.add_samples(samples);
      t.status = TrialStatus::completed;
      t.test_accuracy = 0.45 + 0.1 * study.epochs + noise - 0.01 * static_cast<double>(f);
      t.target_accuracy = 0.75;
      t.training_time_s = cumulative;
      t.wall_time_s = cumulative * 1.2;
      t.time_to_target_s = cumulative * 0.75;
      t.images_per_s = 50000.0 * study.epochs / cumulative;
      t.cpu_util_mean_pct = 160.0 + 5.0 * static_cast<double>(f);
      t.rss_peak_bytes = 8.2e8;
      t.telemetry = {{"samples", 20}};
      if (study.with_gpu) {
        t.gpu_util_mean_pct = 71.5 + 5.0 * static_cast<double>(f) + 0.3 * seed;
        t.gpu_mem_peak_bytes = 3e9;
        t.energy_j = 250.0 * cumulative;
      } else {
        t.gpu_unavailable_reason = "no NVIDIA driver";
      }
      t.ended = "2026-11-26T08:00:00Z";
      store.upsert_trial(t);
    }
  }
  if (study.one_failed_trial) {
    TrialRecord t;
    t.suite_id = suite.id;
    t.framework = study.frameworks.front();
    t.model = "resnet20";
    t.recipe = "default";
    t.seed = 99;
    t.threads = 2;
    t.batch_size = 128;
    t.device = study.with_gpu ? "cuda:0" : "cpu";
    t.key = t.framework + "/resnet20/default/seed=99";
    t.dataset = study.synthetic ? "synthetic" : "cifar10";
    t.synthetic = study.synthetic;
    t.status = TrialStatus::failed;
    t.error = "killed by signal 9, out of memory?\nstderr tail: \"std::bad_alloc\"";
    store.upsert_trial(t);
  }
}

}  // namespace cb::testing
