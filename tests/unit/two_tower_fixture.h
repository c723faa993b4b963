// A fixed random two-tower for the image–text unit tests: an affine image encoder over the
// flattened pixels and a bag of words whose vectors are fixed functions of the words.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/core/random.h"
#include "runtime/model/two_tower.h"

namespace perturb {

class BagOfWordsTwoTower : public TwoTower {
 public:
  // Images of `pixels` values (C·H·W) each; embeddings of `dim`. The image encoder's offset keeps
  // a scaled image's embedding from pointing the same way as the original's.
  explicit BagOfWordsTwoTower(int64_t pixels = 16, int64_t dim = 8) : dim_(dim) {
    auto gen = make_generator(11);
    image_ = torch::randn({pixels, dim}, gen);
  }
  torch::Tensor encode_image(const torch::Tensor& images) override {
    return images.flatten(1).matmul(image_) + 0.1;
  }
  // The sum of the words' vectors; whitespace split.
  torch::Tensor encode_text(const std::vector<std::string>& texts) override {
    encoded += static_cast<int64_t>(texts.size());
    torch::Tensor out = torch::zeros({static_cast<int64_t>(texts.size()), dim_});
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string word;
      for (char c : texts[i] + " ") {
        if (c != ' ') {
          word += c;
        } else if (!word.empty()) {
          auto gen = make_generator(fnv1a(word) % 1000003);
          out[static_cast<int64_t>(i)] += torch::randn({dim_}, gen);
          word.clear();
        }
      }
    }
    return out;
  }
  torch::Tensor logit_scale() override { return torch::tensor(std::log(10.0)); }
  TokenizerPtr tokenizer() const override { return nullptr; }
  std::vector<torch::Tensor> parameters() override { return {image_}; }
  std::vector<torch::Tensor> image_parameters() override { return {image_}; }
  void set_training(bool training) override { training_ = training; }
  bool training() const override { return training_; }
  void to(torch::Device) override {}
  torch::Device device() const override { return torch::kCPU; }
  std::string describe() const override { return "bag_of_words_two_tower"; }
  void save(const std::string&) const override {}
  int64_t encoded = 0;  // texts encoded so far

 private:
  static uint64_t fnv1a(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    return h;
  }
  int64_t dim_;
  torch::Tensor image_;
  bool training_ = true;
};

}  // namespace perturb
