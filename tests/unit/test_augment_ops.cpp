// Augmentation policies: properties every op keeps (identity at zero strength, values in [0, 1],
// same seed same output, p: 0 / p: 1), mixing ops' soft labels, composition, image grids.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include <opencv2/imgcodecs.hpp>

#include "runtime/augment/ops.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/report/image_grid.h"
#include "test_util.h"

using namespace perturb;
using namespace perturb::augment;

namespace {

torch::Tensor images(int64_t n, int64_t c, int64_t size = 16, uint64_t seed = 1) {
  at::Generator gen = make_generator(seed);
  // Smooth-ish random images: a random field blurred by pooling, so geometric ops change them.
  torch::Tensor x = torch::rand({n, c, size, size}, gen);
  return torch::avg_pool2d(
             torch::nn::functional::pad(
                 x, torch::nn::functional::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate)),
             3, 1)
      .contiguous();
}

struct Named {
  std::string name;
  std::function<PolicyPtr(double p)> make;  // a strong, random setting with probability p
  bool random = true;                       // output depends on the generator at p = 1
};

// Every op, at a strength that visibly changes every sample.
std::vector<Named> all_ops() {
  return {
      {"Flip", [](double p) { return make_flip(p); }, false},
      {"VFlip", [](double p) { return make_vflip(p); }, false},
      {"Rotate",
       [](double p) {
         return make_rotate({10, 30}, p);
       }},
      {"Translate",
       [](double p) {
         return make_translate({1, 3}, p);
       }},
      {"Scale",
       [](double p) {
         return make_scale({1.3, 1.6}, p);
       }},
      {"Crop", [](double p) { return make_crop(4, p); }},
      {"ResizedCrop",
       [](double p) {
         return make_resized_crop({0.2, 0.5}, {0.75, 1.33}, p);
       }},
      {"Brightness",
       [](double p) {
         return make_brightness({0.5, 0.7}, p);
       }},
      {"Contrast",
       [](double p) {
         return make_contrast({0.3, 0.6}, p);
       }},
      {"Saturation",
       [](double p) {
         return make_saturation({0, 0.5}, p);
       }},
      {"Hue",
       [](double p) {
         return make_hue({0.2, 0.4}, p);
       }},
      {"ColorJitter", [](double p) { return make_color_jitter(0.5, 0.5, 0.5, 0.2, p); }},
      {"Grayscale", [](double p) { return make_grayscale(p); }, false},
      {"GaussianNoise",
       [](double p) {
         return make_gaussian_noise({0.1, 0.2}, p);
       }},
      {"SaltPepper",
       [](double p) {
         return make_salt_pepper({0.1, 0.2}, p);
       }},
      {"Blur",
       [](double p) {
         return make_blur({1, 2}, p);
       }},
      {"Sharpen",
       [](double p) {
         return make_sharpen({3, 4}, p);
       }},
      {"JPEG",
       [](double p) {
         return make_jpeg({5, 20}, p);
       }},
      {"Cutout", [](double p) { return make_cutout(6, p); }},
      {"RandomErasing",
       [](double p) {
         return make_random_erasing({0.1, 0.3}, {0.5, 2}, 0, p);
       }},
      {"Mixup", [](double p) { return make_mixup(1.0, p); }},
      {"CutMix", [](double p) { return make_cutmix(1.0, p); }},
  };
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Per sample, the largest change.
torch::Tensor changed(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().flatten(1).amax(1);
}

}  // namespace

TEST_CASE("every op keeps shape and the [0, 1] range", "[augment]") {
  for (int64_t c : {1, 3}) {
    torch::Tensor x = images(12, c);
    x[0].fill_(1.0);  // extremes
    x[1].fill_(0.0);
    for (const auto& op : all_ops()) {
      INFO(op.name << " on " << c << " channels");
      at::Generator gen = make_generator(7);
      torch::Tensor out = op.make(1.0)->apply(x, gen);
      REQUIRE(out.sizes() == x.sizes());
      CHECK(out.min().item<double>() >= 0.0);
      CHECK(out.max().item<double>() <= 1.0);
      CHECK(torch::isfinite(out).all().item<bool>());
    }
  }
  at::Generator gen = make_generator(0);
  for (int64_t c : {1, 3}) {
    torch::Tensor x = images(10, c);
    for (int64_t m : {0, 9, 30}) {
      torch::Tensor out = make_rand_augment(3, m)->apply(x, gen);
      CHECK(out.sizes() == x.sizes());
      CHECK(out.min().item<double>() >= 0.0);
      CHECK(out.max().item<double>() <= 1.0);
    }
  }
}

TEST_CASE("same seed same output, different seeds differ", "[augment]") {
  torch::Tensor x = images(8, 3);
  std::vector<Named> ops = all_ops();
  ops.push_back({"RandAugment", [](double) { return make_rand_augment(2, 9); }});
  for (const auto& op : ops) {
    INFO(op.name);
    PolicyPtr policy = op.make(op.random ? 1.0 : 0.5);
    at::Generator a = make_generator(123), b = make_generator(123), c = make_generator(999);
    torch::Tensor ya = policy->apply(x, a), yb = policy->apply(x, b), yc = policy->apply(x, c);
    CHECK(torch::equal(ya, yb));
    CHECK_FALSE(torch::equal(ya, yc));
  }
}

TEST_CASE("p: 0 is the identity and p: 1 changes every sample", "[augment]") {
  torch::Tensor x = images(16, 3);
  for (const auto& op : all_ops()) {
    INFO(op.name);
    at::Generator gen = make_generator(3);
    CHECK(torch::equal(op.make(0.0)->apply(x, gen), x));
    torch::Tensor out = op.make(1.0)->apply(x, gen);
    torch::Tensor diff = changed(out, x);
    if (op.name == "Mixup" || op.name == "CutMix") {
      // a sample drawn as its own partner is unchanged; most are not
      CHECK(diff.gt(1e-4).sum().item<int64_t>() >= 10);
    } else {
      CHECK(diff.gt(1e-4).all().item<bool>());
    }
  }
}

TEST_CASE("p: 0.5 applies to about half the samples, independently per sample", "[augment]") {
  torch::Tensor x = images(400, 1, 8);
  at::Generator gen = make_generator(5);
  torch::Tensor out = make_flip(0.5)->apply(x, gen);
  double fraction = changed(out, x).gt(1e-6).to(torch::kFloat64).mean().item<double>();
  CHECK(fraction > 0.42);
  CHECK(fraction < 0.58);
}

TEST_CASE("zero strength is the identity", "[augment]") {
  torch::Tensor x = images(6, 3, 12);
  std::vector<std::pair<std::string, PolicyPtr>> zero = {
      {"Rotate", make_rotate({0, 0})},
      {"Translate", make_translate({0, 0})},
      {"Scale", make_scale({1, 1})},
      {"Crop", make_crop(0)},
      {"ResizedCrop", make_resized_crop({1, 1}, {1, 1})},
      {"Brightness", make_brightness({1, 1})},
      {"Contrast", make_contrast({1, 1})},
      {"Saturation", make_saturation({1, 1})},
      {"Hue", make_hue({0, 0})},
      {"ColorJitter", make_color_jitter(0, 0, 0, 0)},
      {"GaussianNoise", make_gaussian_noise({0, 0})},
      {"SaltPepper", make_salt_pepper({0, 0})},
      {"Blur", make_blur({0, 0})},
      {"Sharpen", make_sharpen({1, 1})},
      {"Cutout", make_cutout(0)},
      {"RandomErasing", make_random_erasing({0, 0}, {1, 1}, 0, 1)},
      {"RandAugment", make_rand_augment(0, 9)},
  };
  for (const auto& [name, policy] : zero) {
    INFO(name);
    at::Generator gen = make_generator(11);
    CHECK(max_diff(policy->apply(x, gen), x) < 1e-5);
  }
  // Saturation, Hue and Grayscale leave gray images alone.
  torch::Tensor gray = images(4, 1);
  at::Generator gen = make_generator(1);
  CHECK(torch::equal(make_grayscale()->apply(gray, gen), gray));
  CHECK(torch::equal(make_hue({0.3, 0.3})->apply(gray, gen), gray));
}

TEST_CASE("ops do what they say", "[augment]") {
  torch::Tensor x = images(4, 3, 10);
  at::Generator gen = make_generator(2);
  CHECK(torch::equal(make_flip(1)->apply(x, gen), x.flip(3)));
  CHECK(torch::equal(make_vflip(1)->apply(x, gen), x.flip(2)));
  torch::Tensor g = make_grayscale()->apply(x, gen);
  CHECK(max_diff(g.select(1, 0), g.select(1, 2)) == 0);
  CHECK(max_diff(make_brightness({0.5, 0.5})->apply(x, gen), x * 0.5) < 1e-6);
  // a full hue turn is the identity; half a turn changes colours
  CHECK(max_diff(make_hue({0.5, 0.5})->apply(make_hue({0.5, 0.5})->apply(x, gen), gen), x) < 1e-4);
  // Cutout zeroes at most size×size pixels per channel and at least one
  torch::Tensor ones = torch::ones({20, 1, 16, 16});
  torch::Tensor cut = make_cutout(6)->apply(ones, gen);
  torch::Tensor zeros_per = cut.eq(0).flatten(1).sum(1);
  CHECK(zeros_per.max().item<int64_t>() <= 36);
  CHECK(zeros_per.min().item<int64_t>() >= 1);
  // Crop is a whole-pixel shift within the padding: every value is an input value or 0
  torch::Tensor crop = make_crop(2)->apply(x, gen);
  CHECK(crop.ne(0).sum().item<int64_t>() >= 4 * 3 * 8 * 8);
  // JPEG at quality 100 is close to the input, at quality 5 much further
  torch::Tensor jx = images(4, 3, 32);
  // (colour noise suffers from 4:2:0 chroma subsampling even at quality 100: compare means)
  double hi = (make_jpeg({100, 100})->apply(jx, gen) - jx).abs().mean().item<double>();
  double lo = (make_jpeg({5, 5})->apply(jx, gen) - jx).abs().mean().item<double>();
  CHECK(hi < 0.05);
  CHECK(lo > 2 * hi);
  torch::Tensor gray_jx = images(4, 1, 32);
  CHECK(max_diff(make_jpeg({100, 100})->apply(gray_jx, gen), gray_jx) < 0.02);
  // salt-and-pepper sets about `amount` of the pixels to 0 or 1
  torch::Tensor mid = torch::full({50, 1, 20, 20}, 0.5);
  torch::Tensor sp = make_salt_pepper({0.2, 0.2})->apply(mid, gen);
  double hit = sp.ne(0.5).to(torch::kFloat64).mean().item<double>();
  CHECK(hit > 0.17);
  CHECK(hit < 0.23);
}

TEST_CASE("Mixup and CutMix mix labels with the weight they mixed images", "[augment]") {
  const int64_t n = 16;
  torch::Tensor value = (torch::arange(n, torch::kFloat32) + 1) / (n + 1);
  torch::Tensor x = value.view({n, 1, 1, 1}).expand({n, 1, 12, 12}).contiguous();
  torch::Tensor y = torch::arange(n, torch::kLong);
  for (const std::string which : {"Mixup", "CutMix"}) {
    INFO(which);
    PolicyPtr policy = which == "Mixup" ? make_mixup(1.0) : make_cutmix(1.0);
    REQUIRE(policy->mixes_labels());
    at::Generator gen = make_generator(4);
    AugmentBatch batch{x, y};
    batch.classes = n;
    AugmentBatch out = policy->apply(batch, gen);
    REQUIRE(out.soft_y.defined());
    REQUIRE(out.soft_y.sizes() == torch::IntArrayRef({n, n}));
    CHECK(max_diff(out.soft_y.sum(1), torch::ones({n})) < 1e-5);
    CHECK(torch::equal(out.y, y));
    for (int64_t i = 0; i < n; ++i) {
      double own = out.soft_y[i][i].item<double>();
      if (which == "CutMix") {
        double kept = out.x[i].eq(x[i]).to(torch::kFloat64).mean().item<double>();
        CHECK(kept == Approx(own).margin(1e-6));
      } else {
        torch::Tensor others = out.soft_y[i].clone();
        others[i] = 0;
        int64_t partner = others.argmax().item<int64_t>();
        double expect = own * value[i].item<double>() + (1 - own) * value[partner].item<double>();
        CHECK(out.x[i].mean().item<double>() == Approx(expect).margin(1e-5));
      }
    }
  }
  // soft labels pass through later mixing and through OneOf
  at::Generator gen = make_generator(9);
  AugmentBatch batch{x, y};
  batch.classes = n;
  AugmentBatch out =
      make_sequence({make_mixup(), make_one_of({make_cutmix(), make_flip(1)})})->apply(batch, gen);
  CHECK(max_diff(out.soft_y.sum(1), torch::ones({n})) < 1e-5);
  // the soft cross-entropy of one-hot labels is the ordinary one
  torch::Tensor logits = torch::randn({n, n});
  CHECK(soft_cross_entropy(logits, torch::one_hot(y, n).to(torch::kFloat32)).item<double>() ==
        Approx(torch::nn::functional::cross_entropy(logits, y).item<double>()).epsilon(1e-5));
}

TEST_CASE("composition: sequence, union and weighted OneOf", "[augment]") {
  torch::Tensor x = images(64, 1, 8);
  at::Generator gen = make_generator(1);
  // weights [1, 0]: always the first
  PolicyPtr first = make_one_of({make_flip(1), make_vflip(1)}, {1, 0});
  CHECK(torch::equal(first->apply(x, gen), x.flip(3)));
  // a | b | c flattens: each picked about a third of the time
  PolicyPtr u = make_union(make_union(make_flip(1), make_vflip(1)), make_brightness({0, 0}));
  CHECK(u->describe() == "Flip(p: 1) | VFlip(p: 1) | Brightness(factor: 0)");
  torch::Tensor big = images(600, 1, 6);
  torch::Tensor out = u->apply(big, gen);
  double dark = out.flatten(1).amax(1).eq(0).to(torch::kFloat64).mean().item<double>();
  CHECK(dark > 0.27);
  CHECK(dark < 0.40);
  PolicyPtr seq = make_sequence({make_flip(1), make_vflip(1)});
  CHECK(torch::equal(seq->apply(x, gen), x.flip(3).flip(2)));
  CHECK(seq->describe() == "Flip(p: 1) >> VFlip(p: 1)");
  CHECK_THROWS_AS(make_one_of({make_flip()}, {1, 2}), Error);
  CHECK_THROWS_AS(make_one_of({make_flip(), make_vflip()}, {0, 0}), Error);
}

TEST_CASE("bad parameters and inputs are errors in the user's terms", "[augment]") {
  CHECK_THROWS_WITH(make_flip(1.5), Catch::Contains("p must be a probability"));
  CHECK_THROWS_WITH(make_jpeg({0, 50}), Catch::Contains("quality must lie in [1, 100]"));
  CHECK_THROWS_WITH(make_rand_augment(2, 31), Catch::Contains("m must lie in [0, 30]"));
  CHECK_THROWS_WITH(make_hue({-1, 0}), Catch::Contains("shift"));
  at::Generator gen = make_generator(0);
  CHECK_THROWS_WITH(make_flip()->apply(torch::rand({4, 4}), gen),
                    Catch::Contains("expected float images [N, C, H, W]"));
  // a single image [C, H, W] is a batch of one
  torch::Tensor one = torch::rand({3, 8, 8});
  CHECK(make_rotate({5, 5})->apply(one, gen).sizes() == one.sizes());
}

TEST_CASE("image grids are PNG files with one cell per image", "[augment]") {
  test::TempDir dir;
  const std::string path = dir.path("sub/grid.png");
  torch::Tensor a = images(5, 1, 10), b = images(3, 3, 10);
  save_image_grid(path, {{"original", a}, {"augmented", b}}, {/*scale=*/2, /*padding=*/1});
  cv::Mat png = cv::imread(path, cv::IMREAD_COLOR);
  REQUIRE_FALSE(png.empty());
  CHECK(png.rows == 1 + 2 * (20 + 1));
  CHECK(png.cols > 5 * 21);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
  save_image_grid(dir.path("one.png"), images(9, 3, 8), {/*scale=*/1, /*padding=*/0});
  cv::Mat one = cv::imread(dir.path("one.png"));
  CHECK(one.rows == 24);
  CHECK(one.cols == 24);
  CHECK_THROWS_WITH(save_image_grid(dir.path("bad.png"), {{"a", a}, {"b", images(2, 1, 12)}}),
                    Catch::Contains("one size"));
  CHECK_THROWS_AS(save_image_grid(dir.path("bad.png"), torch::rand({2, 2, 5, 5})), Error);
}
