// Training really learns; evaluation's cascade is consistent; reports render.
#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/evaluate.h"
#include "runtime/model/zoo.h"
#include "runtime/train/train.h"
#include "test_util.h"

using namespace perturb;

TEST_CASE("training an mlp on Fashion-MNIST reduces the loss and improves accuracy", "[train]") {
  const auto train_data = test::fashion_mnist_or_warn("train", 2000);
  const auto test_data = test::fashion_mnist_or_warn("test", 500);
  if (!train_data || !test_data) return;
  const auto model = make_zoo_model("mlp", {}, /*seed=*/0);
  const double before = accuracy(*model, test_data->x, test_data->y);
  std::vector<EpochStats> epochs;
  TrainOptions options;
  options.epochs = 4;  // 4 × 32 batches of 64 = 128 steps
  options.batch = 64;
  options.optimizer.kind = "adam";
  options.optimizer.lr = 1e-3;
  options.on_epoch = [&](const EpochStats& s) { epochs.push_back(s); };
  train(*model, *train_data, options);
  REQUIRE(epochs.size() == 4);
  CHECK(epochs.back().loss < 0.7 * epochs.front().loss);
  CHECK(epochs.back().accuracy > epochs.front().accuracy);
  const double after = accuracy(*model, test_data->x, test_data->y);
  CHECK(after > 0.7);
  CHECK(after > before + 0.3);
}

TEST_CASE("adversarial training methods run and check their adversary", "[train]") {
  const auto data = test::random_dataset(64, 1, 12, 10, 1);
  ZooOptions o;
  o.height = o.width = 12;
  const auto model = make_zoo_model("mlp", o, 0);
  PgdOptions pgd;
  pgd.steps = 2;
  TrainOptions options;
  options.batch = 32;
  options.adversary = make_pgd(make_linf(0.1), pgd);
  double loss = -1;
  options.on_epoch = [&](const EpochStats& s) { loss = s.loss; };
  for (const auto* method : {"madry", "trades"}) {
    options.method = method;
    loss = -1;
    train(*model, data, options);
    CAPTURE(method);
    CHECK(std::isfinite(loss));
    CHECK(loss > 0);
  }
  options.adversary = nullptr;
  CHECK_THROWS_WITH(train(*model, data, options), Catch::Contains("needs an adversary"));
  options.method = "mixup";
  CHECK_THROWS_AS(train(*model, data, options), Error);
}

TEST_CASE("same seed gives the same trained weights", "[train]") {
  const auto data = test::random_dataset(64, 1, 12, 10, 1);
  ZooOptions o;
  o.height = o.width = 12;
  auto trained = [&](uint64_t seed) {
    const auto model = make_zoo_model("mlp", o, 0);
    TrainOptions options;
    options.batch = 16;
    options.seed = seed;
    train(*model, data, options);
    return model->parameters()[0].clone();
  };
  CHECK(torch::equal(trained(1), trained(1)));
  CHECK_FALSE(torch::equal(trained(1), trained(2)));
}

namespace {

// A briefly trained mlp so that clean accuracy is well above zero and attacks have work to do.
ModelPtr trained_mlp(const Dataset& data) {
  const auto model = make_zoo_model("mlp", {}, 0);
  TrainOptions options;
  options.epochs = 2;
  options.batch = 64;
  options.optimizer.kind = "adam";
  options.optimizer.lr = 1e-3;
  train(*model, data, options);
  return model;
}

}  // namespace

TEST_CASE("evaluate's cascade: robust ≤ each cumulative accuracy ≤ clean", "[eval]") {
  const auto train_data = test::fashion_mnist_or_warn("train", 1000);
  const auto test_data = test::fashion_mnist_or_warn("test", 300);
  if (!train_data || !test_data) return;
  const auto model = trained_mlp(*train_data);
  PgdOptions pgd_options;
  pgd_options.steps = 5;
  pgd_options.random_start = false;  // deterministic, so single-attack runs are comparable
  const auto fgsm = make_fgsm(make_linf(0.02));
  const auto pgd = make_pgd(make_linf(0.03), pgd_options);
  auto gen = make_generator(0);
  model->set_training(true);
  // Without early stop every attacked sample costs all of PGD's steps.
  const auto report =
      evaluate(*model, *test_data, {{"fgsm", fgsm}, {"pgd", pgd}}, gen, 128, /*early_stop=*/false);
  CHECK(model->training());
  REQUIRE(report.by_attack.size() == 2);
  CHECK(report.samples == 300);
  CHECK(report.clean == Approx(accuracy(*model, test_data->x, test_data->y)));
  CHECK(report.clean > 0.5);
  CHECK(report.by_attack[0].accuracy <= report.clean);
  CHECK(report.by_attack[1].accuracy <= report.by_attack[0].accuracy);
  CHECK(report.robust == report.by_attack[1].accuracy);
  CHECK(report.robust < report.clean);
  CHECK(report.by_attack[0].attacked == std::llround(report.clean * 300));
  CHECK(report.by_attack[1].attacked == std::llround(report.by_attack[0].accuracy * 300));
  CHECK(report.by_attack[1].stats.gradient_evals == 5 * report.by_attack[1].attacked);

  // Each attack alone leaves at least as many robust samples as the cascade.
  for (const auto& [name, attack] : std::vector<NamedAttack>{{"fgsm", fgsm}, {"pgd", pgd}}) {
    const auto alone = evaluate(*model, *test_data, {{name, attack}}, gen, 128, false);
    CAPTURE(name);
    CHECK(report.robust <= alone.robust + 1e-9);
  }

  const auto table = report.table();
  CHECK_THAT(table, Catch::Contains("clean") && Catch::Contains("worst case") &&
                        Catch::Contains("fgsm") && Catch::Contains("accuracy"));
  const auto json = report.json();
  CHECK_THAT(json, Catch::StartsWith("{\"samples\":300,\"clean\":") &&
                       Catch::Contains("\"by_attack\":{\"fgsm\":{\"accuracy\":") &&
                       Catch::Contains("\"gradient_evals\":") && Catch::EndsWith("}}}"));
}

TEST_CASE("report rendering", "[eval]") {
  EvalReport report;
  report.samples = 4;
  report.clean = 0.75;
  report.robust = 0.25;
  AttackResult r;
  r.name = "pgd \"strong\"";
  r.accuracy = 0.25;
  r.attacked = 3;
  r.stats.gradient_evals = 30;
  report.by_attack.push_back(r);
  CHECK(report.json() ==
        "{\"samples\":4,\"clean\":0.75,\"robust\":0.25,\"early_stop\":false,\"by_attack\":{"
        "\"pgd "
        "\\\"strong\\\"\":{\"accuracy\":0.25,\"seconds\":0.0,\"attacked\":3,\"gradient_evals\":30,"
        "\"queries\":0,\"early_stop\":false,\"gradient_evals_saved\":0}}}");
  const auto table = report.table();
  CHECK_THAT(table, Catch::Contains("75.00%") && Catch::Contains("25.00%"));
  // Every line of the table has the same width: the columns line up. The last line says
  // whether early stop was on.
  std::istringstream lines(table);
  std::string line, last;
  std::set<size_t> widths;
  while (std::getline(lines, line)) {
    if (!last.empty()) widths.insert(last.size());
    last = line;
  }
  CHECK(widths.size() == 1);
  CHECK(last == "early stop: off");
}

TEST_CASE("train works when the caller is in no-grad mode", "[train]") {
  const auto data = test::random_dataset(64, 1, 12, 10, 1);
  ZooOptions o;
  o.height = o.width = 12;
  const auto model = make_zoo_model("mlp", o, 0);
  const auto before = model->parameters()[0].clone();
  torch::NoGradGuard no_grad;  // the interpreter evaluates scripts like this
  TrainOptions options;
  options.batch = 16;
  train(*model, data, options);
  CHECK_FALSE(torch::equal(model->parameters()[0], before));
}
