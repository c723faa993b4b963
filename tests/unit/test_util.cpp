#include "test_util.h"

#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "runtime/core/random.h"

namespace perturb::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "perturb-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::optional<Dataset> fashion_mnist_or_warn(const std::string& split, int64_t limit) {
  if (!fs::exists(kFashionMnistDir)) {
    WARN("skipped: Fashion-MNIST is not installed under "
         << kFashionMnistDir << " (apt-get install dataset-fashion-mnist)");
    return std::nullopt;
  }
  return fashion_mnist(split, limit);
}

Dataset random_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed) {
  auto gen = make_generator(seed);
  auto x = torch::rand({n, channels, size, size}, gen);
  auto y = torch::randint(0, classes, {n}, gen, torch::TensorOptions().dtype(torch::kInt64));
  return {x, y, "random"};
}

}  // namespace perturb::test
