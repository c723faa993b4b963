// The runtime against the plain-PyTorch reference in tests/conformance (same traced model, same
// 1000 test images). The deterministic attacks must match the reference's accuracies exactly;
// the REFERENCE_ACCURACY_* numbers come from tests/conformance/reference.json (CMakeLists.txt).
#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/attack/attack.h"
#include "runtime/core/random.h"
#include "runtime/eval/evaluate.h"
#include "test_util.h"

using namespace perturb;

namespace {

const std::string kModel = std::string(PERTURB_SOURCE_DIR) + "/tests/conformance/fmnist_cnn.ts";

double attacked_accuracy(Model& model, const Dataset& data, const Attack& attack, uint64_t seed) {
  auto gen = make_generator(seed);
  const auto x_adv = attack.run(model, data.x, data.y, gen);
  return accuracy(model, x_adv, data.y);
}

}  // namespace

TEST_CASE("built-in attacks match the plain-PyTorch reference", "[conformance]") {
  const auto data = test::fashion_mnist_or_warn("test", 1000);
  if (!data) return;
  if (!std::filesystem::exists(kModel)) {
    WARN("skipped: " << kModel << " is missing");
    return;
  }
  const auto model = load_model(kModel, torch::kCPU);
  CHECK_THROWS_WITH(model->forward(torch::rand({2, 3, 28, 28})),
                    "model expected 1 input channel, got 3: input of shape [2, 3, 28, 28]");
  CHECK_THROWS_WITH(model->forward(torch::rand({2, 1, 32, 32})),
                    "the model rejected an input of shape [2, 1, 32, 32]: mat1 and mat2 shapes "
                    "cannot be multiplied (2x2048 and 1568x64)");
  CHECK(accuracy(*model, data->x, data->y) == Approx(REFERENCE_ACCURACY_CLEAN).margin(1e-9));
  CHECK(attacked_accuracy(*model, *data, *make_fgsm(make_linf(0.1)), 0) ==
        Approx(REFERENCE_ACCURACY_FGSM).margin(1e-9));

  PgdOptions pgd;
  pgd.steps = 20;
  pgd.step = 0.01;
  pgd.random_start = false;
  CHECK(attacked_accuracy(*model, *data, *make_pgd(make_linf(0.1), pgd), 0) ==
        Approx(REFERENCE_ACCURACY_PGD20_NO_RANDOM_START).margin(1e-9));
  // Random starts draw from different generators than the reference, so only close.
  pgd.random_start = true;
  CHECK(attacked_accuracy(*model, *data, *make_pgd(make_linf(0.1), pgd), 0) ==
        Approx(REFERENCE_ACCURACY_PGD20_RANDOM_START).margin(0.02));
  PgdOptions l2;
  l2.steps = 20;
  CHECK(attacked_accuracy(*model, *data, *make_pgd(make_l2(1.5), l2), 0) ==
        Approx(REFERENCE_ACCURACY_L2_PGD20_RANDOM_START).margin(0.02));
}
