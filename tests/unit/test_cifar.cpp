// CIFAR-10/100 binary files: layout, the folder or its parent, and errors naming the file.
// (tests/data/test_cifar.py compares the decoded values with numpy's.)
#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/core/error.h"
#include "runtime/data/cifar.h"
#include "test_util.h"

using namespace perturb;
using perturb::test::TempDir;

namespace {

// One record: label bytes, then 3072 pixels whose value is the channel index (R 0, G 1, B 2)
// plus `shade`.
std::string record(const std::string& labels, int shade) {
  std::string out = labels;
  for (int channel = 0; channel < 3; ++channel) {
    out += std::string(1024, static_cast<char>(channel + shade));
  }
  return out;
}

// The six CIFAR-10 files under dir, two records each, labels 0..9 cycling.
void write_cifar10(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  int label = 0;
  for (const auto* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                           "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}) {
    std::string bytes;
    for (int i = 0; i < 2; ++i, ++label) bytes += record(std::string(1, char(label % 10)), 0);
    test::write_bytes((dir / name).string(), bytes);
  }
}

}  // namespace

TEST_CASE("cifar10 reads the folder or its parent, channels in order", "[cifar][dataset]") {
  TempDir dir;
  write_cifar10(dir.root() / "cifar-10-batches-bin");
  const auto train = cifar10(dir.root().string(), "train");
  CHECK(train.x.sizes() == torch::IntArrayRef({10, 3, 32, 32}));
  CHECK(train.y.scalar_type() == torch::kInt64);
  CHECK(train.y[9].item<int64_t>() == 9);
  CHECK(train.x[3][2][31][31].item<float>() == 2.0f / 255.0f);
  CHECK(train.name == "cifar10(train)");
  const auto test = cifar10(dir.path("cifar-10-batches-bin"), "test", 1);
  CHECK(test.size() == 1);
  CHECK(test.y[0].item<int64_t>() == 0);  // label 10 % 10
  CHECK(cifar10(dir.root().string(), "train", 3).size() == 3);
  CHECK(cifar10(dir.root().string(), "train", 0).size() == 0);
}

TEST_CASE("cifar100 picks the fine or the coarse label", "[cifar][dataset]") {
  TempDir dir;
  const auto folder = dir.root() / "cifar-100-binary";
  std::filesystem::create_directories(folder);
  test::write_bytes((folder / "train.bin").string(),
                    record(std::string("\x13\x63", 2), 5) + record(std::string("\x02\x2a", 2), 0));
  test::write_bytes((folder / "test.bin").string(), "");
  const auto fine = cifar100(dir.root().string(), "train");
  CHECK(fine.y[0].item<int64_t>() == 99);
  CHECK(fine.y[1].item<int64_t>() == 42);
  CHECK(fine.x[0][0][0][0].item<float>() == 5.0f / 255.0f);
  const auto coarse = cifar100(folder.string(), "train", "coarse");
  CHECK(coarse.y[0].item<int64_t>() == 19);
  CHECK(coarse.name == "cifar100(train, coarse)");
  CHECK(cifar100(folder.string(), "test").size() == 0);
  CHECK_THROWS_WITH(cifar100(folder.string(), "train", "medium"),
                    Catch::Contains("the labels are \"fine\", \"coarse\""));
  CHECK_THROWS_WITH(cifar100(folder.string(), "valid"), Catch::Contains("no split 'valid'"));
}

TEST_CASE("cifar errors name the file", "[cifar][dataset]") {
  TempDir dir;
  const auto folder = dir.root() / "cifar-10-batches-bin";
  write_cifar10(folder);

  const auto missing = (folder / "data_batch_3.bin").string();
  std::filesystem::remove(missing);
  CHECK_THROWS_AS(cifar10(folder.string(), "train"), IoError);
  CHECK_THROWS_WITH(cifar10(folder.string(), "train"),
                    Catch::Contains("'" + missing + "' not found") &&
                        Catch::Contains("https://www.cs.toronto.edu/~kriz/cifar.html") &&
                        Catch::Contains("binary version"));
  CHECK_THROWS_AS(cifar10(dir.path("nowhere"), "test"), IoError);

  const auto test_file = (folder / "test_batch.bin").string();
  test::write_bytes(test_file, record("\x01", 0) + std::string(100, '\0'));
  CHECK_THROWS_WITH(cifar10(folder.string(), "test"),
                    "'" + test_file +
                        "' is 3173 bytes, not a whole number of 3073-byte CIFAR-10 records "
                        "(truncated?)");

  test::write_bytes(test_file, record("\x01", 0) + record("\x0a", 0));
  CHECK_THROWS_WITH(
      cifar10(folder.string(), "test"),
      "'" + test_file + "' record 1 (counting from 0) has label 10; CIFAR-10 labels are 0..9");
  // A limit that stops before the bad record reads only what it keeps.
  CHECK(cifar10(folder.string(), "test", 1).size() == 1);

  const auto hundred = dir.root() / "cifar-100-binary";
  std::filesystem::create_directories(hundred);
  const auto train100 = (hundred / "train.bin").string();
  test::write_bytes(train100, record(std::string("\x14\x05", 2), 0));
  test::write_bytes((hundred / "test.bin").string(), "");
  CHECK(cifar100(hundred.string(), "train").y[0].item<int64_t>() == 5);
  CHECK_THROWS_WITH(cifar100(hundred.string(), "train", "coarse"),
                    Catch::Contains("record 0 (counting from 0) has coarse label 20; CIFAR-100 "
                                    "coarse labels are 0..19"));
}
