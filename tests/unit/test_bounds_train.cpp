// Certified training: the eps/kappa/beta schedule, the robust cross-entropy at eps 0 equals the
// clean one, and larger eps gives a larger robust loss.
#include <catch2/catch.hpp>

#include "runtime/certify/bounds_train.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "runtime/threat/lp_threat.h"
#include "test_util.h"

using namespace perturb;

TEST_CASE("the certified-training schedule warms up, ramps and holds", "[bounds]") {
  CertifiedTrainOptions o;
  o.threat = make_linf(0.1);
  o.warmup = 0.2;
  o.ramp = 0.4;
  o.kappa_end = 0.5;
  o.beta_end = 0;
  auto s = certified_schedule(o, 0.1);
  CHECK(s.eps == 0);
  CHECK(s.kappa == 1);
  CHECK(s.beta == 1);
  s = certified_schedule(o, 0.4);  // half-way through the ramp
  CHECK(s.eps == Approx(0.05));
  CHECK(s.kappa == Approx(0.75));
  CHECK(s.beta == Approx(0.5));
  s = certified_schedule(o, 0.9);
  CHECK(s.eps == Approx(0.1));
  CHECK(s.kappa == Approx(0.5));
  CHECK(s.beta == Approx(0));
}

TEST_CASE("the robust cross-entropy is the clean one at eps 0 and grows with eps", "[bounds]") {
  ZooOptions zo;
  zo.height = zo.width = 8;
  zo.classes = 5;
  auto model = make_zoo_model("mlp", zo, 3);
  torch::Tensor x = torch::rand({6, 1, 8, 8}, make_generator(1));
  torch::Tensor y = torch::randint(0, 5, {6}, make_generator(2));
  auto threat = make_linf(0.1);
  for (auto method : {BoundMethod::kIbp, BoundMethod::kCrownIbp}) {
    torch::Tensor m0 = training_margin_bounds(*model, *threat, 0.0, x, y, method, 1.0);
    torch::Tensor clean = torch::nn::functional::cross_entropy(model->forward(x), y);
    CHECK(robust_cross_entropy(m0).item<double>() == Approx(clean.item<double>()).epsilon(1e-4));
    double previous = clean.item<double>();
    for (double eps : {0.01, 0.05, 0.1}) {
      torch::Tensor m = training_margin_bounds(*model, *threat, eps, x, y, method, 0.5);
      const double loss = robust_cross_entropy(m).item<double>();
      CHECK(loss >= previous - 1e-6);
      previous = loss;
    }
    // The loss has gradients on the model's parameters.
    torch::Tensor m = training_margin_bounds(*model, *threat, 0.05, x, y, method, 0.5);
    robust_cross_entropy(m).backward();
    double grad_norm = 0;
    for (auto& p : model->parameters()) {
      if (p.grad().defined()) grad_norm += p.grad().norm().item<double>();
    }
    CHECK(grad_norm > 0);
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  }
}
