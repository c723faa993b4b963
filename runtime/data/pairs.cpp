#include "runtime/data/pairs.h"

#include <sstream>

#include "runtime/core/error.h"
#include "runtime/core/random.h"

namespace perturb {

int64_t PairedDataset::size() const {
  return images.defined() ? images.size(0) : 0;
}

PairedDataset PairedDataset::select(const torch::Tensor& indices) const {
  torch::Tensor order = indices.to(torch::kCPU, torch::kInt64).contiguous();
  PairedDataset out;
  out.images = images.index_select(0, order.to(images.device()));
  if (labels.defined()) out.labels = labels.index_select(0, order.to(labels.device()));
  const auto* index = order.data_ptr<int64_t>();
  out.captions.reserve(order.numel());
  for (int64_t i = 0; i < order.numel(); ++i) out.captions.push_back(captions.at(index[i]));
  out.name = name;
  return out;
}

PairedDataset PairedDataset::take(int64_t n) const {
  if (n < 0) throw Error("take(" + std::to_string(n) + "): the count must not be negative");
  return select(torch::arange(std::min(n, size()), torch::kInt64));
}

PairedDataset PairedDataset::shuffle(uint64_t seed) const {
  auto gen = make_generator(seed);
  return select(torch::randperm(size(), gen, torch::TensorOptions().dtype(torch::kInt64)));
}

std::vector<PairedDataset> PairedDataset::batches(int64_t batch_size) const {
  if (batch_size <= 0) {
    throw Error("batch size must be positive, got " + std::to_string(batch_size));
  }
  std::vector<PairedDataset> out;
  for (int64_t start = 0; start < size(); start += batch_size) {
    out.push_back(
        select(torch::arange(start, std::min(start + batch_size, size()), torch::kInt64)));
  }
  return out;
}

PairedDataset PairedDataset::first_captions() const {
  PairedDataset out = *this;
  for (auto& list : out.captions) list.resize(std::min<size_t>(list.size(), 1));
  return out;
}

std::vector<std::string> PairedDataset::all_captions() const {
  std::vector<std::string> out;
  for (const auto& list : captions) out.insert(out.end(), list.begin(), list.end());
  return out;
}

std::vector<int64_t> PairedDataset::caption_owners() const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < captions.size(); ++i) {
    out.insert(out.end(), captions[i].size(), static_cast<int64_t>(i));
  }
  return out;
}

PairedDataset PairedDataset::with_captions(const std::vector<std::string>& replacements) const {
  const size_t total = caption_owners().size();
  if (replacements.size() != total) {
    throw Error(name + ": " + std::to_string(replacements.size()) + " replacement captions for " +
                std::to_string(total));
  }
  PairedDataset out = *this;
  auto next = replacements.begin();
  for (auto& list : out.captions) {
    for (auto& caption : list) caption = *next++;
  }
  return out;
}

std::string PairedDataset::describe() const {
  std::ostringstream out;
  out << name << ": " << size() << " images";
  if (images.defined() && images.dim() == 4) {
    out << " " << images.size(1) << "×" << images.size(2) << "×" << images.size(3);
  }
  size_t total = 0;
  size_t most = 0;
  size_t least = captions.empty() ? 0 : captions.front().size();
  for (const auto& list : captions) {
    total += list.size();
    most = std::max(most, list.size());
    least = std::min(least, list.size());
  }
  out << " with " << total << " captions";
  if (!captions.empty()) {
    out << " ("
        << (least == most ? std::to_string(most)
                          : std::to_string(least) + "-" + std::to_string(most))
        << " per image)";
  }
  if (labels.defined() && size() > 0) {
    const int64_t classes = labels.max().item<int64_t>() + 1;
    out << ", " << classes << (classes == 1 ? " class" : " classes");
  }
  return out.str();
}

void PairedDataset::check() const {
  const int64_t n = size();
  if (static_cast<int64_t>(captions.size()) != n) {
    throw Error(name + ": " + std::to_string(n) + " images but " + std::to_string(captions.size()) +
                " caption lists");
  }
  if (labels.defined() && labels.size(0) != n) {
    throw Error(name + ": " + std::to_string(n) + " images but " + std::to_string(labels.size(0)) +
                " labels");
  }
  for (size_t i = 0; i < captions.size(); ++i) {
    if (captions[i].empty()) {
      throw Error(name + ": image " + std::to_string(i) + " has no caption");
    }
  }
}

}  // namespace perturb
