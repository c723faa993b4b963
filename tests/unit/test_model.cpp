// The zoo, shape errors, ModeGuard, and save/load round trips (Perturb and TorchScript).
#include <torch/script.h>
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/model/zoo.h"
#include "test_util.h"

using namespace perturb;

TEST_CASE("zoo models produce logits and are seeded", "[model]") {
  const auto arch = GENERATE(as<std::string>{}, "mlp", "small_cnn", "cnn4", "lenet");
  const auto model = make_zoo_model(arch, {}, /*seed=*/3);
  const auto x = torch::rand({4, 1, 28, 28});
  CAPTURE(arch);
  CHECK(model->forward(x).sizes() == torch::IntArrayRef({4, 10}));
  CHECK(torch::equal(make_zoo_model(arch, {}, 3)->forward(x), model->forward(x)));
  CHECK_FALSE(torch::equal(make_zoo_model(arch, {}, 4)->forward(x), model->forward(x)));
  CHECK(model->describe() == arch + "(classes: 10, channels: 1)");
}

TEST_CASE("zoo models handle other image sizes and name shape errors", "[model]") {
  ZooOptions rgb;
  rgb.channels = 3;
  rgb.height = rgb.width = 32;
  rgb.classes = 5;
  const auto model = make_zoo_model("small_cnn", rgb);
  CHECK(model->forward(torch::rand({2, 3, 32, 32})).sizes() == torch::IntArrayRef({2, 5}));
  CHECK_THROWS_WITH(make_zoo_model("small_cnn", {})->forward(torch::rand({4, 3, 28, 28})),
                    "model small_cnn expects inputs of shape N×1×28×28, got [4, 3, 28, 28]");
  CHECK_THROWS_WITH(
      make_zoo_model("resnet", {}),
      "unknown architecture 'resnet'; the zoo has mlp, small_cnn, cnn4, lenet, resnet18, wrn");
  ZooOptions tiny;
  tiny.height = tiny.width = 2;
  CHECK_THROWS_AS(make_zoo_model("lenet", tiny), Error);
}

TEST_CASE("ModeGuard restores the previous mode", "[model]") {
  const auto model = make_zoo_model("mlp", {});
  model->set_training(true);
  {
    ModeGuard guard(*model, false);
    CHECK_FALSE(model->training());
  }
  CHECK(model->training());
}

TEST_CASE("a saved zoo model loads back with identical outputs", "[model]") {
  test::TempDir dir;
  const auto arch = GENERATE(as<std::string>{}, "mlp", "small_cnn", "cnn4", "lenet");
  const auto model = make_zoo_model(arch, {}, /*seed=*/11);
  const auto path = dir.path("sub/dir/" + arch + ".pt");
  model->save(path);
  const auto loaded = load_model(path, torch::kCPU);
  const auto x = torch::rand({3, 1, 28, 28});
  model->set_training(false);
  loaded->set_training(false);
  CAPTURE(arch);
  CHECK(loaded->describe() == model->describe());
  CHECK(torch::equal(loaded->forward(x), model->forward(x)));
}

TEST_CASE("load_model errors", "[model]") {
  test::TempDir dir;
  CHECK_THROWS_AS(load_model(dir.path("missing.pt"), torch::kCPU), IoError);
  CHECK_THROWS_WITH(load_model(dir.path("missing.pt"), torch::kCPU),
                    "cannot open '" + dir.path("missing.pt") + "': No such file or directory");
  CHECK_THROWS_AS(load_model(dir.root().string(), torch::kCPU), IoError);
  test::write_bytes(dir.path("notes.txt"), "not a model");
  CHECK_THROWS_WITH(
      load_model(dir.path("notes.txt"), torch::kCPU),
      "'" + dir.path("notes.txt") + "' is neither a Perturb model nor a TorchScript module");
}

TEST_CASE("TorchScript modules load and report channel errors in the user's terms", "[model]") {
  test::TempDir dir;
  torch::jit::Module module("Tiny");
  module.register_parameter("weight", torch::randn({10, 1, 3, 3}), false);
  module.define(R"(
def forward(self, x):
    return torch.conv2d(x, self.weight).mean([2, 3])
)");
  const auto path = dir.path("tiny.ts");
  module.save(path);
  const auto model = load_model(path, torch::kCPU);
  CHECK(model->describe() == "torchscript('" + path + "')");
  CHECK(model->forward(torch::rand({2, 1, 8, 8})).sizes() == torch::IntArrayRef({2, 10}));
  CHECK(model->parameters().size() == 1);
  CHECK_THROWS_WITH(model->forward(torch::rand({2, 3, 8, 8})),
                    "model expected 1 input channel, got 3: input of shape [2, 3, 8, 8]");
  CHECK_THROWS_WITH(model->forward(torch::rand({2, 8})),
                    Catch::StartsWith("the model rejected an input of shape [2, 8]: "));
}

TEST_CASE("the residual zoo models train, save their batch-norm statistics and load back",
          "[model]") {
  test::TempDir dir;
  ZooOptions rgb;
  rgb.channels = 3;
  rgb.height = rgb.width = 16;
  ZooOptions wide = rgb;
  wide.depth = 10;
  wide.widen = 2;
  const auto arch = GENERATE(as<std::string>{}, "resnet18", "wrn");
  const auto& options = arch == "wrn" ? wide : rgb;
  const auto model = make_zoo_model(arch, options, /*seed=*/5);
  const auto x = torch::rand({4, 3, 16, 16});
  CAPTURE(arch);
  CHECK(model->forward(x).sizes() == torch::IntArrayRef({4, 10}));
  // One training-mode pass moves the running statistics away from their initial values.
  model->set_training(true);
  model->forward(x * 3 + 1);
  model->set_training(false);
  const auto path = dir.path(arch + ".pt");
  model->save(path);
  const auto loaded = load_model(path, torch::kCPU);
  loaded->set_training(false);
  CHECK(loaded->describe() == model->describe());
  CHECK(torch::allclose(loaded->forward(x), model->forward(x)));
  CHECK_FALSE(torch::allclose(make_zoo_model(arch, options, 5)->forward(x), model->forward(x)));
}

TEST_CASE("a Wide ResNet's depth must be 6n + 4", "[model]") {
  ZooOptions o;
  o.depth = 12;
  CHECK_THROWS_WITH(make_zoo_model("wrn", o),
                    Catch::Contains("depth must be 6n + 4 (10, 16, 22, 28, 34, 40, ...), got 12"));
}
