// Meta schedules (thesis Algorithm 3, eqs. 5.8-5.11), curricula with ramps, and the tasks.
#include <catch2/catch.hpp>
#include <cmath>

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/noise.h"
#include "runtime/model/zoo.h"
#include "runtime/threat/threat.h"
#include "runtime/train/curriculum.h"
#include "runtime/train/meta.h"
#include "test_util.h"

using namespace perturb;
namespace F = torch::nn::functional;

namespace {

// Two classes told apart by brightness (dark ~0.3, bright ~0.7), with pixel noise: learnable in
// a few steps, and an eps-0.1 attack cannot cross the gap on most samples.
Dataset brightness_dataset(int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  Dataset d;
  d.y = torch::randint(0, 2, {n}, gen, torch::kLong);
  d.x = (0.3 + 0.4 * d.y.to(torch::kFloat32).view({n, 1, 1, 1}) +
         0.1 * torch::randn({n, 1, 8, 8}, gen))
            .clamp(0, 1);
  d.name = "brightness";
  return d;
}

double accuracy_of(Model& model, const Dataset& d) {
  torch::NoGradGuard no_grad;
  return (model.forward(d.x).argmax(1) == d.y).to(torch::kFloat64).mean().item<double>();
}

std::shared_ptr<SnnModel> tiny_snn(uint64_t seed) {
  ZooOptions o;
  o.classes = 2;
  o.height = o.width = 8;
  auto zoo = std::dynamic_pointer_cast<ZooModel>(make_zoo_model("mlp", o, seed));
  NoiseOptions n;
  n.iso = 0.1;
  n.aniso = 2;
  return std::make_shared<SnnModel>(zoo, n, seed + 1);
}

Task adversarial(double eps) {
  Task t;
  t.kind = Task::Kind::kAdversarial;
  PgdOptions p;
  p.steps = 3;
  t.attack = make_pgd(make_linf(eps), p);
  t.attack_name = "pgd";
  return t;
}

Task noisy() {
  Task t;
  t.kind = Task::Kind::kNoisy;
  t.noise.iso = 0.1;
  t.noise.aniso = 2;
  return t;
}

// Batches of 32, SGD with lr 0.05 and momentum 0.9: the small networks' training in these tests.
TrainOptions sgd_momentum(int64_t epochs, uint64_t seed) {
  TrainOptions options;
  options.epochs = epochs;
  options.batch = 32;
  options.optimizer.lr = 0.05;
  options.optimizer.momentum = 0.9;
  options.seed = seed;
  return options;
}

}  // namespace

TEST_CASE("one meta batch: one step on the meta-train loss and both meta-test losses", "[meta]") {
  // Eight copies of one sample: every split of the batch gives the same losses, so the result
  // does not depend on the shuffle and can be computed by hand.
  auto gen = make_generator(3);
  const auto x0 = torch::rand({1, 1, 8, 8}, gen);
  Dataset d;
  d.x = x0.expand({8, 1, 8, 8}).contiguous();
  d.y = torch::full({8}, 2, torch::kLong);
  d.name = "copies";
  const auto w0 = torch::randn({64, 5}, gen) * 0.1;

  MetaOptions meta;
  meta.tasks = {Task{}, Task{}};  // Clean(), Clean()
  meta.meta_test = 1;
  meta.inner_lr = 0.5;
  meta.split = 0.5;
  TrainOptions options;
  options.epochs = 1;
  options.batch = 8;
  options.optimizer.lr = 0.1;
  auto model = test::LinearModel(w0.clone().set_requires_grad(true));
  train_meta(model, d, meta, options);

  auto grad_at = [&](const torch::Tensor& w) {
    auto wv = w.detach().clone().set_requires_grad(true);
    F::cross_entropy(x0.view({1, 64}).matmul(wv), torch::full({1}, 2, torch::kLong)).backward();
    return wv.grad();
  };
  const auto g = grad_at(w0);                    // ∇L_mtr(Θ) = ∇L_mte(Θ)
  const auto g_updated = grad_at(w0 - 0.5 * g);  // ∇L_mte(Θ') at Θ' = Θ - inner_lr ∇L_mtr
  // k/N = 1/2 for the meta-train loss, 1/2 for the mean of the two meta-test losses.
  const auto expected = w0 - 0.1 * (0.5 * g + 0.25 * (g + g_updated));
  CHECK(model.weight().allclose(expected, 1e-5, 1e-6));
  // Not plain SGD on the batch: the Θ' term counts.
  CHECK_FALSE(model.weight().allclose(w0 - 0.1 * g, 1e-5, 1e-6));
}

TEST_CASE("Meta over two Clean tasks is standard training as inner_lr goes to 0", "[meta]") {
  // Every sample of the batch counts once in the meta-update, the meta-train half included: with
  // a vanishing inner step, one batch of Meta is one SGD step on the whole batch's mean loss.
  // (Eq. 5.11 alone, L_mte(Θ) + L_mte(Θ'), would step on the meta-test half only, twice.)
  const auto d = brightness_dataset(16, 7);
  const auto w0 = torch::randn({64, 2}, make_generator(8)) * 0.1;
  MetaOptions meta;
  meta.tasks = {Task{}, Task{}};
  meta.inner_lr = 1e-9;
  TrainOptions options;
  options.epochs = 1;
  options.batch = 16;
  options.optimizer.lr = 0.5;
  auto model = test::LinearModel(w0.clone().set_requires_grad(true));
  train_meta(model, d, meta, options);

  auto w = w0.clone().set_requires_grad(true);
  F::cross_entropy(d.x.view({16, 64}).matmul(w), d.y).backward();
  const auto expected = w0 - 0.5 * w.grad();
  CHECK(model.weight().allclose(expected, 1e-4, 1e-6));
  CHECK_FALSE(model.weight().allclose(w0, 1e-4, 1e-6));
}

TEST_CASE("Meta training a stochastic CNN lifts its accuracy from chance", "[meta]") {
  // Four classes: which quadrant of an 8x8 image is bright. A small_cnn stochastic network with
  // isotropic noise in its inner layers and rank-2 anisotropic noise at the penultimate one,
  // trained by Meta over Clean, Noisy and Adversarial tasks, scored with its noise on.
  auto quadrants = [](int64_t n, uint64_t seed) {
    auto gen = make_generator(seed);
    Dataset d;
    d.y = torch::randint(0, 4, {n}, gen, torch::kLong);
    auto x = 0.2 + 0.1 * torch::randn({n, 1, 8, 8}, gen);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = d.y[i].item<int64_t>();
      x[i].narrow(1, 4 * (c / 2), 4).narrow(2, 4 * (c % 2), 4).add_(0.5);
    }
    d.x = x.clamp(0, 1);
    d.name = "quadrants";
    return d;
  };
  const auto train_set = quadrants(384, 1);
  const auto test_set = quadrants(256, 2);
  ZooOptions o;
  o.classes = 4;
  o.height = o.width = 8;
  auto zoo = std::dynamic_pointer_cast<ZooModel>(make_zoo_model("small_cnn", o, 3));
  NoiseOptions n;
  n.iso = 0.1;
  n.aniso = 2;
  SnnModel snn(zoo, n, 4);
  const double before = accuracy_of(snn, test_set);

  MetaOptions meta;
  meta.tasks = {Task{}, noisy(), adversarial(0.05)};
  TrainOptions options = sgd_momentum(2, 5);
  train_meta(snn, train_set, meta, options);
  const double after = accuracy_of(snn, test_set);
  CHECK(before < 0.4);
  CHECK(after > 0.9);
}

TEST_CASE("Meta trains a stochastic network on clean, noisy and adversarial tasks", "[meta]") {
  const auto train_set = brightness_dataset(256, 1);
  const auto test_set = brightness_dataset(256, 2);
  MetaOptions meta;
  meta.tasks = {Task{}, noisy(), adversarial(0.1)};
  TrainOptions options = sgd_momentum(3, 4);
  std::vector<EpochStats> seen;
  options.on_epoch = [&](const EpochStats& s) { seen.push_back(s); };

  auto snn = tiny_snn(0);
  const auto phi0 = snn->iso_parameters()[0].detach().clone();
  const auto phi_a0 = snn->aniso_factor().detach().clone();
  train_meta(*snn, train_set, meta, options);
  REQUIRE(seen.size() == 3);
  for (const auto& s : seen) CHECK(std::isfinite(s.loss));
  CHECK(snn->noise());  // left on after training
  CHECK(accuracy_of(*snn, test_set) > 0.9);
  // The noise parameters were trained too.
  CHECK_FALSE(snn->iso_parameters()[0].equal(phi0));
  CHECK_FALSE(snn->aniso_factor().equal(phi_a0));

  // Same seed, same weights.
  auto again = tiny_snn(0);
  options.on_epoch = nullptr;
  train_meta(*again, train_set, meta, options);
  CHECK(again->model_parameters()[0].equal(snn->model_parameters()[0]));
  CHECK(again->aniso_factor().equal(snn->aniso_factor()));
}

TEST_CASE("Meta checks its options and prints its plan", "[meta]") {
  MetaOptions meta;
  meta.tasks = {Task{}};
  CHECK_THROWS_WITH(check_meta(meta), Catch::Contains("at least two tasks"));
  meta.tasks = {Task{}, noisy(), adversarial(0.1)};
  meta.meta_test = 3;
  CHECK_THROWS_WITH(check_meta(meta), Catch::Contains("only 3 tasks"));
  meta.meta_test = -1;
  meta.split = 1;
  CHECK_THROWS_WITH(check_meta(meta), Catch::Contains("split"));
  meta.split = 0.5;
  meta.inner_lr = 0;
  CHECK_THROWS_WITH(check_meta(meta), Catch::Contains("inner_lr"));
  meta.inner_lr = 0.001;
  CHECK_NOTHROW(check_meta(meta));
  CHECK(meta.describe() ==
        "Meta(tasks: [Clean(), Noisy(iso: 0.1, aniso: 2), Adversarial(pgd)], meta_test: "
        "\"random\", inner_lr: 0.001, split: 0.5)");
  const auto plan = meta.plan(2);
  REQUIRE(plan.size() == 2);
  CHECK(plan[1].rfind("epoch 2/2: every batch:", 0) == 0);
  meta.meta_test = 2;
  CHECK(meta.batch_plan()[0] == "meta-test task: Adversarial(pgd)");
  CHECK(meta.batch_plan()[1].find("Clean(), Noisy(iso: 0.1, aniso: 2)") != std::string::npos);

  // A Noisy task needs a stochastic network.
  test::LinearModel linear(torch::zeros({64, 2}, torch::requires_grad()));
  TrainOptions options;
  CHECK_THROWS_WITH(train_meta(linear, brightness_dataset(8, 0), meta, options),
                    Catch::Contains("needs a stochastic network"));
}

TEST_CASE("ramps go from start to end over a stage's epochs", "[meta]") {
  Ramp r{0, 0.1};
  CHECK(r.at(1, 5) == 0);
  CHECK(r.at(3, 5) == Approx(0.05));
  CHECK(r.at(5, 5) == Approx(0.1));
  CHECK(r.at(1, 1) == Approx(0.1));
  CHECK(r.describe() == "ramp(0, 0.1)");

  Stage warm{2, Task{}};
  Stage adv{3, adversarial(0.1)};
  adv.task.attack = make_ramped_attack(adv.task.attack, {{"eps", r}});
  const auto plan = curriculum_plan({warm, adv});
  REQUIRE(plan.size() == 5);
  CHECK(plan[0] == "epoch 1/5: Clean()");
  CHECK(plan[2] == "epoch 3/5: Adversarial(pgd, eps: 0)");
  CHECK(plan[3] == "epoch 4/5: Adversarial(pgd, eps: 0.05)");
  CHECK(plan[4] == "epoch 5/5: Adversarial(pgd, eps: 0.1)");
  // The epoch's attack really has the ramped eps: its x_adv stays in that ball.
  const auto task = stage_task(adv, 2);
  auto snn = tiny_snn(0);
  const auto d = brightness_dataset(16, 3);
  auto gen = make_generator(0);
  const auto x_adv = task.attack->run(*snn, d.x, d.y, gen);
  CHECK((x_adv - d.x).abs().max().item<double>() <= 0.05 + 1e-6);
  CHECK((x_adv - d.x).abs().max().item<double>() > 0.02);
  // A misspelt parameter fails when the ramp is made.
  CHECK_THROWS(make_ramped_attack(adversarial(0.1).attack, {{"epz", r}}));
  CHECK_THROWS_WITH(check_curriculum({}), Catch::Contains("at least one stage"));
}

TEST_CASE("a curriculum trains its stages in order", "[meta]") {
  const auto train_set = brightness_dataset(128, 5);
  Stage warm{1, Task{}};
  Stage adv{2, adversarial(0.1)};
  adv.task.attack = make_ramped_attack(adv.task.attack, {{"eps", Ramp{0.02, 0.1}}});
  TrainOptions options = sgd_momentum(/*epochs=*/1, /*seed=*/0);  // the stages set the epochs
  std::vector<EpochStats> seen;
  options.on_epoch = [&](const EpochStats& s) { seen.push_back(s); };
  ZooOptions o;
  o.classes = 2;
  o.height = o.width = 8;
  auto model = make_zoo_model("mlp", o, 0);
  train_curriculum(*model, train_set, {warm, adv}, options);
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].epoch == 3);
  CHECK(accuracy_of(*model, brightness_dataset(128, 6)) > 0.9);
}
