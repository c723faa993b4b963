// FGSM, PGD and the iterative attack: stay in the threat, are seeded, and match hand math.
#include <catch2/catch.hpp>

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "test_util.h"

using namespace perturb;

namespace {

ZooOptions small_images() {
  ZooOptions o;
  o.height = o.width = 12;
  return o;
}

double mean_loss(Model& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return torch::nn::functional::cross_entropy(model.forward(x), y).item<double>();
}

}  // namespace

TEST_CASE("PGD never leaves the ball or the domain", "[attack]") {
  const auto arch = GENERATE(as<std::string>{}, "mlp", "lenet");
  const auto kind = GENERATE(as<std::string>{}, "Linf", "L2");
  const double eps = kind == "Linf" ? GENERATE(0.03, 0.3) : GENERATE(0.5, 3.0);
  const auto model = make_zoo_model(arch, small_images(), /*seed=*/1);
  const auto data = test::random_dataset(8, 1, 12, 10, /*seed=*/2);
  const auto threat = kind == "Linf" ? make_linf(eps) : make_l2(eps);
  PgdOptions options;
  options.steps = 5;
  options.restarts = 2;
  const auto pgd = make_pgd(threat, options);
  auto gen = make_generator(0);
  AttackStats stats;
  model->set_training(true);
  torch::NoGradGuard caller_has_no_grad;  // the attack must still get gradients
  const auto x_adv = pgd->run(*model, data.x, data.y, gen, &stats);
  CAPTURE(arch, kind, eps);
  CHECK(model->training());
  CHECK(threat->contains(x_adv, data.x).all().item<bool>());
  CHECK(x_adv.min().item<double>() >= 0);
  CHECK(x_adv.max().item<double>() <= 1);
  CHECK(stats.gradient_evals == 8 * 5 * 2);
  CHECK(mean_loss(*model, x_adv, data.y) > mean_loss(*model, data.x, data.y));
}

TEST_CASE("PGD is reproducible from the seed", "[attack]") {
  const auto model = make_zoo_model("mlp", small_images(), 1);
  const auto data = test::random_dataset(8, 1, 12, 10, 2);
  const auto pgd = make_pgd(make_linf(0.1), {});
  auto run = [&](uint64_t seed) {
    auto gen = make_generator(seed);
    return pgd->run(*model, data.x, data.y, gen);
  };
  CHECK(torch::equal(run(42), run(42)));
  CHECK_FALSE(torch::equal(run(42), run(43)));
}

TEST_CASE("FGSM matches a hand-computed gradient step", "[attack]") {
  // For logits z = xW, d mean-CE / dx = (softmax(z) - onehot(y)) Wᵀ / N; only its sign matters.
  auto gen = make_generator(9);
  const auto weight = torch::randn({4, 3}, gen);
  test::LinearModel model(weight);
  const auto x = torch::rand({5, 1, 2, 2}, gen);
  const auto y = torch::tensor({0, 1, 2, 0, 1}, torch::kInt64);
  const auto z = x.reshape({5, 4}).matmul(weight);
  const auto onehot = torch::nn::functional::one_hot(y, 3).to(torch::kFloat32);
  const auto grad = (torch::softmax(z, 1) - onehot).matmul(weight.t()).reshape({5, 1, 2, 2});
  const auto expected = (x + 0.1 * grad.sign()).clamp(0, 1);
  AttackStats stats;
  const auto fgsm = make_fgsm(make_linf(0.1));
  const auto x_adv = fgsm->run(model, x, y, gen, &stats);
  CHECK(torch::allclose(x_adv, expected, 0, 1e-6));
  CHECK(stats.gradient_evals == 5);
  CHECK(fgsm->describe() == "FGSM(Linf(eps: 0.1, domain: [0, 1]))");
}

TEST_CASE("the iterative attack applies the user's update and projects", "[attack]") {
  const auto model = make_zoo_model("mlp", small_images(), 1);
  const auto data = test::random_dataset(4, 1, 12, 10, 2);
  int calls = 0;
  const auto threat = make_linf(0.05);
  const auto attack = make_iterative(threat, {3, false}, [&](const auto& x_adv, const auto& g) {
    ++calls;
    return x_adv + g.sign();  // a huge step: projection must bring it back
  });
  auto gen = make_generator(0);
  const auto x_adv = attack->run(*model, data.x, data.y, gen);
  CHECK(calls == 3);
  CHECK(threat->contains(x_adv, data.x).all().item<bool>());
  const auto throwing = make_iterative(
      threat, {}, [](const auto&, const auto&) -> torch::Tensor { throw Error("boom"); });
  CHECK_THROWS_WITH(throwing->run(*model, data.x, data.y, gen), "boom");
}

TEST_CASE("attack descriptions and parameters", "[attack]") {
  PgdOptions options;
  options.steps = 20;
  options.step = 0.01;
  const auto pgd = make_pgd(make_linf(0.1), options);
  CHECK(pgd->describe() ==
        "PGD(Linf(eps: 0.1, domain: [0, 1]), steps: 20, step: 0.01, random_start: true, "
        "restarts: 1)");
  const auto changed = pgd->with({{"steps", {5, 5}}, {"eps", {0.2, 0.2}}});
  CHECK(changed->describe() ==
        "PGD(Linf(eps: 0.2, domain: [0, 1]), steps: 5, step: 0.01, random_start: true, "
        "restarts: 1)");
  CHECK(make_pgd(make_l2(0.5), {})->describe() ==
        "PGD(L2(eps: 0.5, domain: [0, 1]), steps: 10, step: 0.125, random_start: true, "
        "restarts: 1)");
  CHECK_THROWS_WITH(
      pgd->with({{"foo", {1, 1}}}),
      "PGD has no parameter 'foo'; it has steps, step, random_start, restarts, early_stop, "
      "loss, kappa, eot, target, eps, domain");
  CHECK_THROWS_AS(pgd->with({{"steps", {1.5, 1.5}}}), Error);
}
