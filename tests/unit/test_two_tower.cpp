// Two-tower models, contrastive training (InfoNCE, TeCoA, MAT) and image–text retrieval metrics
// (runtime/model/{zoo_two_tower,torchscript_two_tower}, runtime/train/contrastive,
// runtime/eval/itr).
#include <catch2/catch.hpp>

#include <torch/script.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/itr.h"
#include "runtime/model/text_encoder.h"
#include "runtime/model/torchscript_two_tower.h"
#include "runtime/model/zoo_two_tower.h"
#include "runtime/threat/threat.h"
#include "runtime/train/contrastive.h"

namespace perturb {
namespace {

const std::string kConformance = std::string(PERTURB_SOURCE_DIR) + "/tests/conformance";

// 32 images 1×8×8: a block in one of four quadrants at one of four brightness levels, two
// captions each naming both (so pairs 16 apart share their captions).
PairedDataset synthetic_pairs() {
  const std::vector<std::string> places = {"top-left", "top-right", "bottom-left", "bottom-right"};
  const std::vector<std::string> levels = {"dim", "grey", "bright", "white"};
  auto gen = make_generator(11);
  PairedDataset data;
  const int64_t n = 32;
  data.images = torch::rand({n, 1, 8, 8}, gen) * 0.1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t q = i % 4, b = (i / 4) % 4;
    data.images.index_put_({i, 0, torch::indexing::Slice((q / 2) * 4, (q / 2) * 4 + 4),
                            torch::indexing::Slice((q % 2) * 4, (q % 2) * 4 + 4)},
                           0.25 + 0.25 * static_cast<double>(b));
    data.captions.push_back(
        {"a " + levels[b] + " block " + places[q], "the " + places[q] + " square is " + levels[b]});
  }
  data.name = "synthetic";
  return data;
}

TwoTowerPtr small_tower(const PairedDataset& data, uint64_t seed, double temperature = 0.07) {
  auto tokenizer =
      make_word_tokenizer(data.all_captions(), /*max_length=*/12, /*min_count=*/1, false);
  TextEncoderOptions text;
  text.dim = 32;
  text.width = 32;
  auto encoder = std::make_shared<TextEncoder>(tokenizer, text, seed + 1);
  TwoTowerOptions options;
  options.dim = 16;
  options.temperature = temperature;
  options.height = options.width = 8;
  return make_two_tower(make_default_image_tower(1, 8, 8, seed), encoder, options, seed + 2);
}

ContrastiveOptions quick(int64_t epochs) {
  ContrastiveOptions options;
  options.epochs = epochs;
  options.batch = 16;
  options.optimizer = {"adam", 3e-3};
  options.quiet = true;
  return options;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone());
  return out;
}

bool all_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i].detach(), b[i].detach())) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("clip_loss is InfoNCE both ways (eq. 1) on a hand-computed example", "[two_tower]") {
  const auto images = torch::tensor({{1.0, 0.0}, {0.0, 2.0}});
  const auto texts = torch::tensor({{3.0, 0.0}, {1.0, 1.0}});
  const ClipLoss loss = clip_loss(images, texts, torch::tensor(std::log(2.0)));
  // cos: [[1, 1/√2], [0, 1/√2]]; logits = 2·cos.
  const double r = std::sqrt(2.0);
  const double image0 = -std::log(std::exp(2.0) / (std::exp(2.0) + std::exp(r)));
  const double image1 = -std::log(std::exp(r) / (1 + std::exp(r)));
  const double text0 = -std::log(std::exp(2.0) / (std::exp(2.0) + 1));
  const double text1 = std::log(2.0);
  CHECK(loss.image.item<double>() == Approx((image0 + image1) / 2).epsilon(1e-5));
  CHECK(loss.text.item<double>() == Approx((text0 + text1) / 2).epsilon(1e-5));
  CHECK(loss.both.item<double>() == Approx((image0 + image1 + text0 + text1) / 4).epsilon(1e-5));
  CHECK_THROWS_AS(clip_loss(images, texts.slice(0, 0, 1), torch::tensor(0.0)), Error);
}

TEST_CASE(
    "the logit scale starts at log(1/temperature), gets a gradient and is clamped at "
    "log 100",
    "[two_tower]") {
  const PairedDataset data = synthetic_pairs();
  auto model = small_tower(data, 0);
  CHECK(model->logit_scale().item<double>() == Approx(std::log(1 / 0.07)).epsilon(1e-6));
  auto batch = data.take(8).first_captions();
  std::vector<std::string> texts;
  for (const auto& list : batch.captions) texts.push_back(list[0]);
  const ClipLoss loss =
      clip_loss(model->encode_image(batch.images), model->encode_text(texts), model->logit_scale());
  loss.both.backward();
  const torch::Tensor scale = model->parameters().back();  // the logit scale is last
  REQUIRE(scale.dim() == 0);
  REQUIRE(scale.grad().defined());
  CHECK(scale.grad().abs().item<double>() > 0);
  // τ = 0.001 would be log 1000; it is used as log 100.
  auto sharp = small_tower(data, 0, /*temperature=*/0.001);
  CHECK(sharp->logit_scale().item<double>() == Approx(std::log(100.0)).epsilon(1e-6));
  CHECK_THROWS_AS(small_tower(data, 0, /*temperature=*/0), Error);
}

TEST_CASE("contrastive training lowers the loss, raises recall and is fixed by its seed",
          "[two_tower]") {
  const PairedDataset data = synthetic_pairs();
  auto model = small_tower(data, 1);
  auto gen = make_generator(0);
  const ItrResult before = evaluate_itr(*model, data, nullptr, gen, {1, 5}, 64);
  const auto epochs = train_contrastive(*model, data, quick(25));
  const ItrResult after = evaluate_itr(*model, data, nullptr, gen, {1, 5}, 64);
  const ItrResult chance = chance_itr(data, {1, 5});
  CHECK(epochs.back().loss < 0.6 * epochs.front().loss);
  CHECK(after.tr(5) > before.tr(5) + 0.2);
  CHECK(after.ir(5) > before.ir(5) + 0.2);
  CHECK(after.tr(5) > 3 * chance.tr(5));
  CHECK(epochs.back().temperature > 0);
  // The same seed, the same weights.
  auto again = small_tower(data, 1);
  train_contrastive(*again, data, quick(25));
  CHECK(all_equal(model->parameters(), again->parameters()));
}

TEST_CASE("TeCoA (eq. 3) trains only the image tower; MAT needs a caption adversary",
          "[two_tower]") {
  const PairedDataset data = synthetic_pairs();
  auto model = small_tower(data, 2);
  const auto image_before = copies(model->image_parameters());
  const auto all_before = copies(model->parameters());
  ContrastiveOptions options = quick(1);
  options.method = "tecoa";
  PgdOptions pgd;
  pgd.steps = 2;
  options.adversary = make_image_attack(make_pgd(make_linf(0.05), pgd));
  train_contrastive(*model, data, options);
  CHECK_FALSE(all_equal(model->image_parameters(), image_before));
  // Everything after the image parameters (text encoder, its projection, the logit scale) is
  // unchanged.
  const auto all_after = model->parameters();
  const size_t image_count = image_before.size();
  std::vector<torch::Tensor> text_after(all_after.begin() + image_count, all_after.end());
  std::vector<torch::Tensor> text_before(all_before.begin() + image_count, all_before.end());
  REQUIRE_FALSE(text_before.empty());
  CHECK(all_equal(text_after, text_before));

  options.method = "mat";  // an image-only adversary cannot serve MAT (eq. 6)
  CHECK_THROWS_WITH(train_contrastive(*model, data, options),
                    Catch::Contains("perturbs the captions"));
  options.adversary = nullptr;
  options.method = "tecoa";
  CHECK_THROWS_AS(train_contrastive(*model, data, options), Error);
  options.method = "simclr";
  CHECK_THROWS_WITH(train_contrastive(*model, data, options), Catch::Contains("unknown method"));
}

TEST_CASE("a saved two-tower loads back with identical embeddings", "[two_tower]") {
  const PairedDataset data = synthetic_pairs();
  auto model = small_tower(data, 3);
  train_contrastive(*model, data, quick(2));
  const std::string path = "/tmp/perturb-unit-two-tower.pt";
  model->save(path);
  auto back = load_two_tower_file(path, torch::kCPU);
  REQUIRE(back);
  CHECK(back->describe() == model->describe());
  CHECK(torch::equal(embed_images(*back, data.images, 16), embed_images(*model, data.images, 16)));
  CHECK(torch::equal(embed_texts(*back, data.all_captions(), 16),
                     embed_texts(*model, data.all_captions(), 16)));
  CHECK(back->logit_scale().item<double>() == model->logit_scale().item<double>());
  // A classifier file is not a two-tower.
  CHECK_FALSE(load_two_tower_file(kConformance + "/fmnist_cnn.ts", torch::kCPU));
  std::remove(path.c_str());
}

TEST_CASE("ITR recall counts any of an image's captions (TR) and the caption's image (IR)",
          "[two_tower]") {
  // 3 images; captions 0, 1 belong to image 0, caption 2 to image 1, captions 3, 4 to image 2.
  const auto sim = torch::tensor({{0.1, 0.9, 0.8, 0.0, 0.0},    // image 0: own caption 1 first
                                  {0.5, 0.0, 0.2, 0.6, 0.1},    // image 1: own caption 3rd
                                  {0.3, 0.0, 0.0, 0.2, 0.1}});  // image 2: own captions 2nd, 3rd
  const ItrResult r = recall_from_similarity(sim, {0, 0, 1, 2, 2}, {1, 2, 3});
  CHECK(r.tr(1) == Approx(1.0 / 3));
  CHECK(r.tr(2) == Approx(2.0 / 3));
  CHECK(r.tr(3) == Approx(1.0));
  // IR: caption columns ranked over images: c0 → [1, 2, 0] own 0 at rank 3; c1 → 0 first;
  // c2 → 0 then 1 (rank 2); c3 → 1 then 2 (rank 2); c4 → 1 and 2 tie at 0.1: stable, 1 first,
  // so 2 is at rank 2.
  CHECK(r.ir(1) == Approx(1.0 / 5));
  CHECK(r.ir(2) == Approx(4.0 / 5));
  CHECK(r.ir(3) == Approx(1.0));
  CHECK(r.images == 3);
  CHECK(r.captions == 5);
  CHECK_THROWS_AS(r.tr(5), Error);
  CHECK_THROWS_AS(recall_from_similarity(sim, {0, 0, 0, 2, 2}, {1}), Error);  // image 1 has none
  CHECK_THROWS_AS(recall_from_similarity(sim, {0, 1}, {1}), Error);
  CHECK_THROWS_AS(recall_from_similarity(sim, {0, 0, 1, 2, 2}, {0}), Error);
}

TEST_CASE("chance recall: any of c captions among K of all, K over images", "[two_tower]") {
  PairedDataset data;
  data.images = torch::zeros({1000, 1, 2, 2});
  data.captions.assign(1000, {"a", "b", "c", "d", "e"});
  const ItrResult chance = chance_itr(data, {1, 5, 10});
  CHECK(chance.tr(1) == Approx(5.0 / 5000));
  // 1 − C(4995, 5)/C(5000, 5)
  double miss = 1;
  for (int t = 0; t < 5; ++t) miss *= (4995.0 - t) / (5000.0 - t);
  CHECK(chance.tr(5) == Approx(1 - miss));
  CHECK(chance.ir(1) == Approx(0.001));
  CHECK(chance.ir(10) == Approx(0.01));
}

TEST_CASE("a TorchScript two-tower exported from PyTorch computes PyTorch's embeddings",
          "[two_tower]") {
  const std::string dir = kConformance + "/multimodal";
  auto tokenizer = load_word_list_tokenizer(dir + "/vocab.txt", 12);
  auto model = load_torchscript_two_tower(dir + "/tiny_two_tower.ts", tokenizer, torch::kCPU);
  // Reference values from make_two_tower.py (reference.json).
  torch::NoGradGuard no_grad;
  const auto text = model->encode_text({"a dark shirt", "a photo of a pale narrow dress with ink"});
  CHECK(text[0][0].item<double>() == Approx(-0.387093).margin(1e-5));
  CHECK(text[1][15].item<double>() == Approx(-0.243742).margin(1e-5));
  CHECK(model->logit_scale().item<double>() == Approx(std::log(1 / 0.07)).epsilon(1e-6));
  CHECK_FALSE(model->image_parameters().empty());  // the `visual` submodule
  CHECK(model->image_parameters().size() < model->parameters().size());
  // A classifier is not a two-tower: the missing method is named.
  CHECK_THROWS_WITH(
      load_torchscript_two_tower(kConformance + "/fmnist_cnn.ts", tokenizer, torch::kCPU),
      Catch::Contains("encode_image"));
  CHECK_THROWS_AS(load_word_list_tokenizer(dir + "/make_two_tower.py", 12), Error);
}

}  // namespace perturb

namespace perturb {

TEST_CASE("two TorchScript files make a two-tower with a logit scale of ours", "[two_tower]") {
  // Two modules written with TorchScript source here: an image encoder forward(x) and a text
  // encoder forward(ids, mask) (a sum of embedding rows over the real tokens).
  auto gen = make_generator(4);
  const torch::Tensor image_weight = torch::randn({64, 4}, gen);
  torch::jit::Module image("ImageTower");
  image.register_parameter("weight", image_weight.clone().requires_grad_(true), false);
  image.define("def forward(self, x):\n  return x.flatten(1).matmul(self.weight)\n");
  const PairedDataset data = synthetic_pairs();
  auto tokenizer = make_word_tokenizer(data.all_captions(), 12, 1, false);
  torch::jit::Module text("TextTower");
  text.register_parameter(
      "embedding", torch::randn({tokenizer->vocab_size(), 4}, gen).requires_grad_(true), false);
  text.define(
      "def forward(self, ids, mask):\n"
      "  rows = self.embedding.index_select(0, ids.flatten()).view(ids.size(0), ids.size(1), -1)\n"
      "  return (rows * mask.unsqueeze(2).to(rows.dtype)).sum(1)\n");
  const std::string image_path = "/tmp/perturb-unit-image-tower.ts";
  const std::string text_path = "/tmp/perturb-unit-text-tower.ts";
  image.save(image_path);
  text.save(text_path);
  auto model = load_torchscript_two_tower(image_path, text_path, tokenizer, torch::kCPU);
  const torch::Tensor x = torch::rand({3, 1, 8, 8}, gen);
  CHECK(torch::allclose(model->encode_image(x), x.flatten(1).matmul(image_weight)));
  CHECK(model->encode_text({"a dim block top-left"}).sizes() == torch::IntArrayRef({1, 4}));
  CHECK(model->logit_scale().item<double>() == Approx(std::log(1 / 0.07)).epsilon(1e-6));
  CHECK(model->parameters().size() == 3);  // image weight, embedding, our logit scale
  CHECK(model->image_parameters().size() == 1);
  // It trains like any two-tower, the logit scale included.
  const double scale_before = model->logit_scale().item<double>();
  train_contrastive(*model, data, quick(2));
  CHECK(model->logit_scale().item<double>() != scale_before);
  CHECK_THROWS_WITH(model->save("/tmp/perturb-unit-two-files.ts"), Catch::Contains("two"));
  std::remove(image_path.c_str());
  std::remove(text_path.c_str());
}

}  // namespace perturb

namespace perturb {

TEST_CASE("ITR recall over more images than one block of rows agrees with a direct count",
          "[two_tower]") {
  auto gen = make_generator(9);
  const int64_t images = 700;
  const torch::Tensor sim = torch::rand({images, 2 * images}, gen);
  std::vector<int64_t> owners;
  for (int64_t j = 0; j < 2 * images; ++j) owners.push_back(j % images);
  const ItrResult r = recall_from_similarity(sim, owners, {1, 10});
  // Direct: image i is found at K when one of its captions has fewer than K better captions.
  int64_t tr_hits = 0;
  for (int64_t i = 0; i < images; ++i) {
    const torch::Tensor row = sim[i];
    const double best = std::max(row[i].item<double>(), row[i + images].item<double>());
    if ((row > best).sum().item<int64_t>() < 10) ++tr_hits;
  }
  CHECK(r.tr(10) == Approx(static_cast<double>(tr_hits) / images));
  int64_t ir_hits = 0;
  for (int64_t j = 0; j < 2 * images; ++j) {
    const torch::Tensor column = sim.select(1, j);
    if ((column > column[owners[j]]).sum().item<int64_t>() < 10) ++ir_hits;
  }
  CHECK(r.ir(10) == Approx(static_cast<double>(ir_hits) / (2 * images)));
}

}  // namespace perturb
