// UAP: the one learnt perturbation stays inside the threat's ball, fools held-out inputs of a
// seeded linear classifier far more than a random perturbation of the same norm, is reproducible
// from the seed, and refuses what it cannot do in the user's terms.
#include <catch2/catch.hpp>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/uap.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/threat/physical.h"
#include "test_util.h"

using namespace perturb;

namespace {

// Inputs 1×8×8 uniform in [0, 1], labelled by the model itself (clean accuracy 1).
struct Split {
  torch::Tensor x, y;
};

Split labelled(Model& model, int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  Split s;
  s.x = torch::rand({n, 1, 8, 8}, gen);
  torch::NoGradGuard no_grad;
  s.y = model.forward(s.x).argmax(1);
  return s;
}

double accuracy_of(Model& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return (model.forward(x).argmax(1) == y).to(torch::kFloat32).mean().item<double>();
}

// A random perturbation [1, 1, 8, 8] with the norm `eps` in `norm` (random signs for Linf).
torch::Tensor random_delta(const std::string& norm, double eps, at::Generator& gen) {
  const auto r = torch::randn({1, 1, 8, 8}, gen);
  if (norm == "Linf") return eps * r.sign();
  return eps * r / sample_norms(r, norm).item<double>();
}

ThreatPtr threat_for(const std::string& norm) {
  if (norm == "Linf") return make_linf(0.1);
  if (norm == "L2") return make_l2(1.0);
  return make_l1(4.0);
}

}  // namespace

TEST_CASE("a universal perturbation stays in the ball and beats a random one", "[uap]") {
  const std::string norm = GENERATE(as<std::string>{}, "Linf", "L2", "L1");
  auto init = make_generator(11);
  test::LinearModel model(torch::randn({64, 4}, init));
  const auto train = labelled(model, 512, 1);
  const auto held_out = labelled(model, 512, 2);
  const auto threat = threat_for(norm);

  auto gen = make_generator(0);
  const auto uap = make_uap(threat, {})->fit(model, train.x, train.y, gen);
  const auto delta = uap->perturbation();
  REQUIRE(delta.sizes() == torch::IntArrayRef({1, 1, 8, 8}));
  CHECK(sample_norms(delta, norm).item<double>() <= threat->eps() + 1e-5);

  const auto x_adv = uap->run(model, held_out.x, held_out.y, gen);
  CHECK(threat->contains(x_adv, held_out.x).all().item<bool>());
  // The same δ on every input, up to the domain clamp.
  CHECK(torch::allclose(x_adv, (held_out.x + delta).clamp(0, 1)));

  const auto random = (held_out.x + random_delta(norm, threat->eps(), gen)).clamp(0, 1);
  const double acc_uap = accuracy_of(model, x_adv, held_out.y);
  const double acc_random = accuracy_of(model, random, held_out.y);
  INFO(norm << ": accuracy under UAP " << acc_uap << ", under a random delta " << acc_random);
  CHECK(acc_uap < acc_random - 0.15);
  CHECK(fooling_rate(model, held_out.x, x_adv) > fooling_rate(model, held_out.x, random) + 0.15);
  // The fooling rate recorded at fit time is that of the training data.
  CHECK(uap->fit_samples() == 512);
  CHECK(uap->fit_fooling_rate() ==
        Approx(fooling_rate(model, train.x, (train.x + delta).clamp(0, 1))));
}

TEST_CASE("UAP is reproducible from the seed and fits on the batch when not fitted", "[uap]") {
  auto init = make_generator(11);
  test::LinearModel model(torch::randn({64, 4}, init));
  const auto data = labelled(model, 300, 3);
  UapOptions options;
  options.epochs = 2;
  options.batch = 64;
  const auto uap = make_uap(make_linf(0.1), options);

  auto gen_a = make_generator(5);
  auto gen_b = make_generator(5);
  const auto a = uap->fit(model, data.x, data.y, gen_a)->perturbation();
  const auto b = uap->fit(model, data.x, data.y, gen_b)->perturbation();
  CHECK(torch::equal(a, b));

  // run() on an unfitted UAP learns δ on that batch (ART's generate), from the same draws.
  auto gen_c = make_generator(5);
  const auto x_adv = uap->run(model, data.x, data.y, gen_c);
  CHECK(torch::allclose(x_adv, (data.x + a).clamp(0, 1)));
  // Targeted: pushing every input to class 0 raises the share predicted as 0.
  UapOptions targeted = options;
  targeted.gradient.target = {TargetSpec::Mode::kLabel, 0};
  auto gen_d = make_generator(5);
  const auto to_zero = make_uap(make_linf(0.1), targeted)->run(model, data.x, data.y, gen_d);
  torch::NoGradGuard no_grad;
  const double before =
      (model.forward(data.x).argmax(1) == 0).to(torch::kFloat32).mean().item<double>();
  const double after =
      (model.forward(to_zero).argmax(1) == 0).to(torch::kFloat32).mean().item<double>();
  CHECK(after > before + 0.2);
}

TEST_CASE("UAP errors are in the user's terms", "[uap]") {
  auto init = make_generator(11);
  test::LinearModel model(torch::randn({64, 4}, init));
  const auto data = labelled(model, 32, 4);
  auto gen = make_generator(0);

  CHECK_THROWS_WITH(
      make_uap(make_brightness({0.8, 1.2}), {}),
      Catch::Contains("UAP learns one additive perturbation") && Catch::Contains("Brightness"));
  WassersteinOptions wass;
  CHECK_THROWS_WITH(make_uap(make_wasserstein(wass), {}), Catch::Contains("Linf, L2, L1 or L0"));
  UapOptions bad;
  bad.epochs = 0;
  CHECK_THROWS_WITH(make_uap(make_linf(0.1), bad), Catch::Contains("epochs must be at least 1"));
  UapOptions feature;
  feature.gradient.objective = "feature";
  CHECK_THROWS_WITH(make_uap(make_linf(0.1), feature), Catch::Contains("objective: \"feature\""));

  const auto uap = make_uap(make_linf(0.1), {});
  CHECK_THROWS_WITH(uap->perturbation(), Catch::Contains("not been fitted"));
  const auto fitted = uap->fit(model, data.x, data.y, gen);
  CHECK_THROWS_WITH(
      fitted->run(model, torch::rand({2, 1, 4, 4}), torch::zeros({2}, torch::kLong), gen),
      Catch::Contains("fitted on inputs [1, 8, 8]"));
  // with() changes the options and drops δ, which belonged to the old ones.
  const auto changed = std::dynamic_pointer_cast<const Uap>(fitted->with({{"eps", {0.2, 0.2}}}));
  REQUIRE(changed);
  CHECK_FALSE(changed->fitted());
  CHECK(changed->threat()->eps() == 0.2);
  CHECK_THROWS_WITH(fitted->with({{"steps", {3, 3}}}), Catch::Contains("steps"));
}
