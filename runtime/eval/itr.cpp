#include "runtime/eval/itr.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/distributed/share.h"
#include "runtime/eval/retrieval.h"

namespace perturb {
namespace {

// For each row of `scores` [Nq, Ng], the 0-based position, in a stable descending sort of the
// row, of the first column whose entry in `matches` [Nq, Ng] (bool) is true.
torch::Tensor first_match_rank(const torch::Tensor& scores, const torch::Tensor& matches) {
  // In blocks of rows, so that COCO-sized galleries (5k × 25k) do not hold a full index matrix.
  constexpr int64_t kRows = 512;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < scores.size(0); start += kRows) {
    const int64_t end = std::min(start + kRows, scores.size(0));
    const auto sorted =
        scores.slice(0, start, end).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true);
    const torch::Tensor order = std::get<1>(sorted);
    const torch::Tensor hit = matches.slice(0, start, end).gather(1, order).to(torch::kInt32);
    // argmax gives the first maximum: the first hit (every row has one, checked by the caller).
    parts.push_back(hit.argmax(1));
  }
  return torch::cat(parts);
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * fraction);
  return text;
}

}  // namespace

std::string ItrResult::describe() const {
  std::string tr_text = "TR", ir_text = "IR";
  for (size_t i = 0; i < ks.size(); ++i) {
    tr_text += " R@" + std::to_string(ks[i]) + " " + percent(text_recall[i]);
    ir_text += " R@" + std::to_string(ks[i]) + " " + percent(image_recall[i]);
  }
  std::string out = tr_text + " | " + ir_text + " (" + std::to_string(images) + " images, " +
                    std::to_string(captions) + " captions";
  if (!attack.empty()) out += ", under " + attack;
  return out + ")";
}

namespace {

double recall_at(const std::vector<int64_t>& ks, const std::vector<double>& values, int64_t k) {
  for (size_t i = 0; i < ks.size(); ++i) {
    if (ks[i] == k) return values[i];
  }
  std::string known;
  for (int64_t each : ks) known += (known.empty() ? "" : ", ") + std::to_string(each);
  throw Error("Recall@" + std::to_string(k) + " was not computed; the ranks are " + known);
}

}  // namespace

double ItrResult::tr(int64_t k) const {
  return recall_at(ks, text_recall, k);
}

double ItrResult::ir(int64_t k) const {
  return recall_at(ks, image_recall, k);
}

ItrResult recall_from_similarity(const torch::Tensor& similarity,
                                 const std::vector<int64_t>& caption_owners,
                                 const std::vector<int64_t>& ks) {
  check_ks(ks);
  if (similarity.dim() != 2) throw Error("a similarity matrix must be images × captions");
  const int64_t images = similarity.size(0);
  const int64_t captions = similarity.size(1);
  if (static_cast<int64_t>(caption_owners.size()) != captions) {
    throw Error("the similarity matrix has " + std::to_string(captions) + " caption columns but " +
                std::to_string(caption_owners.size()) + " caption owners were given");
  }
  if (images == 0 || captions == 0) throw Error("retrieval needs at least one image and caption");
  std::vector<int64_t> count(static_cast<size_t>(images), 0);
  for (int64_t owner : caption_owners) {
    if (owner < 0 || owner >= images) {
      throw Error("caption owner " + std::to_string(owner) + " is not one of the " +
                  std::to_string(images) + " images");
    }
    ++count[static_cast<size_t>(owner)];
  }
  for (int64_t i = 0; i < images; ++i) {
    if (count[static_cast<size_t>(i)] == 0) {
      throw Error("image " + std::to_string(i) + " has no caption to retrieve");
    }
  }
  const torch::Tensor sim = similarity.detach().to(torch::kCPU, torch::kFloat32);
  const torch::Tensor owners = torch::tensor(caption_owners, torch::kLong);
  // matches[i, j]: caption j belongs to image i.
  const torch::Tensor matches = owners.unsqueeze(0) == torch::arange(images).unsqueeze(1);
  const torch::Tensor tr_rank = first_match_rank(sim, matches);          // [Ni]
  const torch::Tensor ir_rank = first_match_rank(sim.t(), matches.t());  // [Nt]
  ItrResult result;
  result.ks = ks;
  result.images = images;
  result.captions = captions;
  for (int64_t k : ks) {
    result.text_recall.push_back((tr_rank < k).to(torch::kDouble).mean().item<double>());
    result.image_recall.push_back((ir_rank < k).to(torch::kDouble).mean().item<double>());
  }
  return result;
}

ItrResult evaluate_itr(TwoTower& model, const PairedDataset& data, const MultimodalAttack* attack,
                       at::Generator& gen, const std::vector<int64_t>& ks, int64_t batch) {
  check_ks(ks);
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
  data.check();
  if (data.size() == 0) throw Error("retrieval needs at least one captioned image");
  const auto start = std::chrono::steady_clock::now();
  TwoTowerModeGuard eval(model, false);
  // Batch k is rank k mod size's, its attack drawing from a stream keyed by k; the embeddings
  // are gathered in batch order (runtime/distributed/share.h): the same at any world size.
  const WorkShare share = WorkShare::of_process();
  const uint64_t attack_seed = next_seed(gen);
  AttackStats counted;
  std::vector<torch::Tensor> image_parts, text_parts;
  std::vector<int64_t> owners, image_rows, text_rows;
  int64_t offset = 0, k = 0;
  for (const PairedDataset& clean : data.batches(batch)) {
    const std::vector<int64_t> clean_owners = clean.caption_owners();
    image_rows.push_back(clean.size());
    text_rows.push_back(static_cast<int64_t>(clean_owners.size()));
    for (int64_t owner : clean_owners) owners.push_back(owner + offset);
    offset += clean.size();
    if (!share.owns(k++)) continue;
    auto batch_gen =
        make_generator(mix_seed(attack_seed, static_cast<uint64_t>(k - 1)), gen.device());
    const PairedDataset part = attack ? attack->run(model, clean, batch_gen, &counted) : clean;
    image_parts.push_back(embed_images(model, part.images, batch));
    text_parts.push_back(embed_texts(model, part.all_captions(), batch));
  }
  auto mine = [](const std::vector<torch::Tensor>& parts) {
    return parts.empty() ? torch::empty({0}, torch::kFloat32) : torch::cat(parts);
  };
  const torch::Tensor images = gather_batches(mine(image_parts), image_rows);
  const torch::Tensor texts = gather_batches(mine(text_parts), text_rows);
  const AttackStats stats = summed_over_ranks(counted);
  ItrResult result = recall_from_similarity(images.matmul(texts.t()), owners, ks);
  if (attack) result.attack = attack->describe();
  result.stats = stats;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

ItrResult chance_itr(const PairedDataset& data, const std::vector<int64_t>& ks) {
  check_ks(ks);
  data.check();
  const int64_t images = data.size();
  if (images == 0) throw Error("retrieval needs at least one captioned image");
  int64_t captions = 0;
  for (const auto& list : data.captions) captions += static_cast<int64_t>(list.size());
  ItrResult result;
  result.ks = ks;
  result.images = images;
  result.captions = captions;
  for (int64_t k : ks) {
    // TR: P(at least one of the image's c captions among K drawn without replacement from Nt)
    // = 1 − Π_{t<K} (Nt − c − t)/(Nt − t).
    double tr = 0;
    for (const auto& list : data.captions) {
      const double c = static_cast<double>(list.size());
      double miss = 1;
      for (int64_t t = 0; t < std::min(k, captions); ++t) {
        const double left = static_cast<double>(captions - t);
        miss *= std::max(0.0, (left - c) / left);
      }
      tr += 1 - miss;
    }
    result.text_recall.push_back(tr / static_cast<double>(images));
    result.image_recall.push_back(static_cast<double>(std::min(k, images)) /
                                  static_cast<double>(images));
  }
  return result;
}

}  // namespace perturb
