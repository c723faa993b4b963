// Early stop in FAB and Square (Attack::can_stop_early, with(early_stop: true)): a fooled sample
// leaves the remaining steps, so it costs fewer gradient evaluations (FAB) or queries (Square),
// no sample that the full run fools is lost, and every result stays inside the threat.
#include <catch2/catch.hpp>

#include "runtime/attack/attacks.h"
#include "runtime/core/random.h"
#include "test_util.h"

using namespace perturb;

namespace {

// Wraps a model and records the batch size of every forward pass.
class CountingModel : public Model {
 public:
  explicit CountingModel(ModelPtr inner) : inner_(std::move(inner)) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    batches.push_back(x.size(0));
    return inner_->forward(x);
  }
  std::vector<torch::Tensor> parameters() override { return inner_->parameters(); }
  void set_training(bool training) override { inner_->set_training(training); }
  bool training() const override { return inner_->training(); }
  void to(torch::Device d) override { inner_->to(d); }
  torch::Device device() const override { return inner_->device(); }
  std::string describe() const override { return "counting " + inner_->describe(); }
  void save(const std::string& path) const override { inner_->save(path); }
  std::vector<int64_t> batches;

 private:
  ModelPtr inner_;
};

// 24 inputs of 1×4×4 near the box's middle, labelled with the model's own predictions (every
// sample starts correct); `minimal` is each sample's Linf distance to its nearest boundary.
struct Problem {
  ModelPtr model;
  torch::Tensor x, y, minimal;
};

Problem linear_problem() {
  auto gen = make_generator(11);
  const auto weight = torch::randn({16, 3}, gen);
  auto model = std::make_shared<test::LinearModel>(weight, /*center=*/0.5);
  const auto x = 0.5 + 0.05 * torch::randn({24, 1, 4, 4}, gen);
  torch::NoGradGuard no_grad;
  const auto z = model->forward(x);
  const auto y = z.argmax(1);
  // Distance to the boundary with class j: (z_y − z_j) / ‖w_y − w_j‖₁; the nearest one.
  auto minimal = torch::full({24}, 1e10);
  for (int64_t j = 0; j < 3; ++j) {
    const auto w_y = weight.t().index_select(0, y);                            // [24, 16]
    const auto gap = z.gather(1, y.unsqueeze(1)).squeeze(1) - z.select(1, j);  // [24]
    const auto d = gap / (w_y - weight.select(1, j)).abs().sum(1).clamp_min(1e-12);
    minimal = torch::where(y == j, minimal, torch::minimum(minimal, d));
  }
  return {model, x, y, minimal};
}

torch::Tensor fooled_by(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return model.forward(x_adv).argmax(1) != y;
}

}  // namespace

TEST_CASE("FAB with early_stop takes fooled samples out and loses none", "[fab][early-stop]") {
  const auto problem = linear_problem();
  auto& model = *problem.model;
  const auto& x = problem.x;
  const auto& y = problem.y;
  const auto targets = GENERATE(0, 2);  // FAB and FAB-T
  FabOptions options;
  options.targets = targets;
  options.steps = 30;
  // eps at the median minimal distance: about half the samples can be fooled within it.
  const auto threat = make_linf(problem.minimal.median().item<double>());
  const auto full = make_fab(threat, options);
  const auto early = full->with({{"early_stop", Interval{1, 1}}});
  CHECK(full->can_stop_early());
  CHECK(early->describe().find("early_stop: true") != std::string::npos);
  CHECK(full->describe().find("early_stop") == std::string::npos);

  AttackStats full_stats, early_stats;
  auto gen = make_generator(0);
  const auto x_full = full->run(model, x, y, gen, &full_stats);
  gen = make_generator(0);
  const auto x_early = early->run(model, x, y, gen, &early_stats);
  const auto fooled_full = fooled_by(model, x_full, y);
  const auto fooled_early = fooled_by(model, x_early, y);
  const int64_t n_full = fooled_full.sum().item<int64_t>();
  const int64_t n_early = fooled_early.sum().item<int64_t>();
  CAPTURE(targets, n_full, n_early, full_stats.gradient_evals, early_stats.gradient_evals);
  // The problem is one where FAB fools some samples within eps and not all of them.
  REQUIRE(n_full > 0);
  REQUIRE(n_full < x.size(0));
  // No sample the full run fools is lost (FAB without restarts has no randomness).
  CHECK((fooled_full & fooled_early.logical_not()).sum().item<int64_t>() == 0);
  CHECK(n_early >= n_full);
  // The fooled samples stopped early: fewer gradient evaluations.
  CHECK(early_stats.gradient_evals < full_stats.gradient_evals);
  // Results inside the threat; the samples not fooled come back unchanged.
  CHECK(threat->contains(x_early, x).all().item<bool>());
  CHECK(torch::equal(x_early.index({fooled_early.logical_not()}),
                     x.index({fooled_early.logical_not()})));
  CHECK_THROWS(full->with({{"early_stop", Interval{2, 2}}}));
}

TEST_CASE("FAB-T with a large eps stops each sample at its first success", "[fab][early-stop]") {
  // With a big eps every sample is fooled within eps at the first adversarial iterate, so early
  // stop leaves the run after a few steps where the full run takes all of them.
  const auto problem = linear_problem();
  auto& model = *problem.model;
  FabOptions options;
  options.targets = 1;
  options.steps = 40;
  const auto full = make_fab(make_linf(0.45), options);
  const auto early = full->with({{"early_stop", Interval{1, 1}}});
  AttackStats full_stats, early_stats;
  auto gen = make_generator(0);
  const auto x_full = full->run(model, problem.x, problem.y, gen, &full_stats);
  const auto x_early = early->run(model, problem.x, problem.y, gen, &early_stats);
  CAPTURE(full_stats.gradient_evals, early_stats.gradient_evals);
  CHECK(fooled_by(model, x_full, problem.y).all().item<bool>());
  CHECK(fooled_by(model, x_early, problem.y).all().item<bool>());
  CHECK(early_stats.gradient_evals * 4 < full_stats.gradient_evals);
}

TEST_CASE("Square queries only the samples not yet fooled, with or without early_stop",
          "[square][early-stop]") {
  const auto problem = linear_problem();
  CountingModel model(problem.model);
  const auto& x = problem.x;
  const auto& y = problem.y;
  SquareOptions options;
  options.queries = 150;
  const auto threat = make_linf(problem.minimal.median().item<double>() * 1.5);
  const auto full = make_square(threat, options);
  const auto early = full->with({{"early_stop", Interval{1, 1}}});
  CHECK(full->can_stop_early());
  CHECK(early->describe().find("early_stop: true") != std::string::npos);

  AttackStats full_stats, early_stats;
  auto gen = make_generator(3);
  const auto x_full = full->run(model, x, y, gen, &full_stats);
  model.batches.clear();
  gen = make_generator(3);
  const auto x_early = early->run(model, x, y, gen, &early_stats);
  const auto fooled = fooled_by(*problem.model, x_early, y);
  const int64_t n_fooled = fooled.sum().item<int64_t>();
  CAPTURE(n_fooled, early_stats.queries);
  REQUIRE(n_fooled > 0);
  // The reference already takes fooled samples out, so early_stop changes nothing.
  CHECK(torch::equal(x_full, x_early));
  CHECK(full_stats.queries == early_stats.queries);
  // Every query batch after the clean check and the start holds only samples still robust:
  // batch sizes never grow, and fooled samples cost fewer than the full budget.
  const auto& b = model.batches;
  REQUIRE(b.size() >= 2);
  for (size_t i = 2; i < b.size(); ++i) CHECK(b[i] <= b[i - 1]);
  int64_t rows = 0;
  for (const auto s : b) rows += s;
  CHECK(rows == early_stats.queries);
  CHECK(early_stats.queries < x.size(0) * (1 + options.queries));
  CHECK(b.back() >= x.size(0) - n_fooled);
  CHECK(threat->contains(x_early, x).all().item<bool>());
}
