// `cifarbench train`: one trial, with a progress line per epoch and the result as JSON written
// after every epoch.
#include <fmt/format.h>
#include <unistd.h>
#include <fmt/ranges.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>

#include "suite/trial_file.h"
#include "trial/environment.h"
#include "trial/malloc_policy.h"
#include "launch/launch_env.h"
#include "launch/local_world.h"
#include "trial/progress.h"
#include "trial/trial.h"
#include "trial/trial_store.h"
#include "backends/backend.h"
#include "cli/command.h"
#include "cli/common.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "results/mfu.h"
#include "core/log.h"

namespace cb::cli {
namespace {

struct TrainOptions {
  std::string framework = "torch";
  std::string model = "resnet20";
  std::string recipe_file;
  std::string data_path;
  std::string dataset = "cifar10";
  std::string out_dir;
  std::string schedule;
  std::string device;
  std::string precision;
  std::string tf_lib;
  std::string results_dir;  // suite-child mode (--trial FILE): write into this results database
  std::string trial_key;
  std::int64_t suite_id = 0;
  std::string trial_file;
  std::string step_log;
  std::string telemetry_log;
  double time_limit_s = 0;
  int read_every = 0;
  int nproc = 1, dist_timeout_s = 60;
  int epochs = 0, threads = -1, batch_size = 0, eval_every = 0, workers = -1;
  double lr = -1, target_acc = -1, weight_decay = -1, telemetry_hz = 10;
  std::uint64_t seed = 0;
  std::int64_t synthetic_train = 0, synthetic_test = 0;
  bool checkpoint = false, resume = false, restart_changed = false, no_telemetry = false, no_download = false;
};

void on_sigint(int) { trial::interrupt_flag().store(true); }

trial::TrialSpec build_spec(const TrainOptions& o) {
  trial::TrialSpec spec;
  spec.framework = o.framework;
  spec.model = o.model;
  spec.recipe = o.recipe_file.empty() ? trial::Recipe{} : trial::load_recipe(o.recipe_file);
  trial::Recipe& r = spec.recipe;
  if (o.epochs > 0) r.epochs = o.epochs;
  if (o.threads >= 0) r.execution.threads = o.threads;
  if (o.batch_size > 0) r.pipeline.batch_size = o.batch_size;
  if (o.eval_every > 0) r.eval_every = o.eval_every;
  if (o.workers >= 0) r.pipeline.workers = o.workers;
  if (o.lr >= 0) r.lr = o.lr;
  if (o.weight_decay >= 0) r.optimizer.weight_decay = o.weight_decay;
  if (o.target_acc >= 0) r.target_accuracy = o.target_acc;
  if (!o.schedule.empty()) r.schedule.kind = trial::parse_schedule_kind(o.schedule, "--schedule");
  if (!o.device.empty()) r.execution.device = o.device;
  if (!o.precision.empty()) r.execution.precision = *backends::parse_mixed_precision(o.precision);
  r.schedule.peak_lr = r.lr;
  spec.seed = o.seed;
  spec.data.dataset = o.dataset;
  spec.data.path = o.data_path;
  spec.data.allow_download = !o.no_download;
  spec.data.synthetic.seed = o.seed;
  if (o.synthetic_train > 0) spec.data.synthetic.train_count = o.synthetic_train;
  if (o.synthetic_test > 0) spec.data.synthetic.test_count = o.synthetic_test;
  spec.telemetry.enabled = !o.no_telemetry;
  spec.telemetry.rate_hz = o.telemetry_hz;
  spec.checkpoint = o.checkpoint;
  spec.resume = o.resume;
  spec.restart_changed = o.restart_changed;
  spec.time_limit_s = o.time_limit_s;
  spec.read_every = o.read_every;
  spec.out_dir = o.out_dir.empty()
                     ? std::filesystem::path("cifarbench-train") /
                           fmt::format("{}-{}-seed{}", o.framework, o.model, o.seed)
                     : std::filesystem::path(o.out_dir);
  return spec;
}

// Suite-child mode: the options are the trial file's (written by `cifarbench run`).
TrainOptions options_from_trial_file(const std::string& path) {
  const suite::TrialFile t = suite::read_trial_file(path);
  TrainOptions o;
  o.trial_file = path;
  o.framework = t.framework;
  o.model = t.model;
  o.recipe_file = t.recipe.string();
  o.seed = t.seed;
  o.batch_size = t.batch_size;
  o.threads = t.execution.threads;
  o.device = t.execution.device;
  o.precision = std::string(backends::to_string(t.execution.precision));
  o.dataset = t.dataset;
  o.data_path = t.data_path;
  o.synthetic_train = t.synthetic_train;
  o.synthetic_test = t.synthetic_test;
  o.nproc = t.processes;
  o.time_limit_s = t.time_limit_s;
  o.out_dir = t.out_dir.string();
  o.results_dir = t.results_dir.string();
  o.suite_id = t.suite_id;
  o.trial_key = t.key;
  return o;
}

// After a local world ended badly: a result.json that rank 0 left "running" (it died) says failed.
void mark_unfinished_result_failed(const std::filesystem::path& path, const std::string& why) {
  std::ifstream in(path);
  if (!in) return;
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || doc["result"].value("status", "") != "running") return;
  doc["result"]["status"] = "failed";
  doc["result"]["error"] = why;
  write_file_atomically(path, doc.dump(2) + "\n");
}

// `--nproc N`: this command again as N local ranks; this process only launches and waits.
int run_local_world(const TrainOptions& o) {
  launch::LocalWorldOptions world;
  world.world_size = o.nproc;
  world.failure_grace_s = o.dist_timeout_s;
  const int status = launch::run_local_world(launch::own_command_line_without_nproc(), world);
  if (status == static_cast<int>(ExitStatus::failed)) {
    mark_unfinished_result_failed(build_spec(o).out_dir / "result.json",
                                  "a rank of the local world failed (see its messages above)");
  }
  return status;
}

// The closing lines of a trial: its status and headline figures, and where the result is.
// "model FLOP utilization 12.3 % (4.56 GFLOP/s of 37.0 measured)" or why it is n/a.
std::string mfu_text(const trial::TrialSpec& spec, const trial::TrialOutcome& out,
                     const nlohmann::json& environment) {
  const auto mfu = results::model_flop_utilization(
      out.images_per_s, out.mflops_per_image * 1e6, spec.recipe.execution.device,
      std::string(backends::to_string(spec.recipe.execution.precision)),
      environment.value("peak", nlohmann::json::object()), out.world_size);
  if (!mfu.contains("mfu")) return "model FLOP utilization n/a (" + mfu.value("unavailable", std::string()) + ")";
  return fmt::format("model FLOP utilization {:.1f} % ({:.1f} GFLOP/s of a measured {:.1f})",
                     100 * mfu["mfu"].get<double>(), mfu["achieved_flops_per_s"].get<double>() / 1e9,
                     mfu["peak_flops_per_s"].get<double>() / 1e9);
}

void print_outcome(const trial::TrialSpec& spec, const trial::TrialOutcome& out,
                   const nlohmann::json& environment) {
  fmt::print("{}: {} {} {} after {} epoch(s): test accuracy {}, training time {:.1f} s, {:.1f} images/s{}\n",
             results::to_string(out.state), spec.framework, spec.model,
             out.synthetic ? "[synthetic data: accuracy is not CIFAR's]" : "",
             out.epochs.size(),
             out.test_accuracy ? fmt::format("{:.2f}%", 100 * *out.test_accuracy) : "n/a",
             out.training_time_s, out.images_per_s,
             out.time_to_target_s ? fmt::format(", target reached after {:.1f} s", *out.time_to_target_s) : "");
  if (out.world_size > 1) {
    fmt::print("{} processes: {:.1f} images/s in total ({:.1f} per rank), {:.1f} ms of communication per "
               "step on rank 0\n",
               out.world_size, out.images_per_s,
               fmt::join(out.images_per_s_by_rank, ", "), 1000 * out.communication_s_per_step);
  }
  if (out.images_per_s > 0) fmt::print("{}\n", mfu_text(spec, out, environment));
  fmt::print("result: {}\n", (spec.out_dir / "result.json").string());
}

int run_train(const TrainOptions& o, const std::optional<launch::LaunchEnvironment>& rank) {
  if (!o.tf_lib.empty()) setenv("CIFARBENCH_TF_LIB", o.tf_lib.c_str(), 1);
  trial::TrialSpec spec = build_spec(o);
  // "cuda:local": the GPU of this rank's index on its machine (one GPU per rank, as torchrun's
  // LOCAL_RANK intends); cuda:0 for a single process.
  if (spec.recipe.execution.device == "cuda:local") {
    spec.recipe.execution.device = fmt::format("cuda:{}", rank ? rank->local_rank : 0);
  }
  if (rank) {
    spec.shard = {rank->rank, rank->world_size};
    spec.master_addr = rank->master_addr;
    spec.master_port = rank->master_port;
    spec.distributed_timeout_s = o.dist_timeout_s;
  }
  const bool leader = spec.shard.rank == 0;  // rank 0 alone writes the trial's result
  std::error_code ec;
  std::filesystem::create_directories(spec.out_dir, ec);
  if (ec) throw InputError(fmt::format("--out {}: cannot create directory: {}", spec.out_dir.string(), ec.message()));
  // Before any framework allocates: the same allocation policy for every framework.
  const nlohmann::json malloc_record = trial::apply_malloc_policy(trial::malloc_policy_from_environment());
  nlohmann::json environment = trial::capture_environment(o.framework);
  environment["malloc"] = malloc_record;
  // A GPU's peak for its MFU (trial/peak.h), from the cache `cifarbench env` fills: measuring
  // here would leave the product's memory in this process's CUDA cache during training.
  if (spec.recipe.execution.device != "cpu") {
    environment["peak"]["device"] = trial::device_peak(
        spec.recipe.execution.device, spec.recipe.execution.precision, trial::PeakMode::cached_only);
  }
  // Other ranks keep their own figures and telemetry beside it, in rank-<r>.json.
  const std::filesystem::path result_path =
      spec.out_dir / (leader ? std::string("result.json") : fmt::format("rank-{}.json", spec.shard.rank));
  trial::ResultFileWriter writer(result_path, environment);
  trial::ObserverList observers;
  observers.add(&writer);
  std::unique_ptr<trial::StepLogWriter> step_log;
  if (!o.step_log.empty()) {
    step_log = std::make_unique<trial::StepLogWriter>(o.step_log);
    observers.add(step_log.get());
  }
  std::unique_ptr<trial::TelemetryLogWriter> telemetry_log;
  if (!o.telemetry_log.empty()) {
    telemetry_log = std::make_unique<trial::TelemetryLogWriter>(o.telemetry_log);
    observers.add(telemetry_log.get());
  }
  trial::ProgressPrinter progress(stdout, isatty(STDOUT_FILENO) != 0, trial::suite_eta_from_environment());
  observers.add(&progress);
  std::optional<results::ResultsStore> store;
  std::unique_ptr<trial::TrialStoreWriter> store_writer;
  if (!o.results_dir.empty() && leader) {
    store.emplace(results::ResultsStore::open(o.results_dir));
    store_writer = std::make_unique<trial::TrialStoreWriter>(*store, o.suite_id, o.trial_key, environment);
    observers.add(store_writer.get());
  }
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  trial::TrialOutcome out;
  try {
    out = trial::run_trial(spec, observers);
  } catch (const Error& e) {
    if (spec.shard.world_size > 1 && writer.document().contains("config")) {
      trial::TrialOutcome failed;  // a distributed check failed after the trial had started
      failed.state = results::TrialStatus::failed;
      failed.error = e.what();
      failed.world_size = spec.shard.world_size;
      writer.on_finish(failed, {});
    }
    throw;
  }
  std::signal(SIGINT, SIG_DFL);
  if (leader && !log::quiet()) print_outcome(spec, out, environment);
  switch (out.state) {
    case results::TrialStatus::completed: return 0;
    case results::TrialStatus::interrupted: return static_cast<int>(ExitStatus::interrupted);
    default:
      fmt::print(stderr, "cifarbench: trial {}: {}\n", results::to_string(out.state), out.error);
      return static_cast<int>(ExitStatus::failed);
  }
}

const CommandRegistration train_registration{"train", 20, [](CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand("train", "Train one model with one framework and measure it");
  add_python_option(cmd);
  cmd->add_option("--framework,-f", o->framework,
                  "framework: " + backends::backend_names() + " (availability, version or why not: `cifarbench env`)")->capture_default_str();
  cmd->add_option("--model,-m", o->model, "zoo model (see `cifarbench models`) or a model file")->capture_default_str();
  cmd->add_option("--recipe", o->recipe_file, "recipe TOML file (docs/recipes.md); flags override it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--epochs", o->epochs, "epochs")->check(CLI::Range(1, 100000));
  cmd->add_option("--data", o->data_path, "dataset path: CIFAR binary dir, image folder or archive");
  cmd->add_option("--dataset", o->dataset, "cifar10, cifar100, cifar100-coarse or synthetic")->capture_default_str();
  cmd->add_option("--synthetic-train", o->synthetic_train, "training images of --dataset synthetic")
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--synthetic-test", o->synthetic_test, "test images of --dataset synthetic")
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--threads", o->threads, "CPU threads for the framework (0: all cores)")->check(CLI::Range(0, 4096));
  cmd->add_option("--batch-size", o->batch_size, "batch size")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--lr", o->lr, "peak learning rate")->check(finite_in(0.0, 1e6));
  cmd->add_option("--weight-decay", o->weight_decay, "weight decay")->check(finite_in(0.0, 1.0));
  cmd->add_option("--schedule", o->schedule, "constant, step, cosine or onecycle")
      ->check(CLI::IsMember({"constant", "step", "cosine", "onecycle"}));
  cmd->add_option("--target-acc", o->target_acc, "time-to-accuracy target (fraction)")->check(finite_in(0.0, 1.0));
  cmd->add_option("--eval-every", o->eval_every, "evaluate every N epochs")->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", o->seed, "seed for weights, data order and augmentation")
      ->check(non_negative_integer())->capture_default_str();
  cmd->add_option("--workers", o->workers, "input pipeline threads")->check(CLI::Range(0, 256));
  cmd->add_option("--device", o->device, "cpu, cuda:N, or cuda:local (cuda:LOCAL_RANK in a distributed run)");
  cmd->add_option("--precision", o->precision, "off, fp16 or bf16 (GPU)")->check(CLI::IsMember({"off", "fp16", "bf16"}));
  cmd->add_option("--out", o->out_dir, "directory for result.json and checkpoints");
  cmd->add_flag("--checkpoint", o->checkpoint, "save weights and optimizer state after every epoch");
  cmd->add_flag("--resume", o->resume, "continue from --out's checkpoint");
  cmd->add_flag("--restart-changed", o->restart_changed,
                "with --resume: when the checkpoint was written by other options, start afresh "
                "instead of refusing");
  cmd->add_flag("--no-telemetry", o->no_telemetry, "do not sample CPU/GPU telemetry");
  cmd->add_option("--telemetry-hz", o->telemetry_hz, "telemetry samples per second")->check(finite_in(0.1, 1000.0));
  cmd->add_flag("--no-download", o->no_download, "never download data");
  cmd->add_option("--nproc", o->nproc,
                  "data-parallel ranks on this machine (docs/distributed.md); a launcher's "
                  "RANK/WORLD_SIZE, SLURM_* or OMPI_* variables make this process one rank")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--dist-timeout", o->dist_timeout_s,
                  "seconds after which a missing or dead rank fails the others")
      ->check(CLI::Range(1, 86400))->capture_default_str();
  cmd->add_option("--tf-lib", o->tf_lib, "path of the TensorFlow C library");
  cmd->add_option("--step-log", o->step_log, "write every step's learning rate, loss and accuracy to this CSV file");
  cmd->add_option("--telemetry-log", o->telemetry_log,
                  "write every telemetry sample (with the wall-clock start) to this JSON file");
  cmd->add_option("--time-limit", o->time_limit_s, "seconds after which the trial stops as `timeout`, keeping its epochs")
      ->check(finite_in(0.001, 1e9));
  cmd->add_option("--read-every", o->read_every,
                  "read the steps' loss and accuracy back from the trainer every N steps (and at "
                  "each epoch's end): a GPU queues N steps ahead instead of waiting for each; 0: "
                  "every step on the CPU, 10 on a GPU")
      ->check(CLI::Range(0, 1000000))->capture_default_str();
  // Suite-child mode, used by `cifarbench run` (hidden from --help): every option from one file.
  cmd->add_option("--trial", o->trial_file, "")->group("")->check(CLI::ExistingFile);
  cmd->callback([o, cmd] {
    if (!o->trial_file.empty()) {
      for (const CLI::Option* opt : cmd->get_options()) {
        const std::string name = opt->get_single_name();
        if (opt->count() > 0 && name != "trial" && name != "step-log" && name != "telemetry-log" &&
            name != "help") {
          throw InputError(fmt::format("--trial: --{} cannot be combined with it (the trial file sets "
                                       "every option)", name));
        }
      }
      const std::string step_log = o->step_log, telemetry_log = o->telemetry_log;
      *o = options_from_trial_file(o->trial_file);
      o->step_log = step_log;
      o->telemetry_log = telemetry_log;
    }
    if (o->dataset == "synthetic" && !o->data_path.empty()) {
      throw InputError(fmt::format("--data {}: --dataset synthetic generates its data and reads "
                                   "none; drop --data or name a real dataset", o->data_path));
    }
    if (o->restart_changed && !o->resume) {
      throw InputError("--restart-changed: only with --resume");
    }
    const auto launched = launch::parse_launch_environment(launch::process_environment());
    // A rank that --nproc started from a trial file: this process is one of its processes.
    if (!o->trial_file.empty() && launched && launched->world_size == o->nproc) o->nproc = 1;
    if (o->nproc > 1) {
      if (launched && launched->world_size > 1) {
        throw InputError(fmt::format("--nproc {}: this process is already rank {} of {} started by "
                                     "{} (its environment variables say so); use one or the other",
                                     o->nproc, launched->rank, launched->world_size, launched->launcher));
      }
      set_exit_status(run_local_world(*o));
      return;
    }
    set_exit_status(run_train(*o, launched && launched->world_size > 1 ? launched : std::nullopt));
  });
}};

}  // namespace
}  // namespace cb::cli
