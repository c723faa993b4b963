// evaluate(..., keep = true): the kept examples agree with the report, cost nothing without keep,
// and draw as a grid of the expected size.
#include <catch2/catch.hpp>
#include <fstream>

#include "runtime/attack/attack.h"
#include "runtime/core/random.h"
#include "runtime/eval/evaluate.h"
#include "runtime/eval/example_grid.h"
#include "test_util.h"

using namespace perturb;

namespace {

// Labels a linear model gets right, so attacks have something to fool.
Dataset linear_task(test::LinearModel& model, int64_t n) {
  Dataset data = test::random_dataset(n, 1, 8, 4, /*seed=*/3);
  data.y = model.forward(data.x).argmax(1);
  data.y.slice(0, 0, 5).add_(1).remainder_(4);  // five wrong clean: never attacked
  return data;
}

// A PNG's width and height from its IHDR chunk.
std::pair<int64_t, int64_t> png_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[24] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  auto be32 = [&](int at) {
    return (int64_t{header[at]} << 24) | (header[at + 1] << 16) | (header[at + 2] << 8) |
           header[at + 3];
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("evaluate keep: the examples agree with the report", "[eval]") {
  auto gen = make_generator(0);
  test::LinearModel model(torch::randn({64, 4}, gen));
  const Dataset data = linear_task(model, 50);
  PgdOptions pgd_options;
  pgd_options.steps = 4;
  const std::vector<NamedAttack> attacks = {{"fgsm", make_fgsm(make_linf(0.02))},
                                            {"pgd", make_pgd(make_linf(0.05), pgd_options)}};
  auto g1 = make_generator(7), g2 = make_generator(7);
  const auto plain = evaluate(model, data, attacks, g1, 16);
  const auto kept = evaluate(model, data, attacks, g2, 16, true, /*keep=*/true);
  CHECK_FALSE(plain.examples);
  REQUIRE(kept.examples);
  CHECK(kept.robust == plain.robust);  // keeping changes nothing measured
  const auto& e = *kept.examples;
  CHECK(e.attacks == std::vector<std::string>{"fgsm", "pgd"});
  const auto fooled = e.fooled_by >= 0;
  CHECK(fooled.sum().item<int64_t>() == std::llround(50 * (kept.clean - kept.robust)));
  CHECK((fooled & (e.pred_clean != e.y)).sum().item<int64_t>() == 0);
  CHECK(torch::equal(model.forward(e.x_adv).argmax(1), e.pred_adv));
  CHECK((fooled & (e.pred_adv == e.y)).sum().item<int64_t>() == 0);
  CHECK((e.x_adv - e.x).abs().max().item<double>() <= 0.05 + 1e-6);
  CHECK(torch::equal(e.x_adv.index({~fooled}), e.x.index({~fooled})));
  int64_t grads = 0, queries = 0;
  for (const auto& a : kept.by_attack) {
    grads += a.stats.gradient_evals;
    queries += a.stats.queries;
  }
  CHECK(e.gradient_evals.sum().item<int64_t>() == grads);
  CHECK(e.queries.sum().item<int64_t>() == queries);
  // Samples wrong clean are never attacked: they cost nothing.
  CHECK(e.gradient_evals.index({e.pred_clean != e.y}).sum().item<int64_t>() == 0);

  test::TempDir dir;
  ExampleGridOptions options;
  options.n = 6;
  save_example_grid(dir.path("grid.png"), e, options);
  const auto [width, height] = png_size(dir.path("grid.png"));
  // Six columns of 64-pixel cells (8×8 drawn 8×), two rows each with a two-line caption.
  CHECK(width >= 6 * 64);
  CHECK(width < 6 * 200);
  CHECK(height > 2 * (64 + 20));
  CHECK(height < 2 * (64 + 60) + 40);
  options.n = 0;
  CHECK_THROWS_WITH(save_example_grid(dir.path("none.png"), e, options),
                    Catch::Contains("n of at least 1"));
}
