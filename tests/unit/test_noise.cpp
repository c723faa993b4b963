// Stochastic networks (thesis ch. 5): noise injection, the FCA loss (eq. 5.3), the isotropic
// regulariser (eq. 5.2) and Algorithm 2's alternating updates.
#include <catch2/catch.hpp>
#include <cmath>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/noise.h"
#include "runtime/model/zoo.h"
#include "runtime/train/meta_task.h"
#include "test_util.h"

using namespace perturb;

namespace {

std::shared_ptr<SnnModel> tiny_snn(double iso = 0.1, int64_t aniso = 3, uint64_t seed = 0) {
  ZooOptions o;
  o.height = o.width = 8;
  auto zoo = std::dynamic_pointer_cast<ZooModel>(make_zoo_model("mlp", o, seed));
  NoiseOptions n;
  n.iso = iso;
  n.aniso = aniso;
  return std::make_shared<SnnModel>(zoo, n, seed + 1);
}

torch::Tensor inputs(int64_t n = 6) {
  return torch::rand({n, 1, 8, 8}, make_generator(5));
}

}  // namespace

TEST_CASE("a stochastic network is random with its noise on and its backbone with it off",
          "[noise]") {
  auto snn = tiny_snn();
  const auto x = inputs();
  torch::NoGradGuard no_grad;
  const auto a = snn->forward(x), b = snn->forward(x);
  CHECK_FALSE(torch::allclose(a, b));
  snn->set_noise(false);
  const auto c = snn->forward(x), d = snn->backbone()->forward(x);
  CHECK(torch::allclose(c, d));
  // Same seed, same draws.
  snn->set_noise(true);
  snn->reseed(7);
  const auto e = snn->forward(x);
  snn->reseed(7);
  CHECK(torch::equal(e, snn->forward(x)));
}

TEST_CASE("isotropic noise is relative to the activations' scale", "[noise]") {
  // With no biases the mlp is positively homogeneous, and so is noise proportional to each
  // sample's activation std: the same draws give f(c·x) = c·f(x). Absolute noise would not.
  auto snn = tiny_snn(0.3, 0);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : snn->model_parameters()) {
      if (p.dim() == 1) p.zero_();
    }
  }
  const auto x = inputs(4);
  torch::NoGradGuard no_grad;
  snn->reseed(11);
  const auto a = snn->forward(x);
  snn->reseed(11);
  const auto b = snn->forward(10 * x);
  CHECK(torch::allclose(b, 10 * a, 1e-4, 1e-5));
  snn->set_noise(false);
  CHECK_FALSE(torch::allclose(a, snn->forward(x), 1e-3, 1e-4));  // the noise is there
  // s(h): each sample's activation std, one value per sample.
  const auto h = torch::tensor({0.0, 2.0, 0.0, 2.0, 1.0, 1.0, 1.0, 1.0}).view({2, 4});
  CHECK(activation_scale(h).flatten().allclose(torch::tensor({1.0f, 0.0f})));
}

TEST_CASE("noise sites: isotropic after inner ReLUs, a rank-r factor at the penultimate layer",
          "[noise]") {
  auto snn = tiny_snn(0.2, 3);
  // mlp: Linear 256, ReLU, Linear 256, ReLU, Linear 10 → one inner site, d = 256.
  REQUIRE(snn->iso_parameters().size() == 1);
  CHECK(snn->iso_parameters()[0].sizes() == torch::IntArrayRef({256}));
  CHECK(snn->iso_parameters()[0].allclose(torch::full({256}, 0.2)));
  REQUIRE(snn->aniso_parameters().size() == 1);
  CHECK(snn->aniso_factor().sizes() == torch::IntArrayRef({256, 3}));
  CHECK(snn->parameters().size() == snn->model_parameters().size() + 2);

  // Only the anisotropic noise: the logits' noise lies in the rank-3 span W·phi_a.
  auto aniso_only = tiny_snn(0.0, 3);
  CHECK(aniso_only->iso_parameters().empty());
  torch::NoGradGuard no_grad;
  const auto x = inputs(1).expand({64, 1, 8, 8}).contiguous();
  const auto logits = aniso_only->forward(x);
  const auto centred = logits - logits.mean(0, true);
  const auto s = torch::linalg_svdvals(centred);
  CHECK(s[2].item<double>() > 1e-6);
  CHECK(s[3].item<double>() < 1e-4 * s[0].item<double>());

  // Bad options and models without ReLU are errors in the user's terms.
  NoiseOptions bad;
  bad.iso = -1;
  ZooOptions o;
  o.height = o.width = 8;
  auto zoo = std::dynamic_pointer_cast<ZooModel>(make_zoo_model("mlp", o, 0));
  CHECK_THROWS_AS(SnnModel(zoo, bad, 0), Error);
  CHECK_THROWS_WITH(
      make_snn(std::make_shared<test::LinearModel>(torch::zeros({64, 10})), NoiseOptions{}, 0),
      Catch::Contains("zoo model"));
}

TEST_CASE("FCA loss is eq. 5.3 with batch-hard positives and negatives", "[noise]") {
  // Four 2-d features: class 0 at (0,0) and (2,0); class 1 at (0,1) and (0,3).
  auto f = torch::tensor({0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0, 3.0}, torch::kFloat64).view({4, 2});
  auto y = torch::tensor({0, 0, 1, 1}, torch::kLong);
  auto phi_a = torch::tensor({1.0, 0.5}, torch::kFloat64).view({2, 1}).set_requires_grad(true);
  // Anchor 0: farthest positive 1 (2,0), nearest negative 2 (0,1) → diff (2,-1).
  // Anchor 1: positive 0 (0,0); negatives (0,1) at sqrt5, (0,3) at sqrt13 → 2 → diff (0,-1).
  // Anchor 2: positive 3 (0,3); nearest negative 0 (0,0) → diff (0,3).
  // Anchor 3: positive 2 (0,1); negatives (0,0) at 3, (2,0) at sqrt13 → 0 → diff (0,1).
  // (d·phi_a)^2: (2-0.5)^2 = 2.25, 0.25, 2.25, 0.25 → mean 1.25.
  auto loss = fca_loss(f, y, phi_a);
  CHECK(loss.item<double>() == Approx(std::log(1.25)));
  loss.backward();
  REQUIRE(phi_a.grad().defined());
  CHECK(phi_a.grad().abs().sum().item<double>() > 0);

  // Scaling the noise factor by s adds log(s^2): the loss rewards alignment with Sigma.
  auto phi_b = (phi_a.detach() * 3).set_requires_grad(false);
  CHECK(fca_loss(f, y, phi_b).item<double>() == Approx(std::log(1.25) + std::log(9.0)));
  // No anchor with both a positive and a negative: no loss.
  CHECK_FALSE(fca_loss(f.narrow(0, 0, 2), y.narrow(0, 0, 2), phi_a.detach()).defined());
}

TEST_CASE("isotropic regulariser is -sum sqrt|phi| / H(epoch)", "[noise]") {
  std::vector<torch::Tensor> phi{torch::tensor({0.04, 0.09}, torch::kFloat64),
                                 torch::tensor({0.16}, torch::kFloat64)};
  CHECK(iso_regulariser(phi, 1).item<double>() == Approx(-(0.2 + 0.3 + 0.4)).epsilon(1e-6));
  CHECK(iso_regulariser(phi, 3).item<double>() ==
        Approx(-(0.9) / (1 + 0.5 + 1.0 / 3)).epsilon(1e-6));
}

TEST_CASE("Algorithm 2: theta and phi_a by the main step, phi by its own step", "[noise]") {
  auto snn = tiny_snn(0.1, 2);
  const auto x = inputs(8);
  const auto y = torch::tensor({0, 1, 0, 1, 2, 2, 3, 3}, torch::kLong);
  OptimizerSpec spec;
  spec.lr = 0.05;
  SnnLossOptions loss_options;
  auto opt = make_schedule_optimizers(*snn, spec, loss_options);
  REQUIRE(opt.noise);
  auto gen = make_generator(1);

  const auto theta0 = snn->model_parameters()[0].detach().clone();
  const auto phi0 = snn->iso_parameters()[0].detach().clone();
  const auto phi_a0 = snn->aniso_factor().detach().clone();

  // A Clean task runs with the noise off: phi stays as it was, theta moves.
  Task clean;
  auto in = task_inputs(*snn, clean, x, y, gen);
  task_step(*snn, clean, in, 1, loss_options, opt);
  CHECK_FALSE(snn->model_parameters()[0].allclose(theta0));
  CHECK(snn->iso_parameters()[0].equal(phi0));
  CHECK(snn->aniso_factor().equal(phi_a0));

  // A Noisy task: the main step moves phi_a (L_FCA) and the noise step moves phi.
  Task noisy;
  noisy.kind = Task::Kind::kNoisy;
  in = task_inputs(*snn, noisy, x, y, gen);
  const TaskLoss result = task_step(*snn, noisy, in, 1, loss_options, opt);
  const double loss = result.loss.item<double>();
  CHECK(std::isfinite(loss));
  CHECK_FALSE(snn->aniso_factor().equal(phi_a0));
  CHECK_FALSE(snn->iso_parameters()[0].equal(phi0));

  // The noise step alone leaves theta and phi_a where they are.
  const auto theta1 = snn->model_parameters()[0].detach().clone();
  const auto phi_a1 = snn->aniso_factor().detach().clone();
  const auto phi1 = snn->iso_parameters()[0].detach().clone();
  noise_step(*snn, noisy, in, 1, loss_options, opt);
  CHECK(snn->model_parameters()[0].equal(theta1));
  CHECK(snn->aniso_factor().equal(phi_a1));
  CHECK_FALSE(snn->iso_parameters()[0].equal(phi1));
}

TEST_CASE("a stochastic network saves its noise and loads it back", "[noise]") {
  test::TempDir dir;
  auto snn = tiny_snn(0.1, 2);
  {
    torch::NoGradGuard no_grad;
    snn->iso_parameters()[0].fill_(0.3);
  }
  snn->save(dir.path("snn.pt"));
  auto other = tiny_snn(0.1, 2, 9);
  torch::serialize::InputArchive archive;
  archive.load_from(dir.path("snn.pt"));
  other->load_noise(archive, dir.path("snn.pt"));
  CHECK(other->iso_parameters()[0].allclose(torch::full({256}, 0.3)));
  CHECK(other->aniso_factor().allclose(snn->aniso_factor()));
}
