// Image transforms (runtime/image/transforms.h): identities, directions, gradients, errors.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/image/transforms.h"

using namespace perturb;
namespace img = perturb::image;

namespace {

torch::Tensor images(int64_t n, int64_t c, int64_t size, uint64_t seed = 1) {
  auto gen = make_generator(seed);
  return torch::rand({n, c, size, size}, gen);
}

torch::Tensor full(int64_t n, double v) {
  return torch::full({n}, v);
}

}  // namespace

TEST_CASE("transforms at their neutral parameters are the identity", "[threat]") {
  const auto x = images(3, 3, 9);
  CHECK(torch::allclose(img::rotate(x, full(3, 0)), x, 1e-5, 1e-5));
  CHECK(torch::allclose(img::translate(x, full(3, 0), full(3, 0)), x, 1e-5, 1e-5));
  CHECK(torch::allclose(img::scale(x, full(3, 1)), x, 1e-5, 1e-5));
  CHECK(torch::allclose(img::brightness(x, full(3, 1)), x));
  CHECK(torch::allclose(img::contrast(x, full(3, 1)), x, 1e-6, 1e-6));
  CHECK(torch::allclose(img::gamma(x, full(3, 1)), x));
  CHECK(torch::allclose(img::gaussian_blur(x, full(3, 0)), x, 1e-6, 1e-6));
  CHECK(torch::allclose(img::color_shift(x, torch::zeros({3, 3})), x));
  CHECK(torch::allclose(img::haze(x, full(3, 0), full(3, 0.8), torch::Tensor()), x));
}

TEST_CASE("geometric transforms move content the documented way", "[threat]") {
  auto x = torch::zeros({1, 1, 5, 5});
  x[0][0][2][3] = 1;  // one pixel right of the centre
  // Translation by whole pixels is exact.
  auto moved = img::translate(x, full(1, 1), full(1, -1));
  CHECK(moved[0][0][1][4].item<double>() == Approx(1).margin(1e-5));
  CHECK(moved.sum().item<double>() == Approx(1).margin(1e-5));
  // 90° counter-clockwise on screen: right of centre goes to above the centre (row 1).
  auto turned = img::rotate(x, full(1, 90));
  CHECK(turned[0][0][1][2].item<double>() == Approx(1).margin(1e-4));
  // Zoom ×2 pushes the pixel away from the centre.
  auto zoomed = img::scale(torch::ones({1, 1, 8, 8}), full(1, 0.5));
  CHECK(zoomed[0][0][0][0].item<double>() == Approx(0).margin(1e-6));  // border uncovered
  CHECK(zoomed[0][0][4][4].item<double>() == Approx(1).margin(1e-6));
}

TEST_CASE("photometric transforms match their formulas", "[threat]") {
  const auto x = images(2, 1, 6) * 0.5;
  CHECK(torch::allclose(img::brightness(x, full(2, 1.5)), (x * 1.5).clamp(0, 1)));
  const auto m = x.mean({1, 2, 3}, true);
  CHECK(torch::allclose(img::contrast(x, full(2, 0.5)), m + 0.5 * (x - m), 1e-6, 1e-6));
  CHECK(torch::allclose(img::gamma(x, full(2, 2)), x * x, 1e-6, 1e-6));
  // Blur keeps the mean of a constant image and smooths a spike.
  auto spike = torch::zeros({1, 1, 9, 9});
  spike[0][0][4][4] = 1;
  auto blurred = img::gaussian_blur(spike, full(1, 1));
  CHECK(blurred.sum().item<double>() == Approx(1).margin(1e-5));
  CHECK(blurred[0][0][4][4].item<double>() < 0.2);
  CHECK(blurred[0][0][4][5].item<double>() == Approx(blurred[0][0][5][4].item<double>()));
}

TEST_CASE("transforms are differentiable in their parameters", "[threat]") {
  const auto x = images(2, 3, 8);
  auto check_grad = [&](const std::function<torch::Tensor(const torch::Tensor&)>& f, double v) {
    auto p = full(2, v).requires_grad_(true);
    auto out = f(p).sum();
    auto g = torch::autograd::grad({out}, {p})[0];
    CHECK(torch::isfinite(g).all().item<bool>());
    CHECK(g.abs().sum().item<double>() > 0);
  };
  check_grad([&](const torch::Tensor& p) { return img::rotate(x, p); }, 10);
  check_grad([&](const torch::Tensor& p) { return img::translate(x, p, p); }, 0.5);
  check_grad([&](const torch::Tensor& p) { return img::scale(x, p); }, 1.1);
  check_grad([&](const torch::Tensor& p) { return img::contrast(x, p); }, 0.7);
  check_grad([&](const torch::Tensor& p) { return img::gamma(x, p); }, 1.2);
  check_grad([&](const torch::Tensor& p) { return img::gaussian_blur(x, p); }, 0.8);
  check_grad([&](const torch::Tensor& p) { return img::haze(x, p, full(2, 0.9), {}); }, 0.5);
  // Gamma at a zero pixel keeps a finite gradient.
  auto g = full(1, 1.5).requires_grad_(true);
  auto out = img::gamma(torch::zeros({1, 1, 2, 2}), g).sum();
  CHECK(torch::isfinite(torch::autograd::grad({out}, {g})[0]).all().item<bool>());
}

TEST_CASE("haze moves monotonically towards the airlight as beta grows", "[threat]") {
  const auto x = images(1, 1, 8) * 0.5 + 0.25;  // in [0.25, 0.75]
  double last_bright = x.mean().item<double>(), last_dark = last_bright;
  for (double beta : {0.25, 0.5, 1.0, 2.0}) {
    const double bright = img::haze(x, full(1, beta), full(1, 1.0), {}).mean().item<double>();
    const double dark = img::haze(x, full(1, beta), full(1, 0.0), {}).mean().item<double>();
    CHECK(bright > last_bright);
    CHECK(dark < last_dark);
    last_bright = bright;
    last_dark = dark;
  }
  // The top row (depth 1) is hazier than the bottom row (depth 0.2).
  const auto depth = img::default_depth(8, 8, torch::kFloat32);
  CHECK(depth[0][0][0][0].item<double>() == Approx(1));
  CHECK(depth[0][0][7][3].item<double>() == Approx(0.2));
}

TEST_CASE("transforms reject wrong shapes and channel counts in the user's terms", "[threat]") {
  const auto gray = images(2, 1, 4);
  CHECK(torch::equal(img::grayscale(gray), gray));  // a gray image is its own grayscale
  CHECK_THROWS_WITH(img::grayscale(images(2, 2, 4)), Catch::Contains("3-channel"));
  CHECK_THROWS_WITH(img::color_shift(gray, torch::zeros({2, 3})), Catch::Contains("3-channel"));
  CHECK_THROWS_WITH(img::rotate(torch::zeros({4, 4}), full(1, 0)), Catch::Contains("[N, C, H, W]"));
  CHECK_THROWS_WITH(img::rotate(gray, full(3, 0)), Catch::Contains("one angle per image"));
  CHECK_THROWS_AS(img::haze(gray, full(2, 1), full(2, 1), torch::zeros({3, 3})), Error);
  const auto rgb = images(2, 3, 4);
  const auto g = img::grayscale(rgb);
  CHECK(torch::allclose(g.select(1, 0), g.select(1, 2)));
}
