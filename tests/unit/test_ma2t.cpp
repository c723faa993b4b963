// MA²T data preparation (Algorithm 1 lines 1–5) and the alignment/diversity analysis
// (Figures 1–2) on small synthetic captioned data and a tiny two-tower fixture.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "runtime/augment/augment_pairs.h"
#include "runtime/augment/ops.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/alignment.h"
#include "test_util.h"
#include "two_tower_fixture.h"

using namespace perturb;
using Catch::Matchers::Contains;

namespace {

// n images 1×8×8 (image i filled with i/n plus noise), k captions "image i caption j", labels i%3.
PairedDataset synthetic_pairs(int64_t n, int64_t k) {
  auto gen = make_generator(7);
  PairedDataset d;
  d.images = (torch::arange(n, torch::kFloat).div(n).view({n, 1, 1, 1}) +
              0.1 * torch::rand({n, 1, 8, 8}, gen))
                 .clamp(0, 1);
  d.labels = torch::arange(n, torch::kInt64).remainder(3);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::string> list;
    for (int64_t j = 0; j < k; ++j) {
      list.push_back("image " + std::to_string(i) + " caption " + std::to_string(j));
    }
    d.captions.push_back(list);
  }
  d.name = "synthetic";
  return d;
}

AugmentPairsOptions human(int64_t copies, uint64_t seed = 0) {
  AugmentPairsOptions o;
  o.text = "human";
  o.copies = copies;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_CASE("augment_pairs human: originals then one block per copy of the other captions",
          "[ma2t]") {
  const PairedDataset data = synthetic_pairs(6, 3);
  const PairedDataset out = augment_pairs(data, human(2));
  REQUIRE(out.size() == 18);
  REQUIRE(out.labels.size(0) == 18);
  for (int64_t r = 0; r < 18; ++r) REQUIRE(out.captions[r].size() == 1);
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(out.captions[i][0] == data.captions[i][0]);
    std::set<std::string> seen;
    for (int64_t c = 1; c <= 2; ++c) {
      const int64_t row = c * 6 + i;
      CHECK(torch::equal(out.images[row], data.images[i]));  // (I, T_aug): the image untouched
      CHECK(out.labels[row].item<int64_t>() == data.labels[i].item<int64_t>());
      const std::string& t = out.captions[row][0];
      CHECK(t != data.captions[i][0]);
      CHECK((t == data.captions[i][1] || t == data.captions[i][2]));
      seen.insert(t);
    }
    CHECK(seen.size() == 2);  // two others, two copies: each used once
  }
  CHECK_THAT(out.name, Contains("text: human") && Contains("copies: 2"));
}

TEST_CASE("augment_pairs human cycles through the other captions when copies exceed them",
          "[ma2t]") {
  const PairedDataset data = synthetic_pairs(4, 3);
  const PairedDataset out = augment_pairs(data, human(4));
  REQUIRE(out.size() == 20);
  for (int64_t i = 0; i < 4; ++i) {
    std::map<std::string, int> uses;
    for (int64_t c = 1; c <= 4; ++c) uses[out.captions[c * 4 + i][0]] += 1;
    REQUIRE(uses.size() == 2);
    for (const auto& [caption, count] : uses) CHECK(count == 2);
  }
}

TEST_CASE("augment_pairs is seeded", "[ma2t]") {
  const PairedDataset data = synthetic_pairs(16, 5);
  const PairedDataset a = augment_pairs(data, human(1, 11));
  const PairedDataset b = augment_pairs(data, human(1, 11));
  const PairedDataset c = augment_pairs(data, human(1, 12));
  CHECK(a.captions == b.captions);
  CHECK(a.captions != c.captions);  // 16 images with 4 choices each: equal by chance ~4^-16

  AugmentPairsOptions o;
  o.image = augment::make_rand_augment(2, 5);
  o.copies = 2;
  o.seed = 3;
  CHECK(torch::equal(augment_pairs(data, o).images, augment_pairs(data, o).images));
}

TEST_CASE("augment_pairs with text and image: (I, T_aug) and (I_aug, T), never (I_aug, T_aug)",
          "[ma2t]") {
  const PairedDataset data = synthetic_pairs(5, 2);
  AugmentPairsOptions o;
  o.text = "function";
  o.text_augment = [](const std::string& t, at::Generator&) { return "aug " + t; };
  o.text_name = "upper";
  o.image = augment::make_brightness({0.5, 0.5});
  o.copies = 3;
  const PairedDataset out = augment_pairs(data, o);
  REQUIRE(out.size() == 5 * (1 + 3 + 3));
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t c = 1; c <= 3; ++c) {  // text blocks: original image, augmented caption
      CHECK(torch::equal(out.images[c * 5 + i], data.images[i]));
      CHECK(out.captions[c * 5 + i][0] == "aug " + data.captions[i][0]);
    }
    for (int64_t c = 4; c <= 6; ++c) {  // image blocks: augmented image, original caption
      CHECK(torch::allclose(out.images[c * 5 + i], data.images[i] * 0.5, 1e-5, 1e-6));
      CHECK(out.captions[c * 5 + i][0] == data.captions[i][0]);
    }
  }
  CHECK_THAT(out.name, Contains("text: upper") && Contains("image: Brightness"));
}

TEST_CASE("augment_pairs errors in the user's terms", "[ma2t]") {
  const PairedDataset data = synthetic_pairs(3, 2);
  AugmentPairsOptions none;
  CHECK_THROWS_WITH(augment_pairs(data, none), Contains("give a text augmentation"));
  CHECK_THROWS_WITH(augment_pairs(data, human(0)), Contains("copies must be at least 1"));
  AugmentPairsOptions bad = human(1);
  bad.text = "llama";
  CHECK_THROWS_WITH(augment_pairs(data, bad), Contains("\"llama\""));
  CHECK_THROWS_WITH(augment_pairs(synthetic_pairs(3, 1), human(1)),
                    Contains("has only one caption"));
}

TEST_CASE("alignment: identity augmentation is perfectly aligned and has no diversity", "[ma2t]") {
  BagOfWordsTwoTower model(64);
  const PairedDataset data = synthetic_pairs(8, 3);
  AlignmentOptions o;
  o.augment.text = "function";
  o.augment.text_augment = [](const std::string& t, at::Generator&) { return t; };
  o.augment.copies = 2;
  o.batch = 3;
  const AlignmentReport r = analyse_augmentation(model, data, o);
  REQUIRE(r.text);
  CHECK_FALSE(r.image);
  CHECK(r.text->pairs == 16);
  CHECK(r.text->mean_alignment == Approx(r.mean_original).margin(1e-6));
  CHECK(r.text->mean_diversity == Approx(0).margin(1e-5));
  CHECK(model.training());  // the mode is restored
}

TEST_CASE("alignment: human captions and image policies measured as Figures 1-2", "[ma2t]") {
  BagOfWordsTwoTower model(64);
  const PairedDataset data = synthetic_pairs(10, 4);
  AlignmentOptions o;
  o.augment = human(3);
  o.augment.image = augment::make_brightness({0.3, 0.3});
  const AlignmentReport r = analyse_augmentation(model, data, o);
  REQUIRE(r.text);
  REQUIRE(r.image);
  CHECK(r.text->pairs == 30);
  CHECK(r.image->pairs == 30);
  CHECK(r.original.size() == 10);
  CHECK(r.text->mean_diversity > 0.01);  // other captions embed elsewhere
  CHECK(r.image->mean_diversity > 0.01);
  // By hand for image 0, first image copy: sim(Φ(0.3·I), Ψ(T)) and ‖Φ(I) − Φ(0.3·I)‖ (unit).
  namespace F = torch::nn::functional;
  auto unit = F::NormalizeFuncOptions().dim(1);
  torch::Tensor phi = F::normalize(model.encode_image(data.images.slice(0, 0, 1)), unit);
  torch::Tensor phi_aug = F::normalize(model.encode_image(data.images.slice(0, 0, 1) * 0.3), unit);
  torch::Tensor psi = F::normalize(model.encode_text({data.captions[0][0]}), unit);
  CHECK(r.image->alignment[0] == Approx((phi_aug * psi).sum().item<double>()).margin(1e-5));
  CHECK(r.image->diversity[0] == Approx((phi - phi_aug).norm().item<double>()).margin(1e-5));
  CHECK(r.original[0] == Approx((phi * psi).sum().item<double>()).margin(1e-5));
  for (double d : r.text->diversity) CHECK((d >= 0 && d <= 2.0 + 1e-6));

  test::TempDir dir;
  const std::string png = dir.path("sub/align.png");
  write_alignment_plot(png, r, 20);
  const std::string bytes = test::read_text(png);
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes.substr(1, 3) == "PNG");
}
