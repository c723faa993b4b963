#include "runtime/train/curriculum.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/distributed/share.h"
#include "runtime/report/format.h"

namespace perturb {

double Ramp::at(int64_t epoch, int64_t epochs) const {
  if (epochs <= 1) return end;
  const double t = static_cast<double>(epoch - 1) / static_cast<double>(epochs - 1);
  return start + (end - start) * std::min(1.0, std::max(0.0, t));
}

std::string Ramp::describe() const {
  return "ramp(" + format_number(start) + ", " + format_number(end) + ")";
}

RampedAttack::RampedAttack(AttackPtr base, std::map<std::string, Ramp> ramps)
    : base_(std::move(base)), ramps_(std::move(ramps)) {}

std::string RampedAttack::describe() const {
  std::string out = base_->describe() + " with ";
  bool first = true;
  for (const auto& [name, ramp] : ramps_) {
    out += (first ? "" : ", ") + name + ": " + ramp.describe();
    first = false;
  }
  return out;
}

AttackPtr RampedAttack::at(int64_t epoch, int64_t epochs) const {
  Params params;
  for (const auto& [name, ramp] : ramps_) {
    const double v = ramp.at(epoch, epochs);
    params[name] = {v, v};
  }
  return base_->with(params);
}

torch::Tensor RampedAttack::run(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                                at::Generator& gen, AttackStats* stats) const {
  return at(1, 1)->run(model, x, y, gen, stats);
}

ThreatPtr RampedAttack::threat() const {
  return at(1, 1)->threat();
}

std::shared_ptr<Attack> RampedAttack::with(const Params& params) const {
  auto ramps = ramps_;
  for (const auto& [name, value] : params) ramps.erase(name);  // a fixed value replaces a ramp
  return std::make_shared<RampedAttack>(base_->with(params), std::move(ramps));
}

AttackPtr make_ramped_attack(AttackPtr base, std::map<std::string, Ramp> ramps) {
  // Checks the names (and values) now, with the end values, so a typo fails at the `with`.
  Params params;
  for (const auto& [name, ramp] : ramps) params[name] = {ramp.start, ramp.start};
  base->with(params);
  for (auto& [name, ramp] : ramps) params[name] = {ramp.end, ramp.end};
  base->with(params);
  return std::make_shared<RampedAttack>(std::move(base), std::move(ramps));
}

Task stage_task(const Stage& stage, int64_t epoch) {
  Task task = stage.task;
  if (task.kind == Task::Kind::kAdversarial) {
    if (auto ramped = std::dynamic_pointer_cast<const RampedAttack>(task.attack)) {
      task.attack = ramped->at(epoch, stage.epochs);
      for (const auto& [name, ramp] : ramped->ramps()) {
        task.attack_name += ", " + name + ": " + format_number(ramp.at(epoch, stage.epochs));
      }
    }
  }
  return task;
}

void check_curriculum(const std::vector<Stage>& stages) {
  if (stages.empty()) throw Error("a Curriculum needs at least one stage {epochs, task}");
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].epochs < 1) {
      throw Error("stage " + std::to_string(i + 1) + " of the Curriculum has " +
                  std::to_string(stages[i].epochs) + " epochs; each stage needs at least 1");
    }
  }
}

std::vector<std::string> curriculum_plan(const std::vector<Stage>& stages) {
  int64_t total = 0;
  for (const auto& s : stages) total += s.epochs;
  std::vector<std::string> out;
  int64_t n = 0;
  for (const auto& s : stages) {
    for (int64_t e = 1; e <= s.epochs; ++e) {
      out.push_back("epoch " + std::to_string(++n) + "/" + std::to_string(total) + ": " +
                    stage_task(s, e).describe());
    }
  }
  return out;
}

namespace {
constexpr uint64_t kRankNoiseSalt = 0x534E4E;  // "SNN": each rank's own network noise
}  // namespace

void train_curriculum(Model& model, const Dataset& data, const std::vector<Stage>& stages,
                      const TrainOptions& options, const SnnLossOptions& snn_options) {
  check_curriculum(stages);
  if (options.batch <= 0) throw Error("batch must be positive");
  if (data.size() == 0) throw Error("cannot train on " + data.name + ": it has no samples");
  for (const auto& s : stages) {
    if (s.task.kind == Task::Kind::kNoisy && !dynamic_cast<SnnModel*>(&model)) {
      throw Error("the task " + s.task.describe() + " needs a stochastic network (zoo.snn(...)); " +
                  model.describe() + " has no noise to turn on");
    }
  }
  torch::AutoGradMode enable_grad(true);
  auto* snn = dynamic_cast<SnnModel*>(&model);
  auto opt = make_schedule_optimizers(model, options.optimizer, snn_options);
  ModeGuard training(model, /*training=*/true);
  auto root = make_generator(options.seed);
  if (snn) snn->reseed(next_seed(root));
  // Data-parallel in a group of processes (docs/distributed.md): rank 0's weights to start, each
  // rank a contiguous shard of every batch, its draws (attacks, network noise) its own.
  const WorkShare share = WorkShare::of_process();
  broadcast_from_rank0(opt.all);
  broadcast_from_rank0(model.buffers());
  if (snn && share.distributed()) {
    snn->reseed(
        mix_seed(mix_seed(options.seed, kRankNoiseSalt), static_cast<uint64_t>(share.rank)));
  }
  int64_t total = 0;
  for (const auto& s : stages) total += s.epochs;
  int64_t epoch = 0;
  try {
    for (const auto& stage : stages) {
      for (int64_t e = 1; e <= stage.epochs; ++e) {
        ++epoch;
        const Task task = stage_task(stage, e);
        const auto start = std::chrono::steady_clock::now();
        const Dataset shuffled = data.shuffle(next_seed(root));
        auto gen = make_generator(next_seed(root));
        Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(total),
                          shuffled.size());
        double loss_sum = 0;
        int64_t correct = 0;
        for (const auto& batch : shuffled.batches(options.batch)) {
          const auto [first, last] = share.rows(batch.size());
          at::Generator rank_gen =
              share.distributed()
                  ? make_generator(mix_seed(next_seed(gen), static_cast<uint64_t>(share.rank)))
                  : gen;
          if (first == last) {
            empty_shard_step(model, task, opt);
            continue;
          }
          const auto x = batch.x.slice(0, first, last).to(model.device());
          const auto y = batch.y.slice(0, first, last).to(model.device());
          const auto in = task_inputs(model, task, x, y, rank_gen);
          std::optional<double> weight;
          if (share.distributed()) weight = static_cast<double>(last - first) / batch.size();
          const auto step = task_step(model, task, in, epoch, snn_options, opt, weight);
          loss_sum += step.loss.item<double>() * static_cast<double>(last - first);
          correct += (step.logits.argmax(1) == in.y).sum().item<int64_t>();
          progress.advance(batch.size(), "loss " + format_number(step.loss.item<double>()));
        }
        progress.finish();
        if (share.distributed()) {
          const auto sums = sum_over_ranks(
              torch::tensor({loss_sum, static_cast<double>(correct)}, torch::kFloat64));
          loss_sum = sums[0].item<double>();
          correct = static_cast<int64_t>(sums[1].item<double>());
          average_over_ranks(model.buffers());
        }
        EpochStats stats;
        stats.epoch = epoch;
        stats.loss = loss_sum / static_cast<double>(shuffled.size());
        stats.accuracy = static_cast<double>(correct) / static_cast<double>(shuffled.size());
        stats.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        spdlog::info("epoch {}/{} ({}): loss {:.4f}, accuracy {:.2f}%, {:.1f}s", epoch, total,
                     task.describe(), stats.loss, 100 * stats.accuracy, stats.seconds);
        if (options.on_epoch) options.on_epoch(stats);
      }
    }
  } catch (...) {
    if (snn) snn->set_noise(true);
    throw;
  }
  if (snn) snn->set_noise(true);
}

}  // namespace perturb
