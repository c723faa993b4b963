#include "runtime/augment/augment_pairs.h"

#include <algorithm>
#include <sstream>

#include "runtime/core/error.h"
#include "runtime/core/random.h"

namespace perturb {
namespace {

constexpr int64_t kPolicyChunk = 1024;  // images per policy call (bounds peak memory)

// The image policy on all images, a chunk at a time, from one generator.
torch::Tensor augment_images(const Policy& policy, const torch::Tensor& images,
                             at::Generator& gen) {
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += kPolicyChunk) {
    const int64_t end = std::min(start + kPolicyChunk, images.size(0));
    torch::Tensor out = policy.apply(images.slice(0, start, end), gen);
    if (out.sizes() != images.slice(0, start, end).sizes()) {
      throw Error("augment_pairs: the image policy " + policy.describe() +
                  " changed the image shape (it must keep N×C×H×W)");
    }
    parts.push_back(out.to(images.dtype()));
  }
  return torch::cat(parts);
}

// Indices 0..n-1 in a random order from gen.
std::vector<int64_t> random_order(int64_t n, at::Generator& gen) {
  torch::Tensor perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
  return std::vector<int64_t>(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
}

}  // namespace

PairedDataset augment_pairs(const PairedDataset& data, const AugmentPairsOptions& options) {
  data.check();
  if (options.copies < 1) {
    throw Error("augment_pairs: copies must be at least 1, got " + std::to_string(options.copies));
  }
  if (options.text != "none" && options.text != "human" && options.text != "function") {
    throw Error("augment_pairs: text must be \"eda\", \"human\" or none, got \"" + options.text +
                "\"");
  }
  if (options.text == "function" && !options.text_augment) {
    throw Error("augment_pairs: the text augmentation is missing");
  }
  const bool text_on = options.text != "none";
  if (!text_on && !options.image) {
    throw Error(
        "augment_pairs: give a text augmentation (text: \"eda\" or \"human\"), an image "
        "policy (image: RandAugment(...)) or both");
  }
  const int64_t n = data.size();
  if (n == 0) throw Error("augment_pairs: the data has no images");
  if (options.text == "human") {
    for (int64_t i = 0; i < n; ++i) {
      if (data.captions[i].size() < 2) {
        throw Error(
            "augment_pairs: text: \"human\" takes the other captions of each image, but "
            "image " +
            std::to_string(i) + " of " + data.name + " has only one caption");
      }
    }
  }

  // Separate streams for text and image, so turning one on does not change the other's draws.
  at::Generator master = make_generator(options.seed);
  at::Generator text_gen = make_generator(next_seed(master));
  at::Generator image_gen = make_generator(next_seed(master));

  std::vector<torch::Tensor> images = {data.images};
  std::vector<torch::Tensor> labels;
  if (data.labels.defined()) labels.push_back(data.labels);
  std::vector<std::vector<std::string>> captions;
  captions.reserve(static_cast<size_t>(n * (1 + 2 * options.copies)));
  for (const auto& list : data.captions) captions.push_back({list.front()});  // the 1:1 pairs

  if (text_on) {
    // 1:N (Algorithm 1 line 4): (I, T_aug) for each copy.
    std::vector<std::vector<int64_t>> others;  // "human": each image's other captions, shuffled
    if (options.text == "human") {
      others.reserve(n);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = static_cast<int64_t>(data.captions[i].size()) - 1;
        std::vector<int64_t> order = random_order(k, text_gen);
        for (auto& j : order) j += 1;  // skip the first caption, T itself
        others.push_back(std::move(order));
      }
    }
    for (int64_t c = 0; c < options.copies; ++c) {
      images.push_back(data.images);
      if (data.labels.defined()) labels.push_back(data.labels);
      for (int64_t i = 0; i < n; ++i) {
        const auto& list = data.captions[i];
        if (options.text == "human") {
          const auto& order = others[i];
          captions.push_back({list[order[c % order.size()]]});
        } else {
          captions.push_back({options.text_augment(list.front(), text_gen)});
        }
      }
    }
  }
  if (options.image) {
    // N:1 (Algorithm 1 line 3): (I_aug, T) for each copy.
    for (int64_t c = 0; c < options.copies; ++c) {
      images.push_back(augment_images(*options.image, data.images, image_gen));
      if (data.labels.defined()) labels.push_back(data.labels);
      for (const auto& list : data.captions) captions.push_back({list.front()});
    }
  }

  PairedDataset out;
  out.images = torch::cat(images);
  if (!labels.empty()) out.labels = torch::cat(labels);
  out.captions = std::move(captions);
  std::ostringstream name;
  name << "augment_pairs(" << data.name;
  if (text_on) {
    name << ", text: " << (options.text_name.empty() ? options.text : options.text_name);
  }
  if (options.image) name << ", image: " << options.image->describe();
  name << ", copies: " << options.copies << ")";
  out.name = name.str();
  out.check();
  return out;
}

}  // namespace perturb
