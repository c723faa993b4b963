// IBP and CROWN-IBP: the reading of models, soundness against PGD and random points of the
// input set, CROWN-IBP at least as tight as IBP, exactness on linear networks.
#include <catch2/catch.hpp>

#include <filesystem>

#include "runtime/attack/attack.h"
#include "runtime/certify/bounds.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "runtime/model/zoo_model.h"
#include "test_util.h"

using namespace perturb;
namespace nn = torch::nn;

namespace {

const std::string kConformanceModel =
    std::string(PERTURB_SOURCE_DIR) + "/tests/conformance/fmnist_cnn.ts";
const std::string kFixtureModel =
    std::string(PERTURB_SOURCE_DIR) + "/tests/golden/bounds/norm_bn_cnn.ts";

ZooOptions tiny(int64_t size, int64_t classes = 5) {
  ZooOptions o;
  o.height = o.width = size;
  o.classes = classes;
  return o;
}

// A random small network of every supported layer kind, on 1×8×8 inputs.
std::shared_ptr<ZooModel> random_network(int variant, uint64_t seed) {
  torch::manual_seed(seed);
  nn::Sequential net;
  if (variant == 0) {  // MLP
    net = nn::Sequential(nn::Flatten(), nn::Linear(64, 20), nn::ReLU(), nn::Linear(20, 12),
                         nn::ReLU(), nn::Linear(12, 5));
  } else if (variant == 1) {  // conv, max pool, batch norm
    nn::BatchNorm2d bn(4);
    net = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)), bn, nn::ReLU(),
                         nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(4, 6, 3).stride(2)),
                         nn::ReLU(), nn::Flatten(), nn::Linear(6, 5));
    // Non-trivial eval-mode statistics, including a negative scale.
    torch::NoGradGuard g;
    bn->running_mean.uniform_(-0.3, 0.3);
    bn->running_var.uniform_(0.5, 2);
    bn->weight.uniform_(-1.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
  } else {  // strided conv, average pool, overlapping max pool
    net = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 3, 3).stride(2).padding(1)), nn::ReLU(),
                         nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(1)), nn::ReLU(),
                         nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(1)), nn::Flatten(),
                         nn::Linear(3 * 2 * 2, 10), nn::ReLU(), nn::Linear(10, 5));
  }
  auto model = std::make_shared<ZooModel>("random", tiny(8), net);
  model->set_training(false);
  return model;
}

// PGD on one linear function of the logits (row of `spec`), minimising it; returns the values
// reached along the way and at the end, [B].
torch::Tensor pgd_min(Model& model, const Threat& threat, const torch::Tensor& x,
                      const torch::Tensor& row, at::Generator& gen, int steps = 30) {
  torch::Tensor x_adv = threat.sample(x, gen);
  torch::Tensor best;
  const double step = 2.5 * threat.eps() / steps;
  for (int i = 0; i <= steps; ++i) {
    torch::AutoGradMode on(true);
    torch::Tensor xa = x_adv.detach().requires_grad_(true);
    torch::Tensor value = (model.forward(xa) * row).sum(1);
    best = best.defined() ? torch::min(best, value.detach()) : value.detach();
    if (i == steps) break;
    torch::Tensor g = torch::autograd::grad({value.sum()}, {xa})[0];
    x_adv = threat.project(threat.ascend(xa.detach(), -g, step), x);
  }
  return best;
}

}  // namespace

TEST_CASE("the bound network reads zoo models exactly", "[bounds]") {
  for (const std::string arch : {"mlp", "small_cnn", "lenet"}) {
    auto model = make_zoo_model(arch, tiny(28, 10), 3);
    model->set_training(false);
    BoundNetwork net = BoundNetwork::from_model(*model);
    torch::NoGradGuard g;
    torch::Tensor x = torch::rand({3, 1, 28, 28});
    CHECK(torch::allclose(net.forward(x), model->forward(x), 1e-5, 1e-5));
  }
  for (int variant = 0; variant < 3; ++variant) {
    auto model = random_network(variant, 1);
    BoundNetwork net = BoundNetwork::from_model(*model);
    torch::NoGradGuard g;
    torch::Tensor x = torch::rand({3, 1, 8, 8});
    CHECK(torch::allclose(net.forward(x), model->forward(x), 1e-5, 1e-5));
  }
  CHECK(BoundNetwork::from_model(*make_zoo_model("lenet", tiny(28, 10))).describe() ==
        "Conv2d(1, 6, [5, 5]) → ReLU → MaxPool2d([2, 2]) → Conv2d(6, 16, [5, 5]) → ReLU → "
        "MaxPool2d([2, 2]) → Flatten → Linear(400, 120) → ReLU → Linear(120, 84) → ReLU → "
        "Linear(84, 10)");
}

TEST_CASE("the bound network reads TorchScript models and names unsupported layers", "[bounds]") {
  for (const auto& path : {kConformanceModel, kFixtureModel}) {
    if (!std::filesystem::exists(path)) {
      WARN("skipped: " << path << " is missing");
      continue;
    }
    auto model = load_model(path, torch::kCPU);
    BoundNetwork net = BoundNetwork::from_model(*model);
    torch::NoGradGuard g;
    torch::Tensor x = torch::rand({4, 1, 28, 28});
    CHECK(torch::allclose(net.forward(x), model->forward(x), 1e-4, 1e-4));
  }
  if (std::filesystem::exists(kFixtureModel)) {
    auto model = load_model(kFixtureModel, torch::kCPU);
    // normalisation, conv, batch norm, avg pool, view(N, -1), linear
    CHECK(BoundNetwork::from_model(*model).describe().find("BatchNorm") != std::string::npos);
  }
  auto odd = std::make_shared<ZooModel>(
      "odd", tiny(8), nn::Sequential(nn::Flatten(), nn::Linear(64, 5), nn::Tanh()));
  CHECK_THROWS_WITH(BoundNetwork::from_model(*odd),
                    Catch::Contains("does not support the layer torch::nn::Tanh"));
}

TEST_CASE("IBP and CROWN-IBP bounds contain every output PGD and random points reach", "[bounds]") {
  const int variant = GENERATE(0, 1, 2);
  const std::string kind = GENERATE(as<std::string>{}, "Linf", "L2");
  const double eps = kind == "Linf" ? GENERATE(0.02, 0.1) : GENERATE(0.1, 0.5);
  auto model = random_network(variant, 7 + variant);
  ThreatPtr threat = kind == "Linf" ? make_linf(eps) : make_l2(eps);
  torch::Tensor x = torch::rand({6, 1, 8, 8}, make_generator(variant));
  torch::Tensor y = torch::randint(0, 5, {6}, make_generator(variant + 10));
  BoundNetwork net = BoundNetwork::from_model(*model);
  InputSet set = input_set(*threat, x);
  torch::NoGradGuard g;
  const torch::Tensor margin = margin_spec(y, 5);
  const Bounds ibp = ibp_bounds(net, set);
  const Bounds crown = crown_ibp_bounds(net, set);
  const Bounds ibp_m = ibp_bounds(net, set, margin);
  const Bounds crown_m = crown_ibp_bounds(net, set, margin);
  const double tol = 1e-4;
  auto gen = make_generator(42);
  // Random points of the set.
  for (int trial = 0; trial < 20; ++trial) {
    torch::Tensor xs = threat->sample(x, gen);
    torch::Tensor f = model->forward(xs);
    CHECK((f >= crown.lower - tol).all().item<bool>());
    CHECK((f <= crown.upper + tol).all().item<bool>());
    CHECK((f >= ibp.lower - tol).all().item<bool>());
    CHECK((f <= ibp.upper + tol).all().item<bool>());
    torch::Tensor m = torch::matmul(margin, f.unsqueeze(2)).squeeze(2);
    CHECK((m >= crown_m.lower - tol).all().item<bool>());
    CHECK((m >= ibp_m.lower - tol).all().item<bool>());
  }
  // PGD minimising and maximising every logit, and minimising every margin.
  for (int64_t k = 0; k < 5; ++k) {
    torch::Tensor row = torch::zeros({1, 5});
    row[0][k] = 1;
    torch::Tensor lo = pgd_min(*model, *threat, x, row, gen);
    torch::Tensor hi = -pgd_min(*model, *threat, x, -row, gen);
    CHECK((lo >= crown.lower.select(1, k) - tol).all().item<bool>());
    CHECK((hi <= crown.upper.select(1, k) + tol).all().item<bool>());
    CHECK((lo >= ibp.lower.select(1, k) - tol).all().item<bool>());
    CHECK((hi <= ibp.upper.select(1, k) + tol).all().item<bool>());
  }
  for (int64_t j = 0; j < 4; ++j) {
    // Row j of each sample's margin spec, one sample at a time.
    for (int64_t b = 0; b < x.size(0); ++b) {
      torch::Tensor row = margin[b][j].unsqueeze(0);
      torch::Tensor reached = pgd_min(*model, *threat, x.narrow(0, b, 1), row, gen);
      CHECK(reached.item<double>() >= crown_m.lower[b][j].item<double>() - tol);
      CHECK(reached.item<double>() >= ibp_m.lower[b][j].item<double>() - tol);
    }
  }
  // CROWN-IBP at least as tight as IBP on the final layer.
  CHECK((crown.lower >= ibp.lower - 1e-6).all().item<bool>());
  CHECK((crown.upper <= ibp.upper + 1e-6).all().item<bool>());
  CHECK((crown_m.lower >= ibp_m.lower - 1e-6).all().item<bool>());
  // Bounds are ordered and enclose the clean output.
  torch::Tensor f0 = model->forward(x);
  CHECK((crown.lower <= f0 + tol).all().item<bool>());
  CHECK((crown.upper >= f0 - tol).all().item<bool>());
}

TEST_CASE("CROWN's backward pass alone is tighter than IBP on random networks", "[bounds]") {
  // Without the intersection with IBP the CROWN bound is its own; on these networks it is
  // tighter on average (the reason CROWN-IBP exists), and it is never unsound (checked above).
  for (int variant = 0; variant < 3; ++variant) {
    auto model = random_network(variant, 100 + variant);
    BoundNetwork net = BoundNetwork::from_model(*model);
    torch::NoGradGuard g;
    torch::Tensor x = torch::rand({8, 1, 8, 8}, make_generator(5));
    InputSet set = input_set(*make_linf(0.05), x);
    CrownOptions raw;
    raw.intersect = false;
    Bounds crown = crown_ibp_bounds(net, set, {}, raw);
    Bounds ibp = ibp_bounds(net, set);
    const double crown_width = (crown.upper - crown.lower).mean().item<double>();
    const double ibp_width = (ibp.upper - ibp.lower).mean().item<double>();
    INFO("variant " << variant << ": CROWN width " << crown_width << ", IBP " << ibp_width);
    CHECK(crown_width < ibp_width);
  }
}

TEST_CASE("on a linear network CROWN-IBP is exact and IBP is not", "[bounds]") {
  torch::manual_seed(3);
  auto model = std::make_shared<ZooModel>(
      "linear", tiny(4), nn::Sequential(nn::Flatten(), nn::Linear(16, 8), nn::Linear(8, 3)));
  model->set_training(false);
  BoundNetwork net = BoundNetwork::from_model(*model);
  torch::NoGradGuard g;
  torch::Tensor x = torch::rand({2, 1, 4, 4}) * 0.6 + 0.2;
  const double eps = 0.1;
  InputSet set = input_set(*make_linf(eps), x);
  CrownOptions raw;
  raw.intersect = false;
  Bounds crown = crown_ibp_bounds(net, set, {}, raw);
  Bounds ibp = ibp_bounds(net, set);
  // The composed map is J = W2·W1; its exact minimum over the box is J·x − eps·|J|·1.
  auto lin = [&](int i) { return net.layers[i].weight; };
  torch::Tensor j = torch::matmul(lin(2), lin(1));
  torch::Tensor f0 = model->forward(x);
  torch::Tensor exact_lo = f0 - eps * j.abs().sum(1);
  torch::Tensor exact_hi = f0 + eps * j.abs().sum(1);
  CHECK(torch::allclose(crown.lower, exact_lo, 1e-4, 1e-4));
  CHECK(torch::allclose(crown.upper, exact_hi, 1e-4, 1e-4));
  CHECK((ibp.upper - ibp.lower).mean().item<double>() >
        (exact_hi - exact_lo).mean().item<double>() + 1e-3);
  // L2: the exact bound is J·x ± eps·‖J_row‖₂ when the ball stays in the domain.
  InputSet ball = input_set(*make_l2(0.2), x);
  Bounds crown2 = crown_ibp_bounds(net, ball, {}, raw);
  CHECK(torch::allclose(crown2.lower, f0 - 0.2 * j.norm(2, 1), 1e-4, 1e-4));
}

TEST_CASE("the margin specification matches f_y - f_j", "[bounds]") {
  torch::Tensor y = torch::tensor({2, 0}, torch::kLong);
  torch::Tensor c = margin_spec(y, 3);
  REQUIRE(c.sizes() == std::vector<int64_t>({2, 2, 3}));
  CHECK(torch::equal(c[0], torch::tensor({{-1.f, 0.f, 1.f}, {0.f, -1.f, 1.f}})));
  CHECK(torch::equal(c[1], torch::tensor({{1.f, -1.f, 0.f}, {1.f, 0.f, -1.f}})));
  CHECK(parse_bound_method("crown_ibp") == BoundMethod::kCrownIbp);
  CHECK_THROWS_WITH(parse_bound_method("crown"),
                    "unknown bound method 'crown'; use \"ibp\" or \"crown_ibp\"");
}
