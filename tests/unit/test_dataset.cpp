// Fashion-MNIST loading and the Dataset operations.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "test_util.h"

using namespace perturb;

TEST_CASE("Fashion-MNIST loads with the expected shapes and range", "[dataset]") {
  const auto data = test::fashion_mnist_or_warn("test", 100);
  if (!data) return;
  CHECK(data->x.sizes() == torch::IntArrayRef({100, 1, 28, 28}));
  CHECK(data->x.scalar_type() == torch::kFloat32);
  CHECK(data->x.min().item<float>() >= 0);
  CHECK(data->x.max().item<float>() <= 1);
  CHECK(data->x.max().item<float>() > 0.5);
  CHECK(data->y.scalar_type() == torch::kInt64);
  CHECK(data->y.min().item<int64_t>() >= 0);
  CHECK(data->y.max().item<int64_t>() <= 9);
  CHECK(data->describe() == "fashion_mnist(test): 100 images 1×28×28, 10 classes");
  CHECK(fashion_mnist("test").size() == 10000);
}

TEST_CASE("Fashion-MNIST errors name the package and the splits", "[dataset]") {
  CHECK_THROWS_AS(fashion_mnist("train", 10, "/nonexistent/fmnist"), IoError);
  CHECK_THROWS_WITH(fashion_mnist("train", 10, "/nonexistent/fmnist"),
                    "Fashion-MNIST not found under /nonexistent/fmnist: install the Debian "
                    "package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");
  CHECK_THROWS_WITH(fashion_mnist("validation"), Catch::Contains("\"train\", \"test\""));
}

TEST_CASE("Dataset take, shuffle and batches", "[dataset]") {
  const auto data = test::random_dataset(10, 1, 4, 3, /*seed=*/1);
  CHECK(data.take(3).size() == 3);
  CHECK(data.take(100).size() == 10);
  CHECK_THROWS_AS(data.take(-1), Error);

  const auto a = data.shuffle(4), b = data.shuffle(4), c = data.shuffle(5);
  CHECK(torch::equal(a.x, b.x));
  CHECK_FALSE(torch::equal(a.x, c.x));
  CHECK(torch::equal(std::get<0>(a.y.sort()), std::get<0>(data.y.sort())));

  const auto batches = data.batches(4);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].size() == 4);
  CHECK(batches[2].size() == 2);
  CHECK(torch::equal(batches[1].x, data.x.slice(0, 4, 8)));
  CHECK_THROWS_AS(data.batches(0), Error);
}
