// The training loop's pieces: optimizers, learning-rate schedules, the fast (FGSM-RS) method,
// augmentation with soft labels, validation and the CSV log.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "runtime/train/fast.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/train.h"
#include "test_util.h"

using namespace perturb;

namespace {

ModelPtr tiny_mlp(uint64_t seed = 0) {
  ZooOptions o;
  o.height = o.width = 12;
  return make_zoo_model("mlp", o, seed);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("step schedule decays at its milestones, by default at 50% and 75%", "[train]") {
  LrSchedule s;
  s.kind = "step";
  s.milestones = {3, 5};
  s.gamma = 0.1;
  CHECK(scheduled_lr(s, 1.0, 6, 10, 1, 0) == 1.0);
  CHECK(scheduled_lr(s, 1.0, 6, 10, 2, 9) == 1.0);
  CHECK(scheduled_lr(s, 1.0, 6, 10, 3, 0) == Approx(0.1));
  CHECK(scheduled_lr(s, 1.0, 6, 10, 4, 5) == Approx(0.1));
  CHECK(scheduled_lr(s, 1.0, 6, 10, 5, 0) == Approx(0.01));
  s.milestones.clear();  // 8 epochs → decays from epochs 5 and 7
  CHECK(scheduled_lr(s, 1.0, 8, 10, 4, 9) == 1.0);
  CHECK(scheduled_lr(s, 1.0, 8, 10, 5, 0) == Approx(0.1));
  CHECK(scheduled_lr(s, 1.0, 8, 10, 7, 0) == Approx(0.01));
}

TEST_CASE("cosine and one-cycle schedules follow PyTorch's formulas", "[train]") {
  LrSchedule cosine;
  cosine.kind = "cosine";
  // 2 epochs × 10 batches: T = 20.
  CHECK(scheduled_lr(cosine, 0.1, 2, 10, 1, 0) == Approx(0.1));
  CHECK(scheduled_lr(cosine, 0.1, 2, 10, 2, 0) == Approx(0.05));  // t = T/2
  CHECK(scheduled_lr(cosine, 0.1, 2, 10, 2, 5) == Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.75))));
  LrSchedule one;
  one.kind = "onecycle";
  // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100): starts at 0.004, peaks
  // at 0.1 at step 29 (pct_start·100 − 1), ends at 4e-7 at step 99.
  CHECK(scheduled_lr(one, 0.1, 10, 10, 1, 0) == Approx(0.004));
  CHECK(scheduled_lr(one, 0.1, 10, 10, 3, 9) == Approx(0.1));
  CHECK(scheduled_lr(one, 0.1, 10, 10, 10, 9) == Approx(4e-7));
  const double mid = scheduled_lr(one, 0.1, 10, 10, 2, 0);  // step 10, rising
  CHECK(mid > 0.004);
  CHECK(mid < 0.1);
  LrSchedule bad;
  bad.kind = "linear";
  const auto data = test::random_dataset(16, 1, 12, 10, 1);
  TrainOptions options;
  options.lr_schedule = bad;
  CHECK_THROWS_WITH(train(*tiny_mlp(), data, options),
                    Catch::Contains("constant, step, cosine, onecycle"));
}

TEST_CASE("the schedule really sets the optimizer's learning rate", "[train]") {
  const auto data = test::random_dataset(40, 1, 12, 10, 1);
  TrainOptions options;
  options.epochs = 4;
  options.batch = 10;
  options.optimizer.lr = 0.2;
  options.lr_schedule.kind = "step";
  options.lr_schedule.milestones = {2, 4};
  options.lr_schedule.gamma = 0.5;
  std::vector<double> lrs;
  options.on_batch = [&](const BatchPosition& p) { lrs.push_back(p.lr); };
  const auto result = train(*tiny_mlp(), data, options);
  REQUIRE(lrs.size() == 16);
  CHECK(lrs[0] == Approx(0.2));
  CHECK(lrs[4] == Approx(0.1));
  CHECK(lrs[15] == Approx(0.05));
  REQUIRE(result.epochs.size() == 4);
  CHECK(result.epochs[3].lr == Approx(0.05));
  // A zero-lr-like schedule is visible in the weights: same run with constant lr differs.
  const auto a = tiny_mlp();
  const auto b = tiny_mlp();
  options.on_batch = nullptr;
  train(*a, data, options);
  options.lr_schedule.kind = "constant";
  train(*b, data, options);
  CHECK_FALSE(torch::equal(a->parameters()[0], b->parameters()[0]));
}

TEST_CASE("optimizers: SGD with Nesterov, Adam and AdamW differ and check their numbers",
          "[train]") {
  const auto data = test::random_dataset(32, 1, 12, 10, 3);
  auto weights_after = [&](OptimizerSpec spec) {
    const auto model = tiny_mlp();
    TrainOptions options;
    options.batch = 8;
    options.optimizer = spec;
    train(*model, data, options);
    return model->parameters()[0].clone();
  };
  const auto initial = tiny_mlp()->parameters()[0].clone();
  OptimizerSpec sgd{"sgd", 0.05};
  sgd.momentum = 0.9;
  OptimizerSpec nesterov = sgd;
  nesterov.nesterov = true;
  OptimizerSpec adam{"adam", 1e-3};
  adam.weight_decay = 0.1;
  OptimizerSpec adamw = adam;
  adamw.kind = "adamw";
  const auto w_sgd = weights_after(sgd);
  const auto w_nesterov = weights_after(nesterov);
  const auto w_adam = weights_after(adam);
  const auto w_adamw = weights_after(adamw);
  CHECK_FALSE(torch::equal(w_sgd, initial));
  CHECK_FALSE(torch::equal(w_sgd, w_nesterov));
  CHECK_FALSE(torch::equal(w_adam, w_adamw));
  CHECK(describe_optimizer(nesterov) ==
        "SGD(lr: 0.05, momentum: 0.9, nesterov: true, "
        "weight_decay: 0)");
  CHECK(describe_optimizer(adamw) == "AdamW(lr: 0.001, betas: [0.9, 0.999], weight_decay: 0.1)");

  // AdamW's decay is decoupled: with a zero gradient, Adam (L2 in the gradient) still moves
  // the weight by ~lr (normalised), AdamW shrinks it by exactly lr·wd·w.
  auto w = torch::ones({1}).requires_grad_(true);
  auto opt = make_optimizer(adamw, {w});
  w.mutable_grad() = torch::zeros({1});
  opt->step();
  CHECK(w.item<double>() == Approx(1 - 1e-3 * 0.1));

  OptimizerSpec bad = sgd;
  bad.momentum = 0;
  bad.nesterov = true;
  CHECK_THROWS_WITH(make_optimizer(bad, {w}), Catch::Contains("Nesterov"));
  bad = adam;
  bad.beta1 = 1.5;
  CHECK_THROWS_WITH(make_optimizer(bad, {w}), Catch::Contains("betas"));
  bad.kind = "rmsprop";
  CHECK_THROWS_WITH(make_optimizer(bad, {w}), Catch::Contains("sgd, adam, adamw"));
}

TEST_CASE("fast method: one FGSM step of 1.25·eps from a random start, inside the ball",
          "[train]") {
  const auto data = test::random_dataset(32, 1, 12, 10, 4);
  const auto model = tiny_mlp();
  const auto threat = make_linf(0.1);
  CHECK(default_fast_step(*threat) == Approx(0.125));
  auto gen = make_generator(0);
  const auto x_adv = fast_adversarial(*model, *threat, data.x, data.y, 0.125, gen);
  CHECK(threat->contains(x_adv, data.x).all().item<bool>());
  CHECK((x_adv - data.x).abs().max().item<double>() > 0.05);
  // It ascends the loss: higher than the clean loss (a random start alone barely changes it).
  torch::NoGradGuard no_grad;
  namespace F = torch::nn::functional;
  const double clean = F::cross_entropy(model->forward(data.x), data.y).item<double>();
  const double adv = F::cross_entropy(model->forward(x_adv), data.y).item<double>();
  CHECK(adv > clean);
  // Same generator state → same x_adv.
  auto gen2 = make_generator(0);
  CHECK(torch::equal(x_adv, fast_adversarial(*model, *threat, data.x, data.y, 0.125, gen2)));
}

TEST_CASE("fast training runs, trains and needs an additive threat", "[train]") {
  const auto data = test::random_dataset(64, 1, 12, 10, 1);
  TrainOptions options;
  options.method = "fast";
  options.batch = 16;
  options.epochs = 2;
  options.adversary = make_fgsm(make_linf(0.1));
  const auto model = tiny_mlp();
  const auto before = model->parameters()[0].clone();
  const auto result = train(*model, data, options);
  REQUIRE(result.epochs.size() == 2);
  CHECK(std::isfinite(result.epochs[1].loss));
  CHECK_FALSE(torch::equal(before, model->parameters()[0]));
  options.fast_step = -1.0;
  CHECK_THROWS_WITH(train(*model, data, options), Catch::Contains("fast_step"));
}

namespace {

// A mixing policy (a fixed Mixup with λ = 0.5 against the reversed batch) so the soft-label
// path is tested without depending on the policy library.
class HalfMix : public Policy {
 public:
  std::string name() const override { return "HalfMix"; }
  std::string describe() const override { return "HalfMix()"; }
  AugmentBatch apply(AugmentBatch batch, at::Generator&) const override {
    const auto flipped = batch.x.flip(0);
    const auto one_hot = torch::nn::functional::one_hot(batch.y, batch.classes).to(torch::kFloat32);
    batch.soft_y = 0.5 * one_hot + 0.5 * one_hot.flip(0);
    batch.x = 0.5 * batch.x + 0.5 * flipped;
    ++*calls;
    return batch;
  }
  torch::Tensor apply(const torch::Tensor& x, at::Generator&) const override {
    return 0.5 * x + 0.5 * x.flip(0);
  }
  bool mixes_labels() const override { return true; }
  std::shared_ptr<int> calls = std::make_shared<int>(0);
};

}  // namespace

TEST_CASE("augment: the policy sees every batch and soft labels reach the loss", "[train]") {
  const auto data = test::random_dataset(48, 1, 12, 10, 5);
  auto policy = std::make_shared<HalfMix>();
  TrainOptions options;
  options.batch = 16;
  options.augment = policy;
  options.classes = 10;
  const auto mixed = train(*tiny_mlp(), data, options);
  CHECK(*policy->calls == 3);
  options.augment = nullptr;
  const auto plain = train(*tiny_mlp(), data, options);
  // Soft targets of two classes keep the loss from ever reaching the hard-label loss's scale.
  CHECK(mixed.epochs[0].loss != Approx(plain.epochs[0].loss));
  const auto logits = torch::tensor({{2.0, 0.0}, {0.0, 2.0}});
  const auto soft = torch::tensor({{0.5, 0.5}, {0.0, 1.0}});
  const double expected =
      -(0.5 * std::log(std::exp(2.0) / (std::exp(2.0) + 1)) +
        0.5 * std::log(1 / (std::exp(2.0) + 1)) + std::log(std::exp(2.0) / (std::exp(2.0) + 1))) /
      2;
  CHECK(soft_label_cross_entropy(logits, soft).item<double>() == Approx(expected));
}

TEST_CASE("validation each epoch: clean and PGD accuracy on a held-out split, in a CSV log",
          "[train]") {
  const auto train_data = test::fashion_mnist_or_warn("train", 1200);
  if (!train_data) return;
  test::TempDir dir;
  const auto model = make_zoo_model("mlp", {}, 0);
  TrainOptions options;
  options.epochs = 2;
  options.batch = 50;
  options.optimizer = OptimizerSpec{"adam", 1e-3};
  options.method = "madry";
  PgdOptions pgd;
  pgd.steps = 3;
  options.adversary = make_pgd(make_linf(0.1), pgd);
  options.val_split = 0.25;
  options.log_path = dir.path("runs/log.csv");
  int64_t seen = 0;
  options.on_batch = [&](const BatchPosition& p) { seen = std::max(seen, p.batch + 1); };
  const auto result = train(*model, *train_data, options);
  CHECK(seen == 18);  // 900 training samples in batches of 50; 300 held out
  REQUIRE(result.epochs.size() == 2);
  for (const auto& e : result.epochs) {
    CHECK(e.val_clean > 0.4);
    CHECK(e.val_robust >= 0);
    CHECK(e.val_robust < e.val_clean);
  }
  const auto lines = lines_of(test::read_text(options.log_path));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "epoch,lr,loss,train_accuracy,val_clean,val_robust,seconds");
  CHECK(lines[1].rfind("1,0.001,", 0) == 0);
  CHECK(lines[2].rfind("2,0.001,", 0) == 0);
  // The val columns hold the numbers the run reported.
  std::ostringstream clean;
  clean << result.epochs[1].val_clean;
  CHECK(lines[2].find("," + clean.str() + ",") != std::string::npos);

  // A given val set is used as is; standard training without val_attack reports clean only.
  TrainOptions plain;
  plain.batch = 50;
  plain.val = train_data->take(100);
  plain.log_path = dir.path("plain.csv");
  const auto r = train(*make_zoo_model("mlp", {}, 0), train_data->take(200), plain);
  CHECK(r.epochs[0].val_clean >= 0);
  CHECK(std::isnan(r.epochs[0].val_robust));
  const auto plain_lines = lines_of(test::read_text(plain.log_path));
  REQUIRE(plain_lines.size() == 2);
  CHECK(plain_lines[1].find(",,") != std::string::npos);  // empty robust column
}

TEST_CASE("training options are checked in the user's terms", "[train]") {
  const auto data = test::random_dataset(16, 1, 12, 10, 1);
  const auto model = tiny_mlp();
  TrainOptions o;
  o.val_split = 1.5;
  CHECK_THROWS_WITH(train(*model, data, o), Catch::Contains("val_split"));
  o = {};
  o.resume = true;
  CHECK_THROWS_WITH(train(*model, data, o), Catch::Contains("checkpoint path"));
  o = {};
  o.checkpoint_every = 2;
  CHECK_THROWS_WITH(train(*model, data, o), Catch::Contains("checkpoint path"));
  o = {};
  o.lr_schedule.kind = "step";
  o.lr_schedule.milestones = {0.5};
  CHECK_THROWS_WITH(train(*model, data, o), Catch::Contains("milestones"));
  o = {};
  o.method = "fast";
  CHECK_THROWS_WITH(train(*model, data, o), Catch::Contains("needs an adversary"));
}
