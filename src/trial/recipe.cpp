#include "trial/recipe.h"

#include "core/config.h"
#include "core/error.h"
#include "core/json_value.h"

namespace cb::trial {
namespace {
constexpr double kHuge = 1e9;
}  // namespace

Recipe parse_recipe(const toml::table& table, const std::string& source) {
  Recipe r;
  r.source = source;
  config::TableReader root(table, source);
  r.name = root.string("name", r.name);
  if (auto train = root.table("train")) {
    r.epochs = static_cast<int>(train->integer("epochs", r.epochs, 1, 100000));
    r.eval_every = static_cast<int>(train->integer("eval_every", r.eval_every, 1, 100000));
    if (train->has("target_accuracy")) {
      r.target_accuracy = train->number("target_accuracy", 0.9, 1e-6, 1.0);
    }
    r.warmup_steps = static_cast<int>(train->integer("warmup_steps", r.warmup_steps, 0, 1000000));
    r.max_steps_per_epoch =
        static_cast<int>(train->integer("max_steps_per_epoch", 0, 0, 100000000));
    r.eval_images = static_cast<int>(train->integer("eval_images", 0, 0, 100000000));
    train->reject_unknown_keys();
  }
  if (auto opt = root.table("optimizer")) {
    const std::string kind = opt->choice("kind", "sgd", {"sgd", "adamw"});
    r.optimizer.kind = kind == "sgd" ? backends::OptimizerConfig::Kind::sgd
                                     : backends::OptimizerConfig::Kind::adamw;
    r.lr = opt->number("lr", r.lr, 0.0, kHuge);
    r.optimizer.momentum = opt->number("momentum", r.optimizer.momentum, 0.0, 0.999999);
    r.optimizer.nesterov = opt->boolean("nesterov", r.optimizer.nesterov);
    r.optimizer.weight_decay = opt->number("weight_decay", r.optimizer.weight_decay, 0.0, 1.0);
    r.optimizer.beta1 = opt->number("beta1", r.optimizer.beta1, 0.0, 0.999999);
    r.optimizer.beta2 = opt->number("beta2", r.optimizer.beta2, 0.0, 0.999999999);
    r.optimizer.eps = opt->number("eps", r.optimizer.eps, 1e-12, 1.0);
    r.optimizer.label_smoothing = opt->number("label_smoothing", 0.0, 0.0, 0.999);
    if (r.optimizer.nesterov && r.optimizer.momentum == 0.0 &&
        r.optimizer.kind == backends::OptimizerConfig::Kind::sgd) {
      opt->fail("nesterov", "false when momentum is 0 (Nesterov needs momentum)");
    }
    opt->reject_unknown_keys();
  }
  if (auto sched = root.table("schedule")) {
    r.schedule.kind = parse_schedule_kind(
        sched->choice("kind", to_string(r.schedule.kind), {"constant", "step", "cosine", "onecycle"}),
        source + ": key 'schedule.kind'");
    r.schedule.warmup_fraction =
        sched->number("warmup_fraction", r.schedule.warmup_fraction, 0.0, 1.0);
    r.schedule.start_factor = sched->number("start_factor", r.schedule.start_factor, 0.0, 1.0);
    r.schedule.final_factor = sched->number("final_factor", r.schedule.final_factor, 0.0, 1.0);
    r.schedule.milestones = sched->numbers("milestones", r.schedule.milestones);
    for (double m : r.schedule.milestones) {
      if (m < 0) sched->fail("milestones", "epochs ≥ 0");
    }
    r.schedule.gamma = sched->number("gamma", r.schedule.gamma, 0.0, 1.0);
    sched->reject_unknown_keys();
  }
  if (auto hw = root.table("hardware")) {
    backends::ExecutionSettings& x = r.execution;
    x.threads = static_cast<int>(hw->integer("threads", x.threads, 0, 4096));
    x.device = hw->string("device", x.device);
    x.precision = *backends::parse_mixed_precision(hw->choice("precision", "off", {"off", "fp16", "bf16"}));
    x.channels_last = hw->boolean("channels_last", x.channels_last);
    x.deterministic = hw->boolean("deterministic", x.deterministic);
    x.autotune = hw->boolean("autotune", x.autotune);
    x.xla = hw->boolean("xla", x.xla);
    hw->reject_unknown_keys();
  }
  r.pipeline = data::parse_pipeline_config(root);
  root.reject_unknown_keys();
  r.schedule.peak_lr = r.lr;
  return r;
}

Recipe load_recipe(const std::filesystem::path& path) {
  return parse_recipe(config::parse_file(path), path.string());
}

nlohmann::json to_json(const Recipe& r) {
  nlohmann::json j;
  j["name"] = r.name;
  j["source"] = r.source;
  j["train"] = {{"epochs", r.epochs},
                {"eval_every", r.eval_every},
                {"target_accuracy", or_null(r.target_accuracy)},
                {"warmup_steps", r.warmup_steps},
                {"max_steps_per_epoch", r.max_steps_per_epoch},
                {"eval_images", r.eval_images}};
  j["optimizer"] = {
      {"kind", r.optimizer.kind == backends::OptimizerConfig::Kind::sgd ? "sgd" : "adamw"},
      {"lr", r.lr},
      {"momentum", r.optimizer.momentum},
      {"nesterov", r.optimizer.nesterov},
      {"weight_decay", r.optimizer.weight_decay},
      {"beta1", r.optimizer.beta1},
      {"beta2", r.optimizer.beta2},
      {"eps", r.optimizer.eps},
      {"label_smoothing", r.optimizer.label_smoothing}};
  j["schedule"] = {{"kind", to_string(r.schedule.kind)},
                   {"warmup_fraction", r.schedule.warmup_fraction},
                   {"start_factor", r.schedule.start_factor},
                   {"final_factor", r.schedule.final_factor},
                   {"milestones", r.schedule.milestones},
                   {"gamma", r.schedule.gamma}};
  j["hardware"] = to_json(r.execution);
  j["pipeline"] = data::to_json(r.pipeline);
  return j;
}

nlohmann::json to_json(const backends::ExecutionSettings& x) {
  return {{"threads", x.threads},
          {"device", x.device},
          {"precision", backends::to_string(x.precision)},
          {"channels_last", x.channels_last},
          {"deterministic", x.deterministic},
          {"autotune", x.autotune},
          {"xla", x.xla}};
}

}  // namespace cb::trial
