#include "runtime/model/two_tower.h"

#include <algorithm>

#include "runtime/core/error.h"

namespace perturb {

torch::Tensor cosine_similarity_matrix(const torch::Tensor& image_embeddings,
                                       const torch::Tensor& text_embeddings) {
  namespace F = torch::nn::functional;
  auto unit = F::NormalizeFuncOptions().dim(1);
  return F::normalize(image_embeddings, unit).matmul(F::normalize(text_embeddings, unit).t());
}

torch::Tensor embed_images(TwoTower& model, const torch::Tensor& images, int64_t batch) {
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += batch) {
    const int64_t end = std::min(start + batch, images.size(0));
    torch::Tensor chunk = images.slice(0, start, end).to(model.device());
    parts.push_back(torch::nn::functional::normalize(
        model.encode_image(chunk), torch::nn::functional::NormalizeFuncOptions().dim(1)));
  }
  if (parts.empty()) throw Error("there are no images to embed");
  return torch::cat(parts);
}

torch::Tensor embed_texts(TwoTower& model, const std::vector<std::string>& texts, int64_t batch) {
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (size_t start = 0; start < texts.size(); start += batch) {
    const size_t end = std::min(start + static_cast<size_t>(batch), texts.size());
    std::vector<std::string> chunk(texts.begin() + start, texts.begin() + end);
    parts.push_back(torch::nn::functional::normalize(
        model.encode_text(chunk), torch::nn::functional::NormalizeFuncOptions().dim(1)));
  }
  if (parts.empty()) throw Error("there are no captions to embed");
  return torch::cat(parts);
}

torch::Tensor caption_guides(TwoTower& model, const PairedDataset& batch) {
  torch::Tensor all = embed_texts(model, batch.all_captions(), 512);
  std::vector<torch::Tensor> means;
  means.reserve(batch.captions.size());
  int64_t start = 0;
  for (const auto& list : batch.captions) {
    const auto count = static_cast<int64_t>(list.size());
    means.push_back(all.slice(0, start, start + count).mean(0));
    start += count;
  }
  return torch::stack(means);
}

}  // namespace perturb
