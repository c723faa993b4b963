// Lp threats: projection lands in the set and is idempotent; sample and contains agree.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/threat/threat.h"

using namespace perturb;

namespace {

// x in [0, 1] and a far-away x_adv, so projection has real work to do.
std::pair<torch::Tensor, torch::Tensor> random_pair(uint64_t seed) {
  auto gen = make_generator(seed);
  auto x = torch::rand({16, 1, 8, 8}, gen);
  auto x_adv = x + 2 * torch::randn({16, 1, 8, 8}, gen);
  return {x, x_adv};
}

ThreatPtr make_threat(const std::string& kind, double eps) {
  return kind == "Linf" ? make_linf(eps) : make_l2(eps);
}

}  // namespace

TEST_CASE("projection lands in the set and is idempotent", "[threat]") {
  const auto kind = GENERATE(as<std::string>{}, "Linf", "L2");
  const double eps = GENERATE(0.0, 0.03, 0.3, 1.5);
  const auto threat = make_threat(kind, eps);
  const auto [x, x_adv] = random_pair(7);
  const auto projected = threat->project(x_adv, x);
  CAPTURE(kind, eps);
  CHECK(threat->contains(projected, x).all().item<bool>());
  CHECK(projected.min().item<double>() >= 0);
  CHECK(projected.max().item<double>() <= 1);
  CHECK(torch::allclose(threat->project(projected, x), projected, /*rtol=*/0, /*atol=*/1e-6));
  // A point already inside does not move.
  CHECK(torch::equal(threat->project(x, x), x));
}

TEST_CASE("Linf projection is the coordinate-wise clamp", "[threat]") {
  const auto [x, x_adv] = random_pair(3);
  const auto expected = torch::min(torch::max(x_adv, x - 0.1), x + 0.1).clamp(0, 1);
  CHECK(torch::allclose(make_linf(0.1)->project(x_adv, x), expected));
}

TEST_CASE("L2 projection scales only samples outside the ball", "[threat]") {
  auto x = torch::full({2, 1, 2, 2}, 0.5);
  auto x_adv = x.clone();
  x_adv[0] += 0.1;  // norm 0.2, inside eps 1
  x_adv[1][0][0][0] += 0.4;
  x_adv[1][0][0][1] -= 0.3;  // norm 0.5, outside eps 0.25
  const auto projected = make_l2(0.25)->project(x_adv, x);
  CHECK(torch::allclose(projected[0], x_adv[0]));
  const auto delta = projected[1] - x[1];
  CHECK(delta.norm().item<double>() == Approx(0.25).epsilon(1e-5));
  CHECK(delta[0][0][0].item<double>() == Approx(0.2).epsilon(1e-5));
}

TEST_CASE("contains rejects points outside the ball or the domain", "[threat]") {
  auto x = torch::full({3, 1, 2, 2}, 0.5);
  auto x_adv = x.clone();
  x_adv[1][0][0][0] += 0.2;        // outside eps 0.1
  x_adv[2][0][0][0] = 0.5 + 0.05;  // inside
  auto linf = make_linf(0.1)->contains(x_adv, x);
  CHECK(linf[0].item<bool>());
  CHECK_FALSE(linf[1].item<bool>());
  CHECK(linf[2].item<bool>());
  auto edge = torch::zeros({1, 1, 2, 2});
  CHECK_FALSE(make_linf(0.1)->contains(edge - 0.05, edge)[0].item<bool>());  // below domain
}

TEST_CASE("sample draws members of the set, reproducibly", "[threat]") {
  const auto kind = GENERATE(as<std::string>{}, "Linf", "L2");
  const auto threat = make_threat(kind, 0.3);
  auto x = torch::rand({32, 1, 8, 8}, make_generator(1));
  auto gen = make_generator(5);
  const auto s = threat->sample(x, gen);
  CAPTURE(kind);
  CHECK(threat->contains(s, x).all().item<bool>());
  CHECK_FALSE(torch::equal(s, x));
  auto again = make_generator(5);
  CHECK(torch::equal(threat->sample(x, again), s));
}

TEST_CASE("ascend takes a steepest-ascent step", "[threat]") {
  auto x = torch::zeros({2, 1, 2, 2});
  auto grad =
      torch::tensor({3.0f, -4.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f}).reshape({2, 1, 2, 2});
  const auto linf = make_linf(1)->ascend(x, grad, 0.5);
  CHECK(torch::equal(linf, 0.5 * grad.sign()));
  const auto l2 = make_l2(1)->ascend(x, grad, 0.5);
  CHECK(l2[0].flatten()[0].item<double>() == Approx(0.3));
  CHECK(l2[0].flatten()[1].item<double>() == Approx(-0.4));
  CHECK(l2[1].norm().item<double>() == Approx(0.5));
  // A zero gradient gives no step rather than NaN.
  CHECK(torch::equal(make_l2(1)->ascend(x, torch::zeros_like(x), 0.5), x));
}

TEST_CASE("threat descriptions, parameters and errors", "[threat]") {
  CHECK(make_linf(0.1)->describe() == "Linf(eps: 0.1, domain: [0, 1])");
  CHECK(make_l2(0.5, {-1, 1})->describe() == "L2(eps: 0.5, domain: [-1, 1])");
  CHECK(make_linf(8.0 / 255)->describe() == "Linf(eps: 0.0313725, domain: [0, 1])");
  CHECK(make_linf(0.1)->default_step(10) == Approx(0.025));
  const auto wider = make_linf(0.1)->with({{"eps", {0.2, 0.2}}, {"domain", {-1, 2}}});
  CHECK(wider->describe() == "Linf(eps: 0.2, domain: [-1, 2])");
  CHECK(wider->eps() == 0.2);
  CHECK_THROWS_WITH(make_linf(0.1)->with({{"foo", {1, 1}}}),
                    "Linf has no parameter 'foo'; it has eps, domain");
  CHECK_THROWS_AS(make_linf(-0.1), Error);
  CHECK_THROWS_AS(make_l2(0.1, {1, 1}), Error);
  CHECK_THROWS_AS(make_l2(0.1)->with({{"eps", {0.1, 0.2}}}), Error);
}
