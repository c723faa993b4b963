// Statistics of randomized smoothing against scipy/statsmodels (values computed with Debian's
// python3-scipy 1.10.1 and python3-statsmodels 0.13.5), and the sequential confidence sequence.

#include <catch2/catch.hpp>

#include "runtime/certify/sequential.h"
#include "runtime/certify/smoothing.h"
#include "runtime/core/error.h"

using namespace perturb;

TEST_CASE("Clopper-Pearson bounds match statsmodels proportion_confint(method='beta')",
          "[certify]") {
  // proportion_confint(k, n, alpha=2*a, method="beta")[0], as the reference CERTIFY calls it.
  CHECK(clopper_pearson_lower(990, 1000, 0.001) == Approx(0.9760361871553114).epsilon(1e-12));
  CHECK(clopper_pearson_lower(10000, 10000, 0.001) == Approx(0.9993094630025899).epsilon(1e-12));
  CHECK(clopper_pearson_lower(5, 20, 0.05) == Approx(0.10408083591013609).epsilon(1e-12));
  CHECK(clopper_pearson_lower(7000, 10000, 0.001) == Approx(0.6856575766807298).epsilon(1e-12));
  CHECK(clopper_pearson_lower(0, 10, 0.01) == 0);
  // scipy.stats.beta.ppf(1 - a, k + 1, n - k)
  CHECK(clopper_pearson_upper(990, 1000, 0.001) == Approx(0.9970304990695041).epsilon(1e-12));
  CHECK(clopper_pearson_upper(0, 10, 0.01) == Approx(0.36904265551980675).epsilon(1e-12));
  CHECK(clopper_pearson_upper(5, 20, 0.05) == Approx(0.4555824040017489).epsilon(1e-12));
  CHECK(clopper_pearson_upper(10, 10, 0.01) == 1);
  CHECK_THROWS_AS(clopper_pearson_lower(11, 10, 0.01), Error);
}

TEST_CASE("the two-sided binomial test matches scipy's binom_test(k, n, 0.5)", "[certify]") {
  CHECK(binomial_test_half(60, 100) == Approx(0.05688793364098088).epsilon(1e-12));
  CHECK(binomial_test_half(40, 100) == Approx(0.05688793364098088).epsilon(1e-12));
  CHECK(binomial_test_half(50, 100) == 1);
  CHECK(binomial_test_half(10, 11) == Approx(0.01171875).epsilon(1e-12));
  CHECK(binomial_test_half(520, 1000) == Approx(0.2174482932041409).epsilon(1e-10));
  CHECK(binomial_test_half(3, 3) == Approx(0.25));
}

TEST_CASE("normal quantile and CDF", "[certify]") {
  CHECK(normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-14));
  CHECK(normal_quantile(0.999) == Approx(3.090232306167813).epsilon(1e-14));
  CHECK(normal_quantile(0.5) == Approx(0).margin(1e-15));
  CHECK(normal_cdf(normal_quantile(0.8)) == Approx(0.8).epsilon(1e-14));
}

TEST_CASE("the confidence sequence looks double up to n and split alpha evenly", "[certify]") {
  ConfidenceSequence cs(10000, 0.001, 100);
  const std::vector<int64_t> expected = {100, 200, 400, 800, 1600, 3200, 6400, 10000};
  CHECK(cs.looks() == expected);
  CHECK(cs.alpha_per_look() == Approx(0.001 / 8));
  CHECK(cs.lower(990, 1000) < clopper_pearson_lower(990, 1000, 0.001));  // wider per look
  CHECK(cs.lower(990, 1000) == Approx(clopper_pearson_lower(990, 1000, 0.001 / 8)));
  ConfidenceSequence one(50, 0.01, 100);
  CHECK(one.looks() == std::vector<int64_t>{50});
  CHECK_THROWS_AS(ConfidenceSequence(0, 0.01, 1), Error);
  CHECK_THROWS_AS(ConfidenceSequence(10, 1.5, 1), Error);
}

TEST_CASE("a decision is settled when the interval is on one side of every threshold",
          "[certify]") {
  CHECK(settles(0.6, 0.7, {0.5}));
  CHECK(settles(0.6, 0.7, {0.5, 0.8}));
  CHECK_FALSE(settles(0.6, 0.7, {0.5, 0.65}));
  CHECK(settles(0.2, 0.4, {0.5}));
  CHECK(settles(0.5, 0.9, {0.5}));
  CHECK(default_sequential_radii(0.25).size() == 9);
  CHECK(default_sequential_radii(0.25).back() == Approx(0.5));
}
