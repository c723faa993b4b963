// Square attack: scores only (no gradients), stays in the threat, counts queries, is seeded and
// really lowers the margin / fools a model.
#include <catch2/catch.hpp>

#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "test_util.h"

using namespace perturb;

namespace {

// Wraps a model and fails the test if the attack asks for gradients or differentiable inputs.
class ScoresOnly : public Model {
 public:
  explicit ScoresOnly(ModelPtr inner) : inner_(std::move(inner)) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    if (torch::GradMode::is_enabled() || x.requires_grad()) gradient_asked = true;
    ++calls;
    return inner_->forward(x);
  }
  std::vector<torch::Tensor> parameters() override { return inner_->parameters(); }
  void set_training(bool training) override { inner_->set_training(training); }
  bool training() const override { return inner_->training(); }
  void to(torch::Device d) override { inner_->to(d); }
  torch::Device device() const override { return inner_->device(); }
  std::string describe() const override { return "scores-only " + inner_->describe(); }
  void save(const std::string& path) const override { inner_->save(path); }
  bool gradient_asked = false;
  int64_t calls = 0;

 private:
  ModelPtr inner_;
};

ZooOptions small_images() {
  ZooOptions o;
  o.height = o.width = 12;
  return o;
}

torch::Tensor margins(Model& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  auto z = model.forward(x).clone();
  const auto own = z.gather(1, y.unsqueeze(1)).squeeze(1);
  z.scatter_(1, y.unsqueeze(1), -1e30);
  return own - std::get<0>(z.max(1));
}

}  // namespace

TEST_CASE("Square uses scores only, stays in the threat and counts queries", "[square]") {
  const auto kind = GENERATE(as<std::string>{}, "Linf", "L2");
  const double eps = kind == "Linf" ? 0.1 : 1.0;
  ScoresOnly model(make_zoo_model("lenet", small_images(), /*seed=*/3));
  const auto data = test::random_dataset(16, 1, 12, 10, /*seed=*/4);
  // Labels = the model's own predictions, so every sample starts correctly classified.
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = model.forward(data.x).argmax(1);
  }
  const auto threat = kind == "Linf" ? make_linf(eps) : make_l2(eps);
  SquareOptions options;
  options.queries = 200;
  const auto square = make_square(threat, options);
  auto gen = make_generator(0);
  AttackStats stats;
  model.gradient_asked = false;
  const auto x_adv = square->run(model, data.x, y, gen, &stats);
  CAPTURE(kind);
  CHECK_FALSE(model.gradient_asked);
  CHECK(stats.gradient_evals == 0);
  // One clean check plus at most `queries` per sample.
  CHECK(stats.queries >= 16 * 2);
  CHECK(stats.queries <= 16 * (1 + options.queries));
  CHECK(threat->contains(x_adv, data.x).all().item<bool>());
  CHECK(x_adv.min().item<double>() >= 0);
  CHECK(x_adv.max().item<double>() <= 1);
  // Random search only accepts improvements: the mean margin must have dropped.
  const double before = margins(model, data.x, y).mean().item<double>();
  const double after = margins(model, x_adv, y).mean().item<double>();
  CHECK(after < before);
}

TEST_CASE("Square is reproducible from the seed and leaves wrong samples alone", "[square]") {
  const auto model = make_zoo_model("mlp", small_images(), 1);
  const auto data = test::random_dataset(8, 1, 12, 10, 2);
  SquareOptions options;
  options.queries = 50;
  const auto square = make_square(make_linf(0.05), options);
  auto run = [&](uint64_t seed) {
    auto gen = make_generator(seed);
    return square->run(*model, data.x, data.y, gen);
  };
  CHECK(torch::equal(run(7), run(7)));
  // Samples misclassified at the start are returned unchanged.
  torch::Tensor wrong;
  {
    torch::NoGradGuard no_grad;
    wrong = model->forward(data.x).argmax(1) != data.y;
  }
  const auto x_adv = run(7);
  if (wrong.any().item<bool>()) {
    CHECK(torch::equal(x_adv.index({wrong}), data.x.index({wrong})));
  }
}

TEST_CASE("Square's p schedule shrinks squares and its parameters are checked", "[square]") {
  CHECK_THROWS_AS(make_square(make_linf(0.1), SquareOptions{0, 0.8, 1}), Error);
  CHECK_THROWS_AS(make_square(make_linf(0.1), SquareOptions{10, 1.5, 1}), Error);
  CHECK_THROWS_AS(make_square(make_l1(1.0), SquareOptions{}), Error);
  const auto sq = make_square(make_l2(0.5), SquareOptions{100, 0.3, 2});
  CHECK(sq->describe() ==
        "Square(L2(eps: 0.5, domain: [0, 1]), queries: 100, p_init: 0.3, restarts: 2)");
  const auto changed = sq->with({{"queries", {20, 20}}, {"eps", {0.25, 0.25}}});
  CHECK(changed->describe() ==
        "Square(L2(eps: 0.25, domain: [0, 1]), queries: 20, p_init: 0.3, restarts: 2)");
}
