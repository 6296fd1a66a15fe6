#include "bench/trial.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "backends/backend.h"
#include "bench/environment.h"
#include "core/error.h"
#include "core/log.h"
#include "data/batcher.h"
#include "data/prefetch.h"
#include "data/transforms.h"
#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/weights_file.h"
#include "model/custom_model.h"
#include "model/zoo.h"
#include "telemetry/summary.h"

namespace cb::bench {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(std::llround(s));
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

const backends::Backend& require_backend(const std::string& name) {
  const backends::Backend* backend = backends::find_backend(name);
  if (!backend) {
    throw InputError(fmt::format("--framework: unknown framework '{}' (valid: {})", name,
                                 backends::backend_names()));
  }
  const backends::BackendInfo info = backend->info();
  if (!info.available) {
    throw Unsupported(fmt::format("--framework {}: not available on this machine: {}", name,
                                  info.unavailable_reason));
  }
  return *backend;
}

model::ModelSpec require_model(const std::string& name, int num_classes) {
  return model::resolve_model(name, num_classes);
}

// Checkpoint files in out_dir/checkpoint/: model.weights, optimizer.weights, state.json.
struct CheckpointPaths {
  std::filesystem::path dir, model, optimizer, state;
  explicit CheckpointPaths(const std::filesystem::path& out)
      : dir(out / "checkpoint"),
        model(dir / "model.weights"),
        optimizer(dir / "optimizer.weights"),
        state(dir / "state.json") {}
};

EpochStats epoch_from_json(const nlohmann::json& j) {
  EpochStats e;
  e.epoch = j.at("epoch").get<int>();
  e.train_loss = j.at("train_loss").get<double>();
  e.train_accuracy = j.at("train_accuracy").get<double>();
  if (!j.at("test_accuracy").is_null()) e.test_accuracy = j["test_accuracy"].get<double>();
  if (!j.at("test_loss").is_null()) e.test_loss = j["test_loss"].get<double>();
  e.learning_rate = j.at("learning_rate").get<double>();
  e.epoch_time_s = j.at("epoch_time_s").get<double>();
  e.training_time_s = j.at("training_time_s").get<double>();
  e.eval_time_s = j.at("eval_time_s").get<double>();
  e.wall_time_s = j.at("wall_time_s").get<double>();
  e.images_per_s = j.at("images_per_s").get<double>();
  return e;
}

// FNV-1a over names, shapes and values: equal on every rank iff the weights are bit-identical.
std::uint64_t weights_checksum(const model::Weights& weights) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  for (const auto& t : weights.tensors) {
    mix(t.name.data(), t.name.size());
    mix(t.tensor.shape.data(), t.tensor.shape.size() * sizeof(t.tensor.shape[0]));
    mix(t.tensor.values.data(), t.tensor.values.size() * sizeof(float));
  }
  return h;
}

// Checks, across every rank, that all start from the same weights and take the same number of
// steps per epoch (a rank with one step more would wait for the others until the timeout).
// Each value v goes in as v and v²: all ranks agree iff world · Σv² = (Σv)², exact in doubles
// for byte-sized v.
void check_ranks_agree(backends::Trainer& trainer, int world, std::uint64_t checksum,
                       std::int64_t steps_per_epoch) {
  std::vector<double> values;
  auto add = [&](double v) {
    values.push_back(v);
    values.push_back(v * v);
  };
  for (int i = 0; i < 8; ++i) add(static_cast<double>((checksum >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) add(static_cast<double>((steps_per_epoch >> (8 * i)) & 0xff));
  values.push_back(1.0);
  trainer.all_reduce_sum(values);
  if (values.back() != world) {
    throw CheckFailed(fmt::format("distributed: {} ranks answered, expected {}", values.back(), world));
  }
  for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
    if (world * values[i + 1] != values[i] * values[i]) {
      throw CheckFailed(i < 16 ? "distributed: the ranks' initial weights differ (checksums do not "
                                 "match); every rank must run the same model, seed and cifarbench"
                               : "distributed: the ranks would take different numbers of steps per "
                                 "epoch; set data.shard_rule = \"pad\" or \"drop\"");
    }
  }
}
// Batch-norm running statistics are per rank; evaluation and checkpoints use rank 0's on every
// rank (what DDP's broadcast_buffers gives), sent as a sum in which the others contribute zeros.
void broadcast_buffers_from_rank0(backends::Trainer& trainer, int rank) {
  model::Weights w = trainer.export_weights();
  std::vector<double> values;
  for (const auto& t : w.tensors) {
    if (t.trainable) continue;
    for (float v : t.tensor.values) values.push_back(rank == 0 ? static_cast<double>(v) : 0.0);
  }
  if (values.empty()) return;
  trainer.all_reduce_sum(values);
  std::size_t i = 0;
  for (auto& t : w.tensors) {
    if (t.trainable) continue;
    for (float& v : t.tensor.values) v = static_cast<float>(values[i++]);
  }
  trainer.import_weights(w);
}
}  // namespace

std::string to_string(TrialState state) {
  switch (state) {
    case TrialState::running: return "running";
    case TrialState::completed: return "completed";
    case TrialState::diverged: return "diverged";
    case TrialState::interrupted: return "interrupted";
    case TrialState::failed: return "failed";
  }
  return "?";
}

std::atomic<bool>& interrupt_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(fmt::format("{}: cannot write (check the directory exists and is writable)", tmp.string()));
    out << text;
    out.flush();
    if (!out) throw InputError(fmt::format("{}: write failed (disk full?)", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot rename into place: {}", path.string(), ec.message()));
}

nlohmann::json trial_config_json(const TrialSpec& spec) {
  return {{"framework", spec.framework},
          {"model", spec.model},
          {"seed", spec.seed},
          {"recipe", to_json(spec.recipe)},
          {"data", {{"dataset", spec.data.dataset}, {"path", spec.data.path}}},
          {"telemetry", {{"enabled", spec.telemetry.enabled}, {"rate_hz", spec.telemetry.rate_hz}}},
          {"rank", spec.shard.rank},
          {"world_size", spec.shard.world_size}};
}

nlohmann::json to_json(const EpochStats& e) {
  return {{"epoch", e.epoch},
          {"train_loss", e.train_loss},
          {"train_accuracy", e.train_accuracy},
          {"test_accuracy", optional_json(e.test_accuracy)},
          {"test_loss", optional_json(e.test_loss)},
          {"learning_rate", e.learning_rate},
          {"epoch_time_s", e.epoch_time_s},
          {"training_time_s", e.training_time_s},
          {"eval_time_s", e.eval_time_s},
          {"wall_time_s", e.wall_time_s},
          {"images_per_s", e.images_per_s}};
}

nlohmann::json to_json(const TrialOutcome& o) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : o.epochs) epochs.push_back(to_json(e));
  return {{"status", to_string(o.state)},
          {"error", o.error},
          {"diverged_step", o.diverged_step ? nlohmann::json(*o.diverged_step) : nlohmann::json(nullptr)},
          {"dataset", o.dataset},
          {"synthetic_data", o.synthetic},
          {"layout", o.layout},
          {"parameters", o.parameters},
          {"mflops_per_image", o.mflops_per_image},
          {"test_accuracy", optional_json(o.test_accuracy)},
          {"time_to_target_s", optional_json(o.time_to_target_s)},
          {"training_time_s", o.training_time_s},
          {"wall_time_s", o.wall_time_s},
          {"images_per_s", o.images_per_s},
          {"images_per_s_including_warmup", o.images_per_s_with_warmup},
          {"steps", o.steps},
          {"training_images", o.training_images},
          {"world_size", o.world_size},
          {"images_per_s_by_rank", o.images_per_s_by_rank},
          {"communication_s_per_step", o.communication_s_per_step},
          {"epochs", epochs},
          {"telemetry", o.telemetry}};
}

std::string format_epoch_line(const EpochStats& e, int total_epochs, double eta_s) {
  std::string test = e.test_accuracy ? fmt::format("test {:5.2f}%", 100.0 * *e.test_accuracy)
                                     : std::string("test   -   ");
  return fmt::format("epoch {:>3}/{:<3} loss {:.4f}  train {:5.2f}%  {}  lr {:.4g}  {:7.1f} img/s  "
                     "epoch {}  ETA {}",
                     e.epoch, total_epochs, e.train_loss, 100.0 * e.train_accuracy, test,
                     e.learning_rate, e.images_per_s, format_duration(e.epoch_time_s),
                     format_duration(eta_s));
}

ResultFileWriter::ResultFileWriter(std::filesystem::path path, nlohmann::json environment)
    : path_(std::move(path)) {
  doc_["environment"] = std::move(environment);
}

void ResultFileWriter::on_start(const nlohmann::json& config) {
  doc_["config"] = config;
  doc_["result"] = {{"status", "running"}};
  write();
}

void ResultFileWriter::on_epoch(const TrialOutcome& so_far, const EpochStats&) {
  doc_["result"] = to_json(so_far);
  write();
}

void ResultFileWriter::on_finish(const TrialOutcome& outcome, const telemetry::SampleLog&) {
  doc_["result"] = to_json(outcome);
  write();
}

void ResultFileWriter::write() { write_file_atomically(path_, doc_.dump(2) + "\n"); }

void ObserverList::on_start(const nlohmann::json& c) {
  for (auto* o : observers_) o->on_start(c);
}
void ObserverList::on_epoch(const TrialOutcome& s, const EpochStats& e) {
  for (auto* o : observers_) o->on_epoch(s, e);
}
void ObserverList::on_finish(const TrialOutcome& out, const telemetry::SampleLog& log) {
  for (auto* o : observers_) o->on_finish(out, log);
}

TrialOutcome run_trial(const TrialSpec& spec, TrialObserver& observer) {
  const auto wall_start = Clock::now();
  const Recipe& recipe = spec.recipe;

  // Everything that can be refused is checked before any training starts.
  const backends::Backend& backend = require_backend(spec.framework);
  const int world = spec.shard.world_size;
  const bool distributed = world > 1;
  const bool leader = spec.shard.rank == 0;  // rank 0 prints, checkpoints and reports
  if (distributed && !backend.supports_distributed()) {
    throw Unsupported(fmt::format("--nproc/WORLD_SIZE {}: the {} backend trains in one process "
                                  "only; data-parallel training needs --framework torch",
                                  world, spec.framework));
  }
  const data::Dataset dataset = data::resolve_dataset(spec.data);
  model::ModelSpec model_spec = require_model(spec.model, dataset.num_classes());
  if (model_spec.input.c != dataset.channels || model_spec.input.h != dataset.height ||
      model_spec.input.w != dataset.width) {
    throw InputError(fmt::format(
        "--model {}: expects {}x{}x{} inputs but dataset {} has {}x{}x{} images", spec.model,
        model_spec.input.c, model_spec.input.h, model_spec.input.w, dataset.name,
        dataset.channels, dataset.height, dataset.width));
  }
  if (auto why = backend.cannot_build(model_spec)) {
    throw Unsupported(fmt::format("--framework {} cannot build model '{}': {}", spec.framework,
                                  spec.model, *why));
  }
  const model::Weights initial = model::initial_weights(model_spec, spec.seed);

  backends::TrainerConfig tc;
  tc.spec = &model_spec;
  tc.initial_weights = &initial;
  tc.optimizer = recipe.optimizer;
  tc.device = recipe.device;
  tc.threads = recipe.threads;
  tc.precision = recipe.precision;
  tc.channels_last = recipe.channels_last;
  tc.autotune = recipe.autotune;
  tc.deterministic = recipe.deterministic;
  tc.xla = recipe.xla;
  tc.seed = spec.seed;
  if (distributed) {
    auto dc = std::make_shared<backends::DistributedConfig>();
    dc->rank = spec.shard.rank;
    dc->world_size = world;
    dc->master_addr = spec.master_addr;
    dc->master_port = spec.master_port;
    dc->timeout_s = spec.distributed_timeout_s;
    tc.distributed = std::move(dc);
  }
  std::unique_ptr<backends::Trainer> trainer = backend.create_trainer(tc);

  TrialOutcome out;
  out.dataset = dataset.name;
  out.synthetic = dataset.synthetic;
  out.parameters = model::parameter_count(model_spec);
  out.mflops_per_image = static_cast<double>(model::flop_count(model_spec)) / 1e6;
  if (trainer->parameter_count() != out.parameters) {
    throw CheckFailed(fmt::format("{} reports {} parameters for {} but the spec has {}",
                                  spec.framework, trainer->parameter_count(), spec.model,
                                  out.parameters));
  }

  // The harness's pipeline, in the layout the backend takes.
  data::PipelineConfig pipeline = recipe.pipeline;
  pipeline.layout = trainer->input_layout();
  out.layout = std::string(data::to_string(pipeline.layout));
  const data::Normalization normalization = data::resolve_normalization(pipeline.normalize, dataset);
  const data::Batcher train_batcher(dataset, dataset.train, pipeline, normalization, spec.seed, true);
  const data::Batcher eval_batcher(dataset, dataset.test, pipeline, normalization, spec.seed, false);
  const data::Sampler sampler(dataset.train.count, spec.seed, true, spec.shard, pipeline.shard_rule);
  std::int64_t steps_per_epoch =
      data::batch_count(sampler.samples_per_epoch(), pipeline.batch_size, pipeline.drop_last);
  if (recipe.max_steps_per_epoch > 0) {
    steps_per_epoch = std::min<std::int64_t>(steps_per_epoch, recipe.max_steps_per_epoch);
  }
  if (steps_per_epoch == 0) {
    throw InputError(fmt::format("batch size {} is larger than the {} training samples of this "
                                 "rank (lower data.batch_size or set data.drop_last = false)",
                                 pipeline.batch_size, sampler.samples_per_epoch()));
  }
  const std::int64_t total_steps = steps_per_epoch * recipe.epochs;
  out.world_size = world;
  if (distributed) {
    check_ranks_agree(*trainer, world, weights_checksum(trainer->export_weights()), steps_per_epoch);
  }

  nlohmann::json config = trial_config_json(spec);
  config["dataset"] = {{"name", dataset.name}, {"source", dataset.source},
                       {"synthetic", dataset.synthetic}, {"train", dataset.train.count},
                       {"test", dataset.test.count}, {"classes", dataset.classes}};
  config["model_info"] = {{"parameters", out.parameters}, {"mflops_per_image", out.mflops_per_image}};
  config["backend"] = {{"name", backend.info().name}, {"version", backend.info().version}};
  observer.on_start(config);

  // Resume from a checkpoint: weights, optimizer state and the epochs already done.
  int first_epoch = 1;
  const bool can_checkpoint = !spec.out_dir.empty() && (spec.checkpoint || spec.resume);
  const CheckpointPaths ckpt(spec.out_dir);
  if (spec.resume && !spec.out_dir.empty() && std::filesystem::exists(ckpt.state)) {
    std::ifstream in(ckpt.state);
    nlohmann::json state;
    try {
      state = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw InputError(fmt::format("{}: unreadable checkpoint state: {}", ckpt.state.string(), e.what()));
    }
    trainer->import_weights(model::load_weights(ckpt.model));
    if (std::filesystem::exists(ckpt.optimizer)) {
      trainer->import_optimizer_state(model::load_weights(ckpt.optimizer));
    }
    for (const auto& e : state.at("epochs")) out.epochs.push_back(epoch_from_json(e));
    first_epoch = state.at("epoch").get<int>() + 1;
    out.steps = state.at("steps").get<std::int64_t>();
    out.training_images = state.at("training_images").get<std::int64_t>();
    out.training_time_s = state.at("training_time_s").get<double>();
    if (!state.at("time_to_target_s").is_null()) out.time_to_target_s = state["time_to_target_s"].get<double>();
    if (!out.epochs.empty()) out.test_accuracy = out.epochs.back().test_accuracy;
    spdlog::info("resuming from {} after epoch {}", ckpt.dir.string(), first_epoch - 1);
  }

  telemetry::Sampler sampler_thread(spec.telemetry);
  sampler_thread.start();

  double warm_time_s = 0;  // training time spent in the warm-up steps
  std::int64_t warm_images = 0;
  std::int64_t steps_this_run = 0;
  data::Batch batch;

  // A collective that fails (a rank died) ends the trial as failed, with its results so far.
  try {
  for (int epoch = first_epoch; epoch <= recipe.epochs && out.state == TrialState::running; ++epoch) {
    EpochStats es;
    es.epoch = epoch;
    sampler_thread.set_phase(telemetry::Phase::train);
    trainer->sync();
    const auto epoch_start = Clock::now();
    double loss_sum = 0;
    double correct = 0;
    std::int64_t images = 0, steps = 0;
    {
      data::BatchStream stream = data::training_batches(train_batcher, sampler, epoch - 1, pipeline);
      while (stream.next(batch)) {
        if (steps == steps_per_epoch) break;  // a short run (train.max_steps_per_epoch)
        if (!distributed && interrupt_flag().load()) {
          out.state = TrialState::interrupted;
          out.error = fmt::format("interrupted during epoch {}", epoch);
          break;
        }
        const double lr = learning_rate_at(recipe.schedule, out.steps, total_steps, steps_per_epoch);
        trainer->set_learning_rate(lr);
        es.learning_rate = lr;
        const backends::StepResult r = trainer->train_step(batch);
        ++out.steps;
        ++steps_this_run;
        bool diverged = !std::isfinite(r.loss);
        bool interrupted = false;
        if (distributed) {  // every rank stops at the same step, or one would wait for the rest
          std::vector<double> flags{interrupt_flag().load() ? 1.0 : 0.0, diverged ? 1.0 : 0.0};
          trainer->all_reduce_sum(flags);
          interrupted = flags[0] > 0;
          diverged = flags[1] > 0;
        }
        if (diverged) {
          out.state = TrialState::diverged;
          out.diverged_step = out.steps;
          out.error = fmt::format("loss became {} at step {} (epoch {})", r.loss, out.steps, epoch);
          break;
        }
        loss_sum += r.loss;
        correct += r.accuracy * batch.n;
        images += batch.n;
        ++steps;
        if (interrupted) {
          out.state = TrialState::interrupted;
          out.error = fmt::format("interrupted during epoch {}", epoch);
          break;
        }
        if (steps_this_run == recipe.warmup_steps) {
          trainer->sync();
          warm_time_s = out.training_time_s + seconds_since(epoch_start);
          warm_images = out.training_images + images * world;  // ranks take equal batches
        }
      }
    }
    trainer->sync();
    es.epoch_time_s = seconds_since(epoch_start);
    if (distributed) {  // the world's loss, accuracy and images (outside the timed epoch)
      std::vector<double> sums{loss_sum, correct, static_cast<double>(images), static_cast<double>(steps)};
      trainer->all_reduce_sum(sums);
      loss_sum = sums[0] / world;  // every rank takes the same number of steps
      correct = sums[1];
      images = static_cast<std::int64_t>(sums[2]);
    }
    out.training_time_s += es.epoch_time_s;
    out.training_images += images;
    es.training_time_s = out.training_time_s;
    es.train_loss = steps ? loss_sum / steps : 0.0;
    es.train_accuracy = images ? correct / images : 0.0;
    es.images_per_s = es.epoch_time_s > 0 ? images / es.epoch_time_s : 0.0;
    if (out.state != TrialState::running) {
      if (steps == 0) break;  // nothing of this epoch to report
    }

    const bool evaluate = out.state == TrialState::running &&
                          (epoch % recipe.eval_every == 0 || epoch == recipe.epochs);
    if (evaluate) {
      sampler_thread.set_phase(telemetry::Phase::eval);
      const auto eval_start = Clock::now();
      if (distributed) broadcast_buffers_from_rank0(*trainer, spec.shard.rank);
      data::BatchStream stream = data::evaluation_batches(eval_batcher, pipeline, spec.shard);
      std::int64_t eval_correct = 0, eval_count = 0;
      double eval_loss = 0;
      while (stream.next(batch)) {
        const backends::EvalResult r = trainer->evaluate(batch);
        eval_correct += r.correct;
        eval_count += r.count;
        eval_loss += r.loss_sum;
      }
      trainer->sync();
      if (distributed) {  // each rank evaluated its exact share; every rank reports the whole
        std::vector<double> sums{static_cast<double>(eval_correct), static_cast<double>(eval_count), eval_loss};
        trainer->all_reduce_sum(sums);
        eval_correct = static_cast<std::int64_t>(sums[0]);
        eval_count = static_cast<std::int64_t>(sums[1]);
        eval_loss = sums[2];
      }
      es.eval_time_s = seconds_since(eval_start);
      if (eval_count > 0) {
        es.test_accuracy = static_cast<double>(eval_correct) / eval_count;
        es.test_loss = eval_loss / eval_count;
        out.test_accuracy = es.test_accuracy;
        if (recipe.target_accuracy && !out.time_to_target_s && *es.test_accuracy >= *recipe.target_accuracy) {
          out.time_to_target_s = out.training_time_s;
        }
      }
      sampler_thread.set_phase(telemetry::Phase::train);
    }
    es.wall_time_s = seconds_since(wall_start);
    out.wall_time_s = es.wall_time_s;
    out.epochs.push_back(es);

    if (leader && !log::quiet()) {
      const double per_epoch = es.epoch_time_s + es.eval_time_s;
      fmt::print("{}\n", format_epoch_line(es, recipe.epochs, per_epoch * (recipe.epochs - epoch)));
      std::fflush(stdout);
    }
    // Results first, then the checkpoint: a crash between the two redoes this epoch on resume,
    // which replaces (never duplicates) its stored row.
    observer.on_epoch(out, es);
    if (leader && can_checkpoint && out.state == TrialState::running) {
      std::filesystem::create_directories(ckpt.dir);
      model::save_weights(trainer->export_weights(), ckpt.model);
      model::save_weights(trainer->export_optimizer_state(), ckpt.optimizer);
      nlohmann::json epochs = nlohmann::json::array();
      for (const auto& e : out.epochs) epochs.push_back(to_json(e));
      write_file_atomically(ckpt.state, nlohmann::json{{"epoch", epoch},
                                                       {"steps", out.steps},
                                                       {"training_images", out.training_images},
                                                       {"training_time_s", out.training_time_s},
                                                       {"time_to_target_s", optional_json(out.time_to_target_s)},
                                                       {"epochs", epochs}}.dump(2));
    }
  }
  } catch (const std::exception& e) {  // LibTorch's own errors too (from inside backward)
    if (!distributed) throw;
    out.state = TrialState::failed;
    out.error = e.what();
  }

  sampler_thread.set_phase(telemetry::Phase::idle);
  sampler_thread.stop();
  if (out.state == TrialState::running) out.state = TrialState::completed;
  out.wall_time_s = seconds_since(wall_start);
  out.images_per_s_with_warmup = out.training_time_s > 0 ? out.training_images / out.training_time_s : 0;
  const double after_warm_time = out.training_time_s - warm_time_s;
  const std::int64_t after_warm_images = out.training_images - warm_images;
  out.images_per_s = (warm_images > 0 && after_warm_time > 0 && after_warm_images > 0)
                         ? after_warm_images / after_warm_time
                         : out.images_per_s_with_warmup;
  if (steps_this_run > 0) out.communication_s_per_step = trainer->communication_time_s() / steps_this_run;
  if (distributed && out.state != TrialState::failed) {
    // images_per_s so far counts the world's images over this rank's time; each rank's own:
    std::vector<double> by_rank(static_cast<std::size_t>(world), 0.0);
    by_rank[static_cast<std::size_t>(spec.shard.rank)] = out.images_per_s / world;
    try {
      trainer->all_reduce_sum(by_rank);
      out.images_per_s_by_rank = by_rank;
      out.images_per_s = 0;
      for (double v : by_rank) out.images_per_s += v;
    } catch (const Error& e) {
      out.state = TrialState::failed;
      out.error = e.what();
    }
  }
  const telemetry::SampleLog log = sampler_thread.log();
  const telemetry::TelemetrySummary summary =
      telemetry::summarize(log, static_cast<std::uint64_t>(out.training_images));
  out.telemetry = telemetry::to_json(summary);
  observer.on_finish(out, log);
  if (leader && !log::quiet()) fmt::print("{}", telemetry::format_summary(summary));
  return out;
}

}  // namespace cb::bench
