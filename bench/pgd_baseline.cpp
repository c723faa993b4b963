// Hand-written LibTorch baseline for bench/run.sh: L-inf PGD-20 (eps 0.1, step 0.01,
// uniform random start) on the first N Fashion-MNIST test images against the TorchScript
// model tests/conformance/fmnist_cnn.ts. Prints "accuracy: A" and "elapsed: S" (seconds of
// the attack and the final accuracy pass, as the .ptb scripts time it), then "total: S"
// (everything from the start of main, including loading the model and the data).
//
// Usage: pgd_baseline [--model PATH] [--data DIR] [--n 1000] [--batch 1000]
//                     [--steps 20] [--eps 0.1] [--step 0.01] [--seed 0] [--threads T]
// Threads default to $OMP_NUM_THREADS, else 2, so the three benchmarks run pinned alike.
#include <torch/script.h>
#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Reads a whole gzip file into memory.
std::vector<uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  int n = 0;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  gzclose(f);
  if (n < 0) throw std::runtime_error("error reading " + path);
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) |
         uint32_t(b[at + 3]);
}

// IDX images (magic 2051) -> float N x 1 x H x W in [0, 1], first `limit` images.
torch::Tensor load_images(const std::string& path, int64_t limit) {
  auto b = read_gz(path);
  if (b.size() < 16 || be32(b, 0) != 2051) throw std::runtime_error(path + ": not IDX images");
  int64_t n = std::min<int64_t>(be32(b, 4), limit), h = be32(b, 8), w = be32(b, 12);
  auto u8 = torch::from_blob(b.data() + 16, {n, 1, h, w}, torch::kUInt8);
  return u8.to(torch::kFloat32).div_(255.0);  // copies out of `b`
}

// IDX labels (magic 2049) -> int64 N, first `limit` labels.
torch::Tensor load_labels(const std::string& path, int64_t limit) {
  auto b = read_gz(path);
  if (b.size() < 8 || be32(b, 0) != 2049) throw std::runtime_error(path + ": not IDX labels");
  int64_t n = std::min<int64_t>(be32(b, 4), limit);
  return torch::from_blob(b.data() + 8, {n}, torch::kUInt8).to(torch::kInt64);
}

torch::Tensor logits(torch::jit::Module& model, const torch::Tensor& x) {
  return model.forward({x}).toTensor();
}

// Gradient of the mean cross-entropy with respect to the input.
torch::Tensor input_grad(torch::jit::Module& model, const torch::Tensor& x,
                         const torch::Tensor& y) {
  auto xg = x.detach().requires_grad_(true);
  auto loss = torch::nn::functional::cross_entropy(logits(model, xg), y);
  return torch::autograd::grad({loss}, {xg})[0];
}

// torchattacks-style L-inf PGD.
torch::Tensor pgd(torch::jit::Module& model, const torch::Tensor& x, const torch::Tensor& y,
                  double eps, double step, int steps) {
  auto x_adv = (x + torch::empty_like(x).uniform_(-eps, eps)).clamp(0, 1);
  for (int i = 0; i < steps; ++i) {
    auto g = input_grad(model, x_adv, y);
    x_adv = x_adv.detach() + step * g.sign();
    x_adv = (x + (x_adv - x).clamp(-eps, eps)).clamp(0, 1);
  }
  return x_adv.detach();
}

}  // namespace

int main(int argc, char** argv) {
  auto t_start = Clock::now();
  std::string model_path = "tests/conformance/fmnist_cnn.ts";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t n = 1000, batch = 1000;
  int steps = 20, threads = 2;
  double eps = 0.1, step = 0.01;
  uint64_t seed = 0;
  if (const char* t = std::getenv("OMP_NUM_THREADS")) threads = std::atoi(t);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      model_path = v;
    else if (k == "--data")
      data_dir = v;
    else if (k == "--n")
      n = std::stoll(v);
    else if (k == "--batch")
      batch = std::stoll(v);
    else if (k == "--steps")
      steps = std::stoi(v);
    else if (k == "--eps")
      eps = std::stod(v);
    else if (k == "--step")
      step = std::stod(v);
    else if (k == "--seed")
      seed = std::stoull(v);
    else if (k == "--threads")
      threads = std::stoi(v);
    else {
      std::fprintf(stderr, "pgd_baseline: unknown option %s\n", k.c_str());
      return 64;
    }
  }
  if (threads > 0) torch::set_num_threads(threads);
  torch::manual_seed(seed);

  try {
    auto model = torch::jit::load(model_path);
    model.eval();
    for (auto p : model.parameters()) p.requires_grad_(false);
    auto x = load_images(data_dir + "/t10k-images-idx3-ubyte.gz", n);
    auto y = load_labels(data_dir + "/t10k-labels-idx1-ubyte.gz", n);

    auto t_attack = Clock::now();
    int64_t correct = 0;
    for (int64_t i = 0; i < x.size(0); i += batch) {
      auto xb = x.slice(0, i, i + batch), yb = y.slice(0, i, i + batch);
      auto x_adv = pgd(model, xb, yb, eps, step, steps);
      torch::NoGradGuard no_grad;
      correct += logits(model, x_adv).argmax(1).eq(yb).sum().item<int64_t>();
    }
    double elapsed = seconds_since(t_attack);
    std::printf("accuracy: %g\n", double(correct) / double(x.size(0)));
    std::printf("elapsed: %.4f\n", elapsed);
    std::printf("total: %.4f\n", seconds_since(t_start));
    std::printf("threads: %d\n", torch::get_num_threads());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgd_baseline: %s\n", e.what());
    return 70;
  }
  return 0;
}
