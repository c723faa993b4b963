// The image-only attack on an image–text model (make_image_attack): a classifier attack run on
// the similarity logits against the batch's captions.
#include <catch2/catch.hpp>

#include "runtime/attack/attack.h"
#include "runtime/attack/multimodal/attack.h"
#include "runtime/core/random.h"
#include "runtime/threat/threat.h"
#include "two_tower_fixture.h"

namespace perturb {
namespace {

PairedDataset tiny_pairs() {
  auto gen = make_generator(5);
  PairedDataset data;
  data.images = torch::rand({6, 1, 4, 4}, gen);
  data.captions = {{"a red coat", "red"}, {"blue shoe"}, {"green bag"},
                   {"dark shirt"},        {"tall boot"}, {"light dress", "dress"}};
  data.name = "tiny";
  return data;
}

torch::Tensor own_similarity(TwoTower& model, const PairedDataset& data) {
  torch::Tensor images = embed_images(model, data.images, 64);
  torch::Tensor texts = embed_texts(model, data.all_captions(), 64);
  std::vector<torch::Tensor> own;
  auto owners = data.caption_owners();
  for (size_t k = 0; k < owners.size(); ++k) own.push_back(images[owners[k]].dot(texts[k]));
  return torch::stack(own);
}

}  // namespace

TEST_CASE("the image attack lowers each image's similarity to its captions inside the ball",
          "[image_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = tiny_pairs();
  auto attack = make_image_attack(make_pgd(make_linf(0.1), {}));
  auto gen = make_generator(0);
  PairedDataset attacked = attack->run(model, data, gen);
  CHECK(attacked.captions == data.captions);
  CHECK((attacked.images - data.images).abs().max().item<double>() <= 0.1 + 1e-6);
  CHECK(attacked.images.min().item<double>() >= 0);
  CHECK(attacked.images.max().item<double>() <= 1);
  const double before = own_similarity(model, data).mean().item<double>();
  const double after = own_similarity(model, attacked).mean().item<double>();
  CHECK(after < before - 0.05);
  CHECK(model.training());  // the mode is restored
  CHECK(attack->threat().image);
  CHECK_FALSE(attack->threat().text);
}

TEST_CASE("the image attack is seeded", "[image_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = tiny_pairs();
  auto attack = make_image_attack(make_pgd(make_linf(0.1), {}));
  auto a = make_generator(7);
  auto b = make_generator(7);
  CHECK(torch::equal(attack->run(model, data, a).images, attack->run(model, data, b).images));
}

}  // namespace perturb
