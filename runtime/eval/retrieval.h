// Retrieval and re-identification metrics on embeddings: Recall@K, the CMC curve and mAP, with
// the definitions of the re-ID toolkits (torchreid's Market-1501 evaluation, without camera
// filtering) and of deep metric learning (Recall@K, Song et al. 2016).
//
// Every query ranks the gallery by distance (ascending; ties keep gallery order — a stable
// sort, so equal distances rank the earlier gallery image first). A gallery image matches a
// query when their labels are equal. For a query with matches m₁ < m₂ < … < m_R (1-based ranks):
//   CMC(r)    = 1 if m₁ ≤ r else 0;           the curve averages it over queries, r = 1..max K
//   Recall@K  = CMC(K): a correct match in the top K (the metric-learning Recall@K, which is
//               the re-ID rank-K accuracy; reported per K as they are named in both fields)
//   AP        = (1/R) Σ_i i / m_i             (precision at each match, averaged over matches)
//   mAP       = the mean AP.
// Queries with no match in the gallery are left out of every average, as torchreid does, and
// counted in `unmatched`; when no query has a match the metrics are undefined (Error).
// A K beyond the gallery's size reads the curve at its last rank.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/attack/attack.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb {

// The distances retrieval ranks by: "euclidean" or "cosine".
const std::vector<std::string>& retrieval_metric_names();

struct RetrievalOptions {
  std::vector<int64_t> ks = {1, 5, 10};
  // "euclidean" (‖q − g‖₂, torchreid's default) or "cosine" (1 − cos(q, g)).
  std::string metric = "euclidean";
  int64_t batch = 256;  // forward passes and distance rows at a time

  // Throws Error for an empty or non-positive K, an unknown metric or batch < 1.
  void check() const;
};

struct RetrievalResult {
  std::vector<int64_t> ks;
  std::vector<double> recall;  // Recall@K for each of ks
  std::vector<double> cmc;     // cmc[r − 1] for r = 1..max(ks)
  double map = 0;
  int64_t queries = 0;    // queries with at least one match (the averages' denominator)
  int64_t unmatched = 0;  // queries left out: no match in the gallery

  // "Recall@1 0.82, Recall@5 0.95, mAP 0.61 (500 queries)"
  std::string describe() const;
};

// Throws Error for an empty list of K or a K below 1 (retrieval and image–text retrieval).
void check_ks(const std::vector<int64_t>& ks);

// Distances [Nq, Ng] between embeddings [Nq, d] and [Ng, d] for the metric.
torch::Tensor embedding_distances(const torch::Tensor& queries, const torch::Tensor& gallery,
                                  const std::string& metric);

// The metrics from query and gallery embeddings and labels. `exclude_self`: the gallery is the
// query set itself (leave-one-out, the metric-learning protocol): query i never retrieves
// gallery item i.
RetrievalResult retrieval_metrics(const torch::Tensor& query_embeddings,
                                  const torch::Tensor& query_labels,
                                  const torch::Tensor& gallery_embeddings,
                                  const torch::Tensor& gallery_labels,
                                  const RetrievalOptions& options, bool exclude_self = false);

// The same from a distance matrix [Nq, Ng] (smaller is closer).
RetrievalResult retrieval_from_distances(const torch::Tensor& distances,
                                         const torch::Tensor& query_labels,
                                         const torch::Tensor& gallery_labels,
                                         const std::vector<int64_t>& ks, bool exclude_self = false);

// Embeds both sets with `model` (its outputs, flattened; eval mode, no gradient) and ranks.
// An undefined gallery_x means leave-one-out: the clean queries are the gallery and query i
// never retrieves item i. With an attack, the queries are replaced by attack->run(model, ...)
// (in batches of options.batch, drawing from `gen`) before they are embedded; the gallery stays
// clean, as in the query attacks on re-ID (thesis ch. 4).
// Datasets may stream: each rank decodes its own batches (runtime/eval/shared_batches.h), and an
// input the source skips as unreadable is left out of the ranking. No gallery: leave-one-out.
RetrievalResult evaluate_retrieval(Model& model, const Dataset& queries, const Dataset* gallery,
                                   const RetrievalOptions& options, const Attack* attack = nullptr,
                                   at::Generator* gen = nullptr, AttackStats* stats = nullptr);
// Queries and gallery embedded by different models: cross-modality re-ID, where each modality
// goes through its own branch (runtime/model/zoo_reid.h). The attack perturbs the queries
// against query_model; the gallery stays clean.
RetrievalResult evaluate_retrieval(Model& query_model, Model& gallery_model, const Dataset& queries,
                                   const Dataset& gallery, const RetrievalOptions& options,
                                   const Attack* attack = nullptr, at::Generator* gen = nullptr,
                                   AttackStats* stats = nullptr);
// The same on tensors (an undefined gallery_x: leave-one-out).
RetrievalResult evaluate_retrieval(Model& model, const torch::Tensor& query_x,
                                   const torch::Tensor& query_y, const torch::Tensor& gallery_x,
                                   const torch::Tensor& gallery_y, const RetrievalOptions& options,
                                   const Attack* attack = nullptr, at::Generator* gen = nullptr,
                                   AttackStats* stats = nullptr);

}  // namespace perturb
