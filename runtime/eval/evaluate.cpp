#include "runtime/eval/evaluate.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/batch_loader.h"
#include "runtime/distributed/share.h"
#include "runtime/eval/shared_batches.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The model's class for every row of x, in batches of `batch` rows shared among the ranks.
torch::Tensor shared_predictions(Model& model, const torch::Tensor& x, int64_t batch) {
  return map_batches(x.size(0), batch, [&](int64_t, int64_t begin, int64_t end) {
    return predict_classes(model, x.slice(0, begin, end), batch);
  });
}

AttackStats& operator+=(AttackStats& sum, const AttackStats& part) {
  sum.gradient_evals += part.gradient_evals;
  sum.queries += part.queries;
  sum.gradient_evals_saved += part.gradient_evals_saved;
  return sum;
}

std::vector<std::string> names_of(const std::vector<AttackResult>& results) {
  std::vector<std::string> names;
  for (const auto& r : results) names.push_back(r.name);
  return names;
}

// The model's classes for one batch of the clean pass. The argmax of NaN logits is a class like
// any other, so an evaluation over NaN would report a made-up accuracy: stop, naming the batch
// and whether the inputs or the model's outputs are not finite.
torch::Tensor finite_predictions(Model& model, const torch::Tensor& x, int64_t batch,
                                 int64_t number) {
  if (x.size(0) == 0) return torch::zeros({0}, torch::kLong);
  ModeGuard eval(model, /*training=*/false);
  const torch::Tensor logits = forward_batched(model, x, batch);
  if (!torch::isfinite(logits).all().item<bool>()) {
    const bool inputs = !torch::isfinite(x).all().item<bool>();
    throw Error("evaluate: batch " + std::to_string(number + 1) + " of the clean pass " +
                (inputs ? "holds NaN or infinite inputs (the data is damaged)"
                        : "gives NaN or infinite outputs of the model (its weights diverged or "
                          "it overflows)"));
  }
  return logits.argmax(1).cpu();
}

// The clean pass: the model's class for every sample (CPU int64 [N], -1 for an input a streaming
// source skipped as unreadable: neither correct nor evaluated) and how many samples were read.
std::pair<torch::Tensor, int64_t> clean_predictions(Model& model, const Dataset& data,
                                                    int64_t batch) {
  const BatchRows predicted = map_dataset(data, batch, [&](int64_t k, const Dataset& part) {
    return finite_predictions(model, part.x, batch, k);
  });
  auto classes = torch::full({data.size()}, -1, torch::kInt64);
  classes.index_put_({predicted.positions}, predicted.rows.to(torch::kInt64));
  return {classes, predicted.positions.size(0)};
}

// Runs `attack` on the samples still marked robust, in batches, and clears the mark of each
// sample it fools. Batch k of the robust samples draws from a generator keyed by k, and belongs
// to rank k mod size: the outcome is the same at any world size. A streaming dataset's batches
// are decoded ahead by its workers. A keeper records each batch as the cascade's attack number
// `index`. Returns how many samples it attacked.
int64_t attack_robust(Model& model, const Dataset& data, const Attack& attack,
                      torch::Tensor& robust, at::Generator& gen, int64_t batch, AttackStats& stats,
                      ExampleKeeper* keeper, int64_t index) {
  const WorkShare share = WorkShare::of_process();
  const uint64_t attack_seed = next_seed(gen);
  const auto indices = robust.nonzero().reshape({-1});
  const int64_t count = indices.size(0);
  const auto numbers = share.owned((count + batch - 1) / batch);
  std::vector<torch::Tensor> chunks;
  std::vector<Dataset> owned;
  for (const int64_t k : numbers) {
    chunks.push_back(indices.slice(0, k * batch, std::min((k + 1) * batch, count)));
    owned.push_back(data.select(chunks.back()));
  }
  BatchLoader loader(std::move(owned));
  auto fooled = torch::zeros({robust.size(0)}, torch::kInt64);
  AttackStats own;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const LoadedBatch part = loader.next();
    const auto chunk = chunks[i].index_select(0, part.kept);
    const auto& x = part.data.x;
    const auto& y = part.data.y;
    auto batch_gen =
        make_generator(mix_seed(attack_seed, static_cast<uint64_t>(numbers[i])), gen.device());
    AttackStats spent;
    const auto x_adv = attack.run(model, x, y, batch_gen, &spent);
    own += spent;
    const auto pred = without_autograd([&] { return model.forward(x_adv).argmax(1); }).cpu();
    const auto is_fooled = pred != y.cpu();
    fooled.index_put_({chunk.index({is_fooled})}, 1);
    if (keeper) keeper->record(index, chunk, x_adv, pred, is_fooled, spent);
  }
  robust.logical_and_(sum_over_ranks(fooled) == 0);
  stats = summed_over_ranks(own);
  return count;
}

}  // namespace

EvalReport evaluate(Model& model, const Dataset& given, const std::vector<NamedAttack>& attacks,
                    at::Generator& gen, int64_t batch, bool early_stop, bool keep) {
  if (batch <= 0) throw Error("batch must be positive, got " + std::to_string(batch));
  if (given.size() == 0) throw Error("cannot evaluate on " + given.name + ": it has no samples");
  // Kept examples hold every input and its adversarial example: a streaming dataset is read in.
  const Dataset data = keep ? given.in_memory() : given;
  ModeGuard eval(model, /*training=*/false);
  EvalReport report;
  const auto start = std::chrono::steady_clock::now();
  const auto [pred_clean, read] = clean_predictions(model, data, batch);
  if (read == 0)
    throw Error("cannot evaluate on " + data.name + ": none of its inputs is readable");
  report.samples = read;
  const double n = static_cast<double>(report.samples);
  auto robust = pred_clean == data.y.cpu();
  std::optional<ExampleKeeper> keeper;
  if (keep) keeper.emplace(data.x, data.y, pred_clean);
  report.clean_seconds = seconds_since(start);
  report.clean = robust.sum().item<int64_t>() / n;
  report.early_stop = early_stop;
  for (const auto& named : attacks) {
    AttackResult result;
    result.name = named.name;
    // Early stop on (or off) for the attacks that know it; the others run as they are.
    AttackPtr attack = named.attack;
    if (attack->can_stop_early()) {
      const double on = early_stop ? 1 : 0;
      attack = attack->with({{"early_stop", Interval{on, on}}});
      result.early_stop = early_stop;
    }
    const auto attack_start = std::chrono::steady_clock::now();
    result.attacked =
        attack_robust(model, data, *attack, robust, gen, batch, result.stats,
                      keeper ? &*keeper : nullptr, static_cast<int64_t>(report.by_attack.size()));
    result.seconds = seconds_since(attack_start);
    result.accuracy = robust.sum().item<int64_t>() / n;
    report.by_attack.push_back(result);
  }
  report.robust = robust.sum().item<int64_t>() / n;
  if (keeper) report.examples = keeper->finish(names_of(report.by_attack));
  return report;
}

EvalReport evaluate_sweep(Model& model, const Dataset& data,
                          const std::vector<NamedAttack>& attacks, const std::vector<double>& eps,
                          at::Generator& gen, int64_t batch, bool early_stop, bool keep) {
  if (eps.empty()) throw Error("evaluate's eps must list at least one threat size");
  EvalReport sweep;
  for (double e : eps) {
    if (!(e >= 0) || !std::isfinite(e)) {
      throw Error("evaluate's eps must be non-negative numbers, got " + format_number(e));
    }
    std::vector<NamedAttack> sized;
    for (const auto& named : attacks) {
      sized.push_back({named.name, named.attack->with({{"eps", Interval{e, e}}})});
    }
    sweep.points.push_back(evaluate(model, data, sized, gen, batch, early_stop, keep));
    sweep.eps.push_back(e);
  }
  const auto& last = sweep.points.back();
  sweep.samples = last.samples;
  sweep.clean = last.clean;
  sweep.robust = last.robust;
  sweep.clean_seconds = last.clean_seconds;
  sweep.early_stop = last.early_stop;
  sweep.by_attack = last.by_attack;
  sweep.examples = last.examples;
  return sweep;
}

double accuracy(Model& model, const torch::Tensor& x, const torch::Tensor& y, int64_t batch) {
  if (batch <= 0) throw Error("batch must be positive, got " + std::to_string(batch));
  if (x.size(0) != y.size(0)) {
    throw Error("accuracy needs as many labels as inputs, got " + std::to_string(x.size(0)) +
                " inputs and " + std::to_string(y.size(0)) + " labels");
  }
  if (x.size(0) == 0) return 0;
  const auto correct = shared_predictions(model, x, batch) == y.cpu();
  return correct.sum().item<int64_t>() / static_cast<double>(x.size(0));
}

}  // namespace perturb
