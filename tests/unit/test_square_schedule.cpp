// Square's p schedule: rescaled to the budget by default (square.py's resc_schedule=True), fixed
// at 10000 iterations with .with(rescale_schedule: false), as AutoAttack's cascade runs Square.
#include <catch2/catch.hpp>

#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"

using namespace perturb;

namespace {

// Constant logits (class 0 ahead by 10) whatever the input, so no candidate is ever accepted
// and each query differs from the start point exactly by its own square; records every input.
class Recorder : public Model {
 public:
  torch::Tensor forward(const torch::Tensor& x) override {
    inputs.push_back(x.detach().clone());
    auto z = torch::zeros({x.size(0), 10});
    z.select(1, 0).fill_(10.0);
    return z;
  }
  std::vector<torch::Tensor> parameters() override { return {}; }
  void set_training(bool) override {}
  bool training() const override { return false; }
  void to(torch::Device) override {}
  torch::Device device() const override { return torch::kCPU; }
  std::string describe() const override { return "recorder"; }
  void save(const std::string&) const override {}
  std::vector<torch::Tensor> inputs;
};

// The largest number of pixels by which the candidates of iterations [from, to) differ from the
// start point (inputs[0] is the clean check, inputs[1] the start, inputs[2 + it] iteration it).
int64_t largest_change(const Recorder& m, int64_t from, int64_t to) {
  int64_t most = 0;
  for (int64_t it = from; it < to; ++it) {
    const auto changed = (m.inputs[2 + it] - m.inputs[1]).abs().gt(1e-6).sum().item<int64_t>();
    most = std::max(most, changed);
  }
  return most;
}

}  // namespace

TEST_CASE("Square's p schedule is rescaled to the budget unless rescale_schedule is false",
          "[square]") {
  // 12x12, one channel, p_init 0.8, 100 queries. Iterations 20..39: rescaled, i = 2000..3900 of
  // 10000, p = 0.8/32 then 0.8/64, squares of side round(sqrt(p·144)) = 2 then 1 (at most 4
  // pixels); fixed, i = 20..39, p = 0.8/2, side 8 (up to 64 pixels, the columns whose start
  // stripe has the other sign flip).
  const auto x = torch::full({1, 1, 12, 12}, 0.5);
  const auto y = torch::zeros({1}, torch::kInt64);
  SquareOptions options;
  options.queries = 100;
  const auto rescaled = make_square(make_linf(0.1), options);
  const auto fixed = rescaled->with({{"rescale_schedule", {0, 0}}});
  CHECK(fixed->describe() ==
        "Square(Linf(eps: 0.1, domain: [0, 1]), queries: 100, p_init: 0.8, restarts: 1, "
        "rescale_schedule: false)");
  // Another change keeps the fixed schedule.
  CHECK(fixed->with({{"queries", {200, 200}}})->describe().find("rescale_schedule: false") !=
        std::string::npos);

  Recorder a, b;
  auto gen_a = make_generator(0), gen_b = make_generator(0);
  rescaled->run(a, x, y, gen_a);
  fixed->run(b, x, y, gen_b);
  REQUIRE(a.inputs.size() == 2 + 99);
  REQUIRE(b.inputs.size() == 2 + 99);
  CHECK(largest_change(a, 20, 40) <= 4);
  CHECK(largest_change(b, 20, 40) >= 9);
  CHECK(largest_change(b, 20, 40) <= 64);
  // The first 10 iterations use p_init in both (side round(sqrt(0.8·144)) = 11).
  CHECK(largest_change(a, 0, 3) > 4);
}
