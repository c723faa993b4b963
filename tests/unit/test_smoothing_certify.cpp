// CERTIFY, PREDICT and sequential CERTIFY on a linear classifier, where the smoothed classifier is
// known exactly: for f(x) = [w·x > 0] the smoothed classifier agrees with f and its exact L2
// robustness radius is |w·x| / ||w|| (the distance to the hyperplane); p_A = Phi(|w·x| / (sigma
// ||w||)). Also the certificate's accounting, JSON/TSV and the fmnist TorchScript model.

#include <catch2/catch.hpp>

#include <ATen/Parallel.h>

#include <cmath>
#include <filesystem>

#include "runtime/certify/certificate.h"
#include "runtime/certify/smoothing.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "test_util.h"

using namespace perturb;

namespace {

constexpr int64_t kSide = 4;  // 1×4×4 inputs

// Two classes: logits (w·x, -w·x) with w a unit vector along the first pixel.
test::LinearModel half_space() {
  torch::Tensor w = torch::zeros({kSide * kSide});
  w[0] = 1;
  return test::LinearModel(torch::stack({w, -w}, 1));
}

// Inputs whose first pixel is `d` (distance to the boundary, signed), other pixels random.
Dataset at_distances(const std::vector<double>& d, uint64_t seed) {
  auto gen = make_generator(seed);
  torch::Tensor x = torch::rand({static_cast<int64_t>(d.size()), 1, kSide, kSide}, gen);
  torch::Tensor y = torch::empty({static_cast<int64_t>(d.size())}, torch::kInt64);
  for (size_t i = 0; i < d.size(); ++i) {
    x[static_cast<int64_t>(i)][0][0][0] = d[i];
    y[static_cast<int64_t>(i)] = d[i] > 0 ? 0 : 1;
  }
  return {x, y, "half-space"};
}

SmoothOptions options(double sigma, int64_t n) {
  SmoothOptions o;
  o.sigma = sigma;
  o.n0 = 100;
  o.n = n;
  o.alpha = 0.001;
  o.batch = 512;
  return o;
}

}  // namespace

TEST_CASE("CERTIFY's radii are sound and close to the exact radius of a linear classifier",
          "[certify]") {
  auto model = half_space();
  const std::vector<double> distances = {0.05, 0.2, 0.4, -0.3, 0.6};
  Dataset data = at_distances(distances, 1);
  auto gen = make_generator(0);
  const double sigma = 0.5;
  Certificate cert = certify_smoothed(model, data, options(sigma, 20000), gen);
  REQUIRE(cert.size() == 5);
  for (int64_t i = 0; i < cert.size(); ++i) {
    const auto& row = cert.rows[static_cast<size_t>(i)];
    const double exact = std::abs(distances[static_cast<size_t>(i)]);
    CHECK(row.prediction == row.label);
    CHECK(row.correct);
    CHECK(row.samples == 100 + 20000);
    // Sound (holds with probability 1 - alpha per input) and not far below the truth: with
    // n = 20000 the Clopper-Pearson bound loses at most ~0.05 in radius at these distances.
    CHECK(row.radius <= exact);
    CHECK(row.radius >= exact - 0.06);
  }
  CHECK(cert.abstain() == 0);
  CHECK(cert.accuracy_at(0.0) == 1);
  CHECK(cert.accuracy_at(0.32) == Approx(0.4));  // distances 0.4 and 0.6 only
  CHECK(cert.accuracy_at(1.0) == 0);
}

TEST_CASE("CERTIFY abstains on the decision boundary and is seeded", "[certify]") {
  auto model = half_space();
  Dataset data = at_distances({0.0, 0.0, 0.0}, 2);
  auto gen = make_generator(5);
  Certificate cert = certify_smoothed(model, data, options(0.25, 2000), gen);
  // p_A = 1/2 exactly: the lower bound stays below 1/2 except with probability alpha.
  CHECK(cert.abstain() == 1);
  for (const auto& row : cert.rows) {
    CHECK(row.prediction == Certificate::kAbstain);
    CHECK(row.radius == 0);
    CHECK_FALSE(row.correct);
  }
  // Same seed, same certificate; another seed, other counts.
  Dataset near = at_distances({0.1, 0.2}, 3);
  auto g1 = make_generator(7), g2 = make_generator(7), g3 = make_generator(8);
  Certificate a = certify_smoothed(model, near, options(0.25, 3000), g1);
  Certificate b = certify_smoothed(model, near, options(0.25, 3000), g2);
  Certificate c = certify_smoothed(model, near, options(0.25, 3000), g3);
  CHECK(a.rows[0].radius == b.rows[0].radius);
  CHECK(a.rows[1].radius == b.rows[1].radius);
  CHECK((a.rows[0].radius != c.rows[0].radius || a.rows[1].radius != c.rows[1].radius));
}

TEST_CASE("PREDICT agrees with the linear classifier away from the boundary and abstains on it",
          "[certify]") {
  auto model = half_space();
  Dataset data = at_distances({0.3, -0.3, 0.0}, 4);
  auto gen = make_generator(1);
  SmoothOptions o = options(0.25, 2000);
  torch::Tensor pred = predict_smoothed(model, data.x, o, gen);
  CHECK(pred[0].item<int64_t>() == 0);
  CHECK(pred[1].item<int64_t>() == 1);
  CHECK(pred[2].item<int64_t>() == Certificate::kAbstain);
}

TEST_CASE("sequential CERTIFY saves samples and settles the same decisions", "[certify]") {
  auto model = half_space();
  // Far from the boundary (settled at an early look) and in between.
  const std::vector<double> distances = {0.9, 1.2, 0.3, -0.8};
  Dataset data = at_distances(distances, 6);
  const double sigma = 0.25;
  SmoothOptions fixed = options(sigma, 20000);
  SmoothOptions seq = fixed;
  seq.sequential = true;
  seq.radii = {0, 0.125, 0.25, 0.5};
  auto g1 = make_generator(11), g2 = make_generator(11);
  Certificate full = certify_smoothed(model, data, fixed, g1);
  Certificate early = certify_smoothed(model, data, seq, g2);
  CHECK(early.total_samples() < full.total_samples() / 3);
  for (double r : seq.radii) CHECK(early.accuracy_at(r) == full.accuracy_at(r));
  for (size_t i = 0; i < distances.size(); ++i) {
    CHECK(early.rows[i].radius <= std::abs(distances[i]));  // still sound
    CHECK(early.rows[i].samples <= full.rows[i].samples);
  }
  // The far inputs stop at an early look: certified at every radius of interest (0.5 needs
  // p_A >= Phi(2) = 0.977) after a few hundred samples.
  CHECK(early.rows[0].samples <= 100 + 800);
  // On the boundary nothing settles: sampling runs to n, then abstains.
  Dataset edge = at_distances({0.0}, 7);
  auto g3 = make_generator(12);
  Certificate boundary = certify_smoothed(model, edge, seq, g3);
  CHECK(boundary.rows[0].prediction == Certificate::kAbstain);
  CHECK(boundary.rows[0].samples == 100 + 20000);
}

TEST_CASE("options are checked in the user's terms", "[certify]") {
  auto model = half_space();
  Dataset data = at_distances({0.3}, 1);
  auto gen = make_generator(0);
  SmoothOptions o = options(0.25, 100);
  o.sigma = 0;
  CHECK_THROWS_WITH(certify_smoothed(model, data, o, gen), Catch::Contains("sigma"));
  o = options(0.25, 100);
  o.alpha = 1;
  CHECK_THROWS_WITH(certify_smoothed(model, data, o, gen), Catch::Contains("alpha"));
  o = options(0.25, 0);
  CHECK_THROWS_WITH(certify_smoothed(model, data, o, gen), Catch::Contains("n must be"));
}

TEST_CASE("a certificate saves JSON, CSV and the reference's TSV columns atomically", "[certify]") {
  Certificate cert;
  cert.method = "Smooth(sigma: 0.25)";
  cert.norm = "l2";
  cert.alpha = 0.001;
  cert.rows = {{0, 3, 3, 0.5, true, 0.25, 10100},
               {1, 1, Certificate::kAbstain, 0, false, 0.5, 10100},
               {2, 7, 2, 0.3, false, 0.1, 10100},
               {3, 0, 0, 0.1, true, 0.1, 10100}};
  CHECK(cert.abstain() == Approx(0.25));
  CHECK(cert.accuracy_at(0.0) == Approx(0.5));
  CHECK(cert.accuracy_at(0.1) == Approx(0.5));
  CHECK(cert.accuracy_at(0.2) == Approx(0.25));
  CHECK(cert.accuracy_at(0.6) == 0);
  test::TempDir dir;
  cert.save(dir.path("c.tsv"));
  const std::string tsv = test::read_text(dir.path("c.tsv"));
  CHECK(tsv.rfind("idx\tlabel\tpredict\tradius\tcorrect\ttime", 0) == 0);
  CHECK(tsv.find("\n1\t1\t-1\t0\t0\t") != std::string::npos);
  cert.save(dir.path("sub/c.json"));
  const std::string json = test::read_text(dir.path("sub/c.json"));
  CHECK(json.find("\"method\":\"Smooth(sigma: 0.25)\"") != std::string::npos);
  CHECK(json.find("\"abstain\":0.25") != std::string::npos);
  // nlohmann writes a whole double as 0.0; counts are integers.
  CHECK(json.find("{\"idx\":1,\"label\":1,\"predict\":-1,\"radius\":0.0,\"correct\":0") !=
        std::string::npos);
  CHECK(json.find("\"accuracy_at\":{\"0\":0.5,") != std::string::npos);
  cert.save(dir.path("c.csv"));
  const std::string csv = test::read_text(dir.path("c.csv"));
  CHECK(csv.rfind("idx,label,predict,radius,correct,time,samples\r\n0,3,3,0.5,1,0.25,10100\r\n",
                  0) == 0);
  CHECK(csv.find("\r\n1,1,-1,0,0,0.5,10100\r\n") != std::string::npos);
  // No temp files left behind.
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.root()))
    files += e.is_regular_file();
  CHECK(files == 3);
  // The curve steps down after each certified radius of a correct input.
  PlotSeries s = cert.curve("c");
  CHECK(s.step);
  CHECK(s.x.front() == 0);
  CHECK(s.y.front() == Approx(0.5));
  CHECK(s.y.back() == 0);
}

TEST_CASE("CERTIFY runs on the exported TorchScript Fashion-MNIST CNN", "[certify]") {
  auto data = test::fashion_mnist_or_warn("test", 4);
  if (!data) return;
  ModelPtr model =
      load_model(std::string(PERTURB_SOURCE_DIR) + "/tests/conformance/fmnist_cnn.ts", torch::kCPU);
  auto gen = make_generator(0);
  SmoothOptions o = options(0.25, 500);
  o.batch = 250;
  Certificate cert = certify_smoothed(*model, *data, o, gen);
  REQUIRE(cert.size() == 4);
  CHECK(cert.accuracy_at(0.0) >= 0.5);  // a CNN trained without noise still holds up at 0.25
  for (const auto& row : cert.rows) {
    CHECK(row.radius >= 0);
    CHECK(row.radius <= 0.25 * normal_quantile(clopper_pearson_lower(500, 500, 0.001)) + 1e-12);
  }
}

namespace {

// Class 1 when any input value lies below 0 or above 1, else class 0: tells whether the noise
// reaching the model was clipped to the image range.
class OutOfRangeModel : public Model {
 public:
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor flat = x.reshape({x.size(0), -1});
    torch::Tensor out = ((flat < 0) | (flat > 1)).any(1).to(torch::kFloat32);
    return torch::stack({1 - out, out}, 1);
  }
  std::vector<torch::Tensor> parameters() override { return {}; }
  void set_training(bool training) override { training_ = training; }
  bool training() const override { return training_; }
  void to(torch::Device) override {}
  torch::Device device() const override { return torch::kCPU; }
  std::string describe() const override { return "out of range"; }
  void save(const std::string&) const override {}

 private:
  bool training_ = true;
};

}  // namespace

TEST_CASE(
    "noise is added in input space, unclipped, with the model in eval mode and the thread "
    "count restored",
    "[certify]") {
  OutOfRangeModel model;
  model.set_training(true);
  // A mid-grey image: with sigma 0.5 some of its 16 pixels leave [0, 1] on almost every draw.
  Dataset data{torch::full({2, 1, kSide, kSide}, 0.5), torch::tensor({1, 1}), "grey"};
  auto gen = make_generator(3);
  const int threads = at::get_num_threads();
  Certificate cert = certify_smoothed(model, data, options(0.5, 1000), gen);
  CHECK(at::get_num_threads() == threads);
  CHECK(model.training());  // restored after the call
  for (const auto& row : cert.rows) CHECK(row.prediction == 1);
  // A tiny sigma never leaves the range: class 0, certified at a tiny radius only.
  Certificate small = certify_smoothed(model, data, options(0.01, 1000), gen);
  for (const auto& row : small.rows) {
    CHECK(row.prediction == 0);
    CHECK(row.radius < 0.05);
  }
}
