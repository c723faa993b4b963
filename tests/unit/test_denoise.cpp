// Denoised smoothing: denoiser architectures, composition, the losses of eq. 6.13, training
// lowering the loss (white box and zeroth order), and the RGE / CGE estimators approaching the
// true gradient as q grows.
#include <catch2/catch.hpp>

#include "runtime/certify/denoiser_train.h"
#include "runtime/certify/zeroth_order.h"
#include "runtime/core/random.h"
#include "runtime/model/denoiser.h"
#include "runtime/model/zoo.h"
#include "runtime/model/zoo_model.h"
#include "test_util.h"

using namespace perturb;

namespace {

ZooOptions tiny(int64_t size = 8, int64_t classes = 5) {
  ZooOptions o;
  o.height = o.width = size;
  o.classes = classes;
  return o;
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.flatten() * b.flatten()).sum().item<double>() /
         (a.norm().item<double>() * b.norm().item<double>());
}

// A smooth black box: the rdunet loss of a small MLP's logits, with its true gradient.
struct Fixture {
  ModelPtr net = make_zoo_model("mlp", tiny(), 4);
  torch::Tensor x = torch::rand({4, 1, 8, 8}, make_generator(5));
  torch::Tensor clean;
  Fixture() {
    net->set_training(false);
    torch::NoGradGuard g;
    clean = net->forward(torch::rand({4, 1, 8, 8}, make_generator(6)));
  }
  BlackBoxLoss loss(const torch::Tensor& z) {
    return classifier_loss("rdunet", clean, net->forward(z), 1.0, 1.0);
  }
  torch::Tensor true_grad() {
    torch::Tensor z = x.clone().requires_grad_(true);
    loss(z).total().backward();
    return z.grad();
  }
};

}  // namespace

TEST_CASE("denoisers keep the image shape and save/load through the zoo", "[denoise]") {
  for (std::string arch : {denoiser_architecture("dncnn", {{"depth", 4}, {"width", 8}}),
                           denoiser_architecture("rdunet", {{"levels", 2}, {"width", 4}}),
                           denoiser_architecture("autoencoder", {{"code", 6}})}) {
    for (int64_t size : {8, 28}) {
      auto den = make_zoo_model(arch, tiny(size), 1);
      torch::Tensor x = torch::rand({3, 1, size, size}, make_generator(2));
      CHECK(den->forward(x).sizes() == x.sizes());
    }
  }
  CHECK(denoiser_architecture("dncnn", {{"depth", 5}, {"width", 64}}) == "dncnn_depth5");
  CHECK_THROWS_WITH(denoiser_architecture("dncnn", {{"levels", 2}}),
                    Catch::Contains("dncnn has no size 'levels'"));
  // RDUNet with four levels on odd sizes (28 → 14 → 7 → 3 → 1) upsamples back exactly.
  auto rd = make_zoo_model("rdunet_width4", tiny(28), 0);
  CHECK(rd->forward(torch::rand({2, 1, 28, 28})).sizes() == std::vector<int64_t>{2, 1, 28, 28});
  auto halves = autoencoder_halves(*make_zoo_model("autoencoder_code6", tiny(8), 0));
  CHECK(halves.encoder.forward(torch::rand({2, 1, 8, 8})).sizes() == std::vector<int64_t>{2, 6});
}

TEST_CASE("a composed model applies its parts in order", "[denoise]") {
  auto den = make_zoo_model("dncnn_depth3_width4", tiny(), 1);
  auto net = make_zoo_model("mlp", tiny(), 2);
  ComposedModel both(den, net);
  both.set_training(false);
  torch::Tensor x = torch::rand({2, 1, 8, 8});
  CHECK(torch::allclose(both.forward(x), net->forward(den->forward(x))));
  CHECK(both.parameters().size() == den->parameters().size() + net->parameters().size());
  CHECK_THROWS_WITH(both.save("/tmp/x.pt"), Catch::Contains("save its parts"));
}

TEST_CASE("the losses of eq. 6.13 vanish when the denoised logits equal the clean ones",
          "[denoise]") {
  torch::Tensor logits = torch::randn({6, 5}, make_generator(3)) * 3;
  auto same = classifier_loss("rdunet", logits, logits, 1.0, 1.0);
  auto p = torch::softmax(logits, 1);
  torch::Tensor entropy = -(p * torch::log(p)).sum(1);
  CHECK(torch::allclose(same.per_sample, entropy, 1e-4, 1e-5));  // CE = entropy, cos = 1
  CHECK(same.batch.item<double>() == Approx(0).margin(1e-6));
  auto other = classifier_loss("rdunet", logits, -logits, 1.0, 1.0);
  CHECK((other.per_sample > same.per_sample).all().item<bool>());
  CHECK(other.batch.item<double>() > 0.01);
  auto st = classifier_loss("stability", logits, logits, 1.0, 1.0);
  CHECK(torch::allclose(
      st.per_sample,
      torch::nn::functional::cross_entropy(
          logits, logits.argmax(1),
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))));
  CHECK_THROWS_WITH(classifier_loss("l1", logits, logits, 1, 1), Catch::Contains("use \"mse\""));
}

TEST_CASE("RGE approaches the true gradient as q grows; CGE matches it", "[denoise]") {
  Fixture f;
  torch::Tensor truth = f.true_grad();
  BlackBoxFn black = [&](const torch::Tensor& z) { return f.loss(z); };
  auto gen = make_generator(11);
  double previous_cos = -1;
  double previous_err = 1e9;
  for (int64_t q : {4, 64, 1024}) {
    // Average over repetitions so the trend is the estimator's, not one draw's.
    double cos_sum = 0, err_sum = 0;
    for (int rep = 0; rep < 3; ++rep) {
      ZoEstimate e = rge_gradient(black, f.x, q, 0.001, gen);
      CHECK(e.queries == f.x.size(0) * (q + 1));
      cos_sum += cosine(e.grad, truth);
      err_sum += (e.grad - truth).norm().item<double>() / truth.norm().item<double>();
    }
    INFO("q " << q << ": cosine " << cos_sum / 3 << ", relative error " << err_sum / 3);
    CHECK(cos_sum / 3 > previous_cos);
    CHECK(err_sum / 3 < previous_err);
    previous_cos = cos_sum / 3;
    previous_err = err_sum / 3;
  }
  CHECK(previous_cos > 0.7);
  ZoEstimate c = cge_gradient(black, f.x, 0.001, gen);
  CHECK(c.queries == 2 * 64 * f.x.size(0));
  // Per-sample terms are exact central differences; the MMD's cross terms add noise only.
  CHECK(cosine(c.grad, truth) > 0.95);
  CHECK_THROWS_WITH(rge_gradient(black, f.x, 0, 0.01, gen), Catch::Contains("q = 0"));
  CHECK_THROWS_WITH(parse_zo_method("spsa"), Catch::Contains("use \"rge\" or \"cge\""));
}

TEST_CASE("denoiser training lowers its loss, white box and zeroth order", "[denoise]") {
  Dataset data;
  data.x = torch::rand({64, 1, 8, 8}, make_generator(1));
  data.y = torch::randint(0, 5, {64}, make_generator(2));
  auto net = make_zoo_model("mlp", tiny(), 3);
  DenoiserTrainOptions o;
  o.sigma = 0.25;
  o.epochs = 4;
  o.batch = 16;
  o.optimizer.lr = 0.003;
  SECTION("mse") {
    auto den = make_zoo_model("dncnn_depth3_width8", tiny(), 4);
    auto r = train_denoiser(*den, nullptr, data, o);
    CHECK(r.losses.back() < r.losses.front());
    CHECK(r.queries == 0);
  }
  SECTION("rdunet loss, white box") {
    o.loss = "rdunet";
    auto den = make_zoo_model("rdunet_levels2_width4", tiny(), 4);
    auto r = train_denoiser(*den, net.get(), data, o);
    CHECK(r.losses.back() < r.losses.front());
    CHECK(r.queries == 2 * 64 * 4);
  }
  SECTION("stability, RGE") {
    o.loss = "stability";
    o.zo = "rge";
    o.q = 8;
    auto den = make_zoo_model("dncnn_depth3_width8", tiny(), 4);
    auto r = train_denoiser(*den, net.get(), data, o);
    CHECK(r.losses.back() < r.losses.front());
    CHECK(r.queries == 4 * (64 + 64 * 9));  // clean logits + (q + 1) per sample
  }
  SECTION("ZO-AE with CGE in a 6-dimensional code") {
    o.loss = "rdunet";
    o.zo = "cge";
    auto ae = make_zoo_model("autoencoder_code6", tiny(), 5);
    o.autoencoder = ae;
    auto den = make_zoo_model("dncnn_depth3_width8", tiny(), 4);
    auto r = train_denoiser(*den, net.get(), data, o);
    CHECK(r.losses.back() < r.losses.front());
    CHECK(r.queries == 4 * (64 + 64 * 12 + 64));  // clean, 2·d per sample, the loss itself
  }
  SECTION("errors") {
    auto den = make_zoo_model("dncnn_depth3_width8", tiny(), 4);
    o.loss = "stability";
    CHECK_THROWS_WITH(train_denoiser(*den, nullptr, data, o),
                      Catch::Contains("needs a classifier"));
    o.loss = "mse";
    o.zo = "rge";
    CHECK_THROWS_WITH(train_denoiser(*den, net.get(), data, o), Catch::Contains("zo needs"));
  }
}
