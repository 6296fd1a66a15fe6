// What the dlib backend adds to dlib: (a) our Trainer::train_step through the backend interface
// against (b) dlib's own loop (backends/dlib/native_loop.h: compute_parameter_gradients and
// update_parameters with dlib::sgd) on the same compile-time network type, initial weights,
// random batches, BLAS thread count and malloc policy ($CIFARBENCH_MALLOC, as a trial applies
// it). The two sides alternate in rounds (a first in rounds 1, 3, ..., b first in 2, 4, ...);
// each round prints both throughputs, and the end prints the median per-round time ratio
// (a)/(b) with its range, and each side's user and system CPU time, page faults and context
// switches.
//   bench_dlib_wrapper_overhead [model] [batch] [threads] [rounds] [steps_per_round]
//                               [warmup_steps] [lr]
// Built only with the dlib backend; see docs/backends/dlib.md, "Wrapper overhead".
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "bench_support.h"
#include "backends/dlib/blas_threads.h"
#include "backends/dlib/native_loop.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/initial_weights.h"
#include "model/zoo.h"
#include "trial/malloc_policy.h"

namespace {

struct Options {
  std::string model = "simple-cnn";
  int batch = 128;
  int threads = 2;
  int rounds = 7;
  int steps = 5;
  int warmup = 3;
  double lr = 0.01;
};

// argv[index] as an integer of at least `min`, or `fallback` when absent.
int integer_arg(int argc, char** argv, int index, const char* name, int min, int fallback) {
  if (argc <= index) return fallback;
  char* end = nullptr;
  const long v = std::strtol(argv[index], &end, 10);
  if (end == argv[index] || *end != '\0' || v < min || v > 1'000'000) {
    throw cb::InputError(
        fmt::format("bench_dlib_wrapper_overhead: {} = '{}': expected an integer "
                    "from {} to 1000000",
                    name, argv[index], min));
  }
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc > 1) o.model = argv[1];
  o.batch = integer_arg(argc, argv, 2, "batch", 2, o.batch);  // dlib's bn_ needs 2 or more
  o.threads = integer_arg(argc, argv, 3, "threads", 0, o.threads);
  o.rounds = integer_arg(argc, argv, 4, "rounds", 1, o.rounds);
  o.steps = integer_arg(argc, argv, 5, "steps_per_round", 1, o.steps);
  o.warmup = integer_arg(argc, argv, 6, "warmup_steps", 0, o.warmup);
  if (argc > 7) {
    char* end = nullptr;
    o.lr = std::strtod(argv[7], &end);
    if (end == argv[7] || *end != '\0' || !(o.lr >= 0.0)) {
      throw cb::InputError(
          fmt::format("bench_dlib_wrapper_overhead: lr = '{}': expected a number >= 0", argv[7]));
    }
  }
  return o;
}

double seconds_of(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; }

// One side of the comparison and what its timed rounds added up to.
struct Side {
  std::string name;
  std::function<void(std::size_t)> step;  // one training step on batch i
  std::vector<double> rates;              // images/s, one per round
  double seconds = 0, user = 0, system = 0;
  long minor_faults = 0, voluntary_switches = 0, involuntary_switches = 0;
  long steps = 0;
};

// Runs `steps` steps of `side` over the batches in order; adds its rate and its rusage.
void timed_round(Side& side, int steps, std::size_t batch_count, int batch_size) {
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) side.step(static_cast<std::size_t>(i) % batch_count);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  getrusage(RUSAGE_SELF, &after);
  side.rates.push_back(batch_size * steps / seconds);
  side.seconds += seconds;
  side.user += seconds_of(after.ru_utime) - seconds_of(before.ru_utime);
  side.system += seconds_of(after.ru_stime) - seconds_of(before.ru_stime);
  side.minor_faults += after.ru_minflt - before.ru_minflt;
  side.voluntary_switches += after.ru_nvcsw - before.ru_nvcsw;
  side.involuntary_switches += after.ru_nivcsw - before.ru_nivcsw;
  side.steps += steps;
}

void print_side(const Side& s) {
  const double cpu = s.user + s.system;
  const auto per_step = [&](double v) { return v / static_cast<double>(s.steps); };
  fmt::print(
      "{}: {:.1f} s wall, user {:.2f} s, system {:.2f} s ({:.1f} % of CPU time, CPU/wall {:.2f}); "
      "per step: {:.0f} minor page faults, {:.1f} voluntary and {:.1f} involuntary context "
      "switches\n",
      s.name, s.seconds, s.user, s.system, cpu > 0 ? 100.0 * s.system / cpu : 0.0,
      s.seconds > 0 ? cpu / s.seconds : 0.0, per_step(static_cast<double>(s.minor_faults)),
      per_step(static_cast<double>(s.voluntary_switches)),
      per_step(static_cast<double>(s.involuntary_switches)));
}

// The rounds, alternating the sides' order; prints each round and the summary.
void compare(Side& ours, Side& dlib, const Options& o, std::size_t batch_count) {
  std::vector<double> ratios;
  for (int r = 0; r < o.rounds; ++r) {
    Side& first = r % 2 == 0 ? ours : dlib;
    Side& second = r % 2 == 0 ? dlib : ours;
    timed_round(first, o.steps, batch_count, o.batch);
    timed_round(second, o.steps, batch_count, o.batch);
    const double ratio = dlib.rates.back() / ours.rates.back();  // time (a) / time (b)
    ratios.push_back(ratio);
    fmt::print(
        "round {}: (a) ours {:.1f} images/s, (b) dlib {:.1f} images/s, time (a)/(b) {:.4f}\n",
        r + 1, ours.rates.back(), dlib.rates.back(), ratio);
  }
  std::sort(ratios.begin(), ratios.end());
  const double median = ratios.size() % 2 == 1
                            ? ratios[ratios.size() / 2]
                            : (ratios[ratios.size() / 2 - 1] + ratios[ratios.size() / 2]) / 2;
  fmt::print(
      "time ratio (a)/(b): median {:.4f} (min {:.4f}, max {:.4f}) over {} rounds: the "
      "wrapper adds {:+.2f} % (median)\n",
      median, ratios.front(), ratios.back(), ratios.size(), 100.0 * (median - 1.0));
  print_side(ours);
  print_side(dlib);
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto malloc_record =
      cb::trial::apply_malloc_policy(cb::trial::malloc_policy_from_environment());
  const cb::model::ModelSpec spec = cb::model::build_zoo_model(o.model, 10);
  const cb::model::Weights weights = cb::model::initial_weights(spec, 1);
  const std::vector<cb::data::Batch> batches = cb::bench::random_batches(spec, o.batch);
  cb::backends::register_builtin_backends();
  const cb::backends::Backend* backend = cb::backends::find_backend("dlib");
  if (backend == nullptr || !backend->info().available) {
    throw cb::Unsupported("bench_dlib_wrapper_overhead: the dlib backend is not available");
  }
  cb::backends::TrainerConfig config;
  config.model = std::make_shared<const cb::model::AnalysedModel>(cb::model::analyse(spec));
  config.initial_weights = &weights;
  config.execution.threads = o.threads;  // the default recipe: SGD, momentum 0.9, Nesterov, wd 5e-4
  const auto trainer = backend->create_trainer(config);
  const auto loop = cb::backends::dlib_backend::make_native_loop(config);
  trainer->set_learning_rate(o.lr);
  loop->set_learning_rate(o.lr);
  loop->set_batches(batches);
  fmt::print(
      "{} batch={} threads={} rounds={} steps/round={} warmup={} lr={}; malloc {}; BLAS {}\n",
      o.model, o.batch, o.threads, o.rounds, o.steps, o.warmup, o.lr, malloc_record.dump(),
      cb::backends::dlib_backend::blas_description());

  // Same weights, same first batch: the first losses agree if both sides compute the same thing.
  const double loss_a = cb::backends::train_step_and_read(*trainer, batches[0]).loss;
  const double loss_b = loop->train_step(0);
  fmt::print("first-step loss: (a) {:.6f}, (b) {:.6f} (difference {:.2e})\n", loss_a, loss_b,
             std::abs(loss_a - loss_b));
  Side ours, dlib;
  ours.name = "(a) ours: Trainer::train_step";
  // A trial reads every step's values on the CPU: so does this side.
  ours.step = [&](std::size_t i) { cb::backends::train_step_and_read(*trainer, batches[i]); };
  dlib.name = "(b) dlib's own loop";
  dlib.step = [&](std::size_t i) { loop->train_step(i); };
  for (int i = 0; i < o.warmup; ++i) {
    ours.step(static_cast<std::size_t>(i) % batches.size());
    dlib.step(static_cast<std::size_t>(i) % batches.size());
  }
  compare(ours, dlib, o, batches.size());
  fmt::print("last loss: (a) {:.4f}, (b) {:.4f} (a non-finite loss means lr is too high)\n",
             cb::backends::train_step_and_read(*trainer, batches[0]).loss, loop->train_step(0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cb::bench::run_main(run, argc, argv); }
