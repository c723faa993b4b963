// The attack library beyond FGSM/PGD: FAB finds the minimal perturbation of a linear model,
// APGD and the momentum family raise the loss and stay in the threat, CW stays in its ball.
#include <catch2/catch.hpp>

#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "test_util.h"

using namespace perturb;

namespace {

// An untrained LeNet on 16 noise images of 12×12, labelled with its own predictions.
struct NoiseProblem {
  ModelPtr model;
  Dataset data;
  torch::Tensor y;
};

NoiseProblem lenet_on_noise() {
  ZooOptions zoo;
  zoo.height = zoo.width = 12;
  auto model = make_zoo_model("lenet", zoo, 1);
  auto data = test::random_dataset(16, 1, 12, 10, 2);
  torch::NoGradGuard no_grad;
  auto y = model->forward(data.x).argmax(1);
  return {model, data, y};
}

double accuracy_of(Model& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return (model.forward(x).argmax(1) == y).to(torch::kFloat32).mean().item<double>();
}

}  // namespace

TEST_CASE("FAB-T finds the minimal perturbation of a linear model", "[attack-library]") {
  const std::string norm = GENERATE(as<std::string>{}, "Linf", "L2");
  auto gen = make_generator(3);
  const auto weight = torch::randn({16, 2}, gen);
  test::LinearModel model(weight, /*center=*/0.5);
  const auto x = 0.5 + 0.05 * torch::randn({8, 1, 4, 4}, gen);
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = model.forward(x).argmax(1);  // every sample correct
  }
  const auto w = weight.select(1, 1) - weight.select(1, 0);
  const auto f = (x.reshape({8, -1}) - 0.5).matmul(w).abs();
  const auto minimal = norm == "Linf" ? f / w.abs().sum() : f / w.norm();
  FabOptions options;
  options.targets = 1;
  options.steps = 20;
  const auto threat = norm == "Linf" ? make_linf(1.0) : make_l2(10.0);
  const auto fab = make_fab(threat, options);
  const auto x_adv = fab->run(model, x, y, gen);
  const auto flat = (x_adv - x).reshape({8, -1});
  const auto dist = norm == "Linf" ? flat.abs().amax(1) : flat.norm(2, 1);
  CAPTURE(norm, minimal, dist);
  CHECK(accuracy_of(model, x_adv, y) == 0);
  CHECK((dist >= minimal * (1 - 1e-3)).all().item<bool>());
  CHECK((dist <= minimal * 1.1 + 1e-5).all().item<bool>());
  // With eps below every sample's minimal distance, nothing counts and x comes back.
  const auto small = fab->with({{"eps", {0.0001, 0.0001}}});
  CHECK(torch::equal(small->run(model, x, y, gen), x));
  CHECK(fab->name() == "FAB-T");
  CHECK_THROWS_WITH(make_fab(make_l1(1.0), options), Catch::Contains("FAB supports Linf and L2"));
}

TEST_CASE("APGD, the momentum family and CW attack a small CNN inside the threat",
          "[attack-library]") {
  const auto problem = lenet_on_noise();
  const auto& model = problem.model;
  const auto& data = problem.data;
  const auto& y = problem.y;
  const auto linf = make_linf(0.1);
  auto gen = make_generator(0);
  ApgdOptions apgd;
  apgd.steps = 20;
  AttackStats stats;
  const auto x_apgd = make_apgd(linf, apgd)->run(*model, data.x, y, gen, &stats);
  CHECK(linf->contains(x_apgd, data.x).all().item<bool>());
  {
    // An untrained net on noise is hard to flip at this eps; the loss must still rise.
    torch::NoGradGuard no_grad;
    const auto ce = [&](const torch::Tensor& in) {
      return torch::nn::functional::cross_entropy(model->forward(in), y).item<double>();
    };
    CHECK(ce(x_apgd) > ce(data.x));
  }
  CHECK(stats.gradient_evals == 16 * 21);  // the start and 20 steps (nothing fooled clean)
  apgd.targets = 3;
  apgd.gradient.loss = "dlr";
  const auto x_apgdt = make_apgd(linf, apgd)->run(*model, data.x, y, gen);
  CHECK(linf->contains(x_apgdt, data.x).all().item<bool>());
  for (const std::string kind : {"MIFGSM", "NIFGSM", "SINIFGSM", "DIFGSM"}) {
    MomentumOptions m;
    m.kind = kind;
    const auto x_adv = make_momentum(linf, m)->run(*model, data.x, y, gen);
    CAPTURE(kind);
    CHECK(linf->contains(x_adv, data.x).all().item<bool>());
    // An untrained net on noise is hard to flip at this eps; the loss must still rise.
    torch::NoGradGuard no_grad;
    const auto ce = [&](const torch::Tensor& in) {
      return torch::nn::functional::cross_entropy(model->forward(in), y).item<double>();
    };
    CHECK(ce(x_adv) > ce(data.x));
  }
  const auto l2 = make_l2(1.0);
  CwOptions cw;
  cw.steps = 30;
  cw.search_steps = 2;
  const auto x_cw = make_cw(l2, cw)->run(*model, data.x, y, gen);
  CHECK(l2->contains(x_cw, data.x, 1e-4).all().item<bool>());
  CHECK_THROWS_AS(make_apgd(linf, ApgdOptions{0}), Error);
}

TEST_CASE("APGD-L1 takes sparse steps inside the L1 ball and raises the loss", "[attack-library]") {
  const auto problem = lenet_on_noise();
  const auto& model = problem.model;
  const auto& data = problem.data;
  const auto& y = problem.y;
  const auto l1 = make_l1(2.0);
  auto gen = make_generator(0);
  ApgdOptions apgd;
  apgd.steps = 25;
  const auto x_adv = make_apgd(l1, apgd)->run(*model, data.x, y, gen);
  CHECK(l1->contains(x_adv, data.x, 1e-4).all().item<bool>());
  torch::NoGradGuard no_grad;
  const auto ce = [&](const torch::Tensor& in) {
    return torch::nn::functional::cross_entropy(model->forward(in), y).item<double>();
  };
  CHECK(ce(x_adv) > ce(data.x));
  // The Gaussian start touches every pixel; the top-k steps and checkpoints leave a perturbation
  // on a minority of the 144 pixels.
  const auto changed = (x_adv - data.x).abs().gt(1e-6).flatten(1).sum(1).to(torch::kFloat64);
  CHECK(changed.mean().item<double>() < 0.5 * 144);
}
