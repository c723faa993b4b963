// Retrieval metrics (Recall@K, CMC, mAP); definitions in retrieval.h.
#include "runtime/eval/retrieval.h"

#include <algorithm>
#include <limits>

#include "runtime/attack/feature.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/distributed/share.h"
#include "runtime/eval/shared_batches.h"
#include "runtime/report/choices.h"
#include "runtime/report/format.h"

namespace perturb {
void check_ks(const std::vector<int64_t>& ks) {
  if (ks.empty()) throw Error("retrieval needs at least one K");
  for (int64_t k : ks) {
    if (k < 1) throw Error("retrieval K must be at least 1, got " + std::to_string(k));
  }
}

const std::vector<std::string>& retrieval_metric_names() {
  static const std::vector<std::string> names = {"euclidean", "cosine"};
  return names;
}

namespace {

void check_metric(const std::string& metric) {
  if (!is_one_of(metric, retrieval_metric_names())) {
    throw Error("retrieval metric must be " + format_choices(retrieval_metric_names()) +
                ", got \"" + metric + "\"");
  }
}

}  // namespace

void RetrievalOptions::check() const {
  check_ks(ks);
  check_metric(metric);
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
}

std::string RetrievalResult::describe() const {
  std::string out;
  for (size_t i = 0; i < ks.size(); ++i) {
    out += "Recall@" + std::to_string(ks[i]) + " " + format_number(recall[i]) + ", ";
  }
  out += "mAP " + format_number(map) + " (" + std::to_string(queries) + " queries";
  if (unmatched > 0) out += ", " + std::to_string(unmatched) + " without a match";
  return out + ")";
}

torch::Tensor embedding_distances(const torch::Tensor& queries, const torch::Tensor& gallery,
                                  const std::string& metric) {
  if (queries.dim() != 2 || gallery.dim() != 2 || queries.size(1) != gallery.size(1)) {
    throw Error("retrieval compares embeddings [N, d] of the same size d, got queries " +
                format_shape(queries.sizes().vec()) + " and gallery " +
                format_shape(gallery.sizes().vec()));
  }
  check_metric(metric);
  const auto q = queries.to(torch::kFloat64);
  const auto g = gallery.to(q.device(), torch::kFloat64);
  if (metric == "cosine") {
    namespace F = torch::nn::functional;
    const auto opts = F::NormalizeFuncOptions().dim(1).eps(1e-12);
    return 1.0 - F::normalize(q, opts).mm(F::normalize(g, opts).t());
  }
  // ‖q‖² + ‖g‖² − 2 q·g in float64 (exact enough for ranking; clamped at 0 before the root).
  const auto sq =
      q.pow(2).sum(1, /*keepdim=*/true) + g.pow(2).sum(1).unsqueeze(0) - 2 * q.mm(g.t());
  return sq.clamp_min(0).sqrt();
}

RetrievalResult retrieval_from_distances(const torch::Tensor& distances,
                                         const torch::Tensor& query_labels,
                                         const torch::Tensor& gallery_labels,
                                         const std::vector<int64_t>& ks, bool exclude_self) {
  if (distances.dim() != 2 || query_labels.dim() != 1 || gallery_labels.dim() != 1 ||
      distances.size(0) != query_labels.size(0) || distances.size(1) != gallery_labels.size(0)) {
    throw Error("retrieval needs distances [queries, gallery] and labels for both, got distances " +
                format_shape(distances.sizes().vec()) + ", query labels " +
                format_shape(query_labels.sizes().vec()) + " and gallery labels " +
                format_shape(gallery_labels.sizes().vec()));
  }
  check_ks(ks);
  const int64_t nq = distances.size(0), ng = distances.size(1);
  if (nq == 0) throw Error("retrieval needs at least one query");
  if (ng == 0) throw Error("the gallery is empty");
  if (exclude_self && nq != ng) {
    throw Error("leave-one-out retrieval ranks the queries against themselves; got " +
                std::to_string(nq) + " queries and " + std::to_string(ng) + " gallery items");
  }
  const int64_t max_rank = *std::max_element(ks.begin(), ks.end());
  const auto d_all = distances.detach().to(torch::kCPU, torch::kFloat64);
  const auto ql = query_labels.to(torch::kCPU, torch::kInt64);
  const auto gl = gallery_labels.to(torch::kCPU, torch::kInt64);
  const auto ranks = torch::arange(1, ng + 1, torch::kFloat64);  // 1-based positions

  // Rank r reads column min(r, ng) − 1 of the running "matched yet" table.
  std::vector<int64_t> columns;
  for (int64_t r = 1; r <= max_rank; ++r) columns.push_back(std::min(r, ng) - 1);
  const auto column_index = torch::tensor(columns, torch::kInt64);

  auto cmc_hits = torch::zeros({max_rank}, torch::kFloat64);
  double ap_sum = 0;
  int64_t matched = 0;
  constexpr int64_t kRows = 256;  // distance rows sorted at a time
  for (int64_t start = 0; start < nq; start += kRows) {
    const int64_t end = std::min(start + kRows, nq);
    auto d = d_all.slice(0, start, end).clone();
    const auto rows = torch::arange(start, end, torch::kInt64);
    if (exclude_self) {
      // Query i's own entry goes last and never counts.
      d.scatter_(1, (rows).unsqueeze(1), std::numeric_limits<double>::infinity());
    }
    const auto order =
        std::get<1>(d.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));  // [n, ng]
    auto matches = gl.index_select(0, order.reshape({-1})).reshape(order.sizes()) ==
                   ql.slice(0, start, end).unsqueeze(1);
    if (exclude_self) matches = matches & (order != rows.unsqueeze(1));
    const auto hits = matches.to(torch::kFloat64);
    const auto relevant = hits.sum(1);  // R per query
    const auto valid = relevant > 0;
    const auto found = hits.cumsum(1);  // matches within the top r
    // AP = (1/R) Σ over matches of (matches so far) / rank.
    const auto ap = (found / ranks * hits).sum(1) / relevant.clamp_min(1);
    ap_sum += ap.masked_select(valid).sum().item<double>();
    matched += valid.sum().item<int64_t>();
    const auto reached = (found.index_select(1, column_index) > 0).to(torch::kFloat64);
    cmc_hits += (reached * valid.to(torch::kFloat64).unsqueeze(1)).sum(0);
  }
  RetrievalResult out;
  out.ks = ks;
  out.queries = matched;
  out.unmatched = nq - matched;
  if (matched == 0) {
    throw Error(
        "no query has a match in the gallery (no gallery image shares a query's label); "
        "the retrieval metrics are undefined");
  }
  const auto cmc = cmc_hits / static_cast<double>(matched);
  for (int64_t r = 0; r < max_rank; ++r) out.cmc.push_back(cmc[r].item<double>());
  for (int64_t k : ks) out.recall.push_back(out.cmc[k - 1]);
  out.map = ap_sum / static_cast<double>(matched);
  return out;
}

RetrievalResult retrieval_metrics(const torch::Tensor& query_embeddings,
                                  const torch::Tensor& query_labels,
                                  const torch::Tensor& gallery_embeddings,
                                  const torch::Tensor& gallery_labels,
                                  const RetrievalOptions& options, bool exclude_self) {
  options.check();
  return retrieval_from_distances(
      embedding_distances(query_embeddings, gallery_embeddings, options.metric), query_labels,
      gallery_labels, options.ks, exclude_self);
}

namespace {

// Each batch's embeddings (of its attacked inputs when there is an attack: batch k drawing from a
// stream keyed by k), the batches shared among the ranks and read as they stream: the same at any
// world size (runtime/distributed/share.h).
BatchRows embed_batches(Model& model, const Dataset& data, int64_t batch, const Attack* attack,
                        at::Generator* gen, AttackStats* stats) {
  const uint64_t attack_seed = attack ? next_seed(*gen) : 0;
  AttackStats counted;
  auto embedded = map_dataset(data, batch, [&](int64_t k, const Dataset& part) {
    torch::Tensor x = part.x.to(model.device());
    if (attack) {
      auto batch_gen =
          make_generator(mix_seed(attack_seed, static_cast<uint64_t>(k)), gen->device());
      x = attack->run(model, x, part.y.to(model.device()), batch_gen, &counted);
    }
    ModeGuard eval_mode(model, false);
    return embed(model, x, batch);
  });
  if (attack && stats) {
    const AttackStats total = summed_over_ranks(counted);
    stats->gradient_evals += total.gradient_evals;
    stats->queries += total.queries;
    stats->gradient_evals_saved += total.gradient_evals_saved;
  }
  return embedded;
}

void check_set(const Dataset& data, const std::string& what) {
  const auto shape = data.input_shape();
  if (shape.empty() || !data.y.defined() || data.y.dim() != 1 || data.size() != data.y.size(0)) {
    throw Error("the " + what + " need images [N, ...] and labels [N], got images " +
                (data.x.defined() ? format_shape(data.x.sizes().vec()) : "none") + " and labels " +
                (data.y.defined() ? format_shape(data.y.sizes().vec()) : "none"));
  }
}

}  // namespace

RetrievalResult evaluate_retrieval(Model& model, const Dataset& queries, const Dataset* gallery,
                                   const RetrievalOptions& options, const Attack* attack,
                                   at::Generator* gen, AttackStats* stats) {
  if (gallery)
    return evaluate_retrieval(model, model, queries, *gallery, options, attack, gen, stats);
  options.check();
  check_set(queries, "queries");
  if (attack && !gen) throw Error("retrieval with an attack needs a generator");
  const BatchRows asked = embed_batches(model, queries, options.batch, attack, gen, stats);
  const BatchRows clean =
      attack ? embed_batches(model, queries, options.batch, nullptr, nullptr, nullptr) : asked;
  return retrieval_metrics(asked.rows, asked.labels, clean.rows, clean.labels, options,
                           /*exclude_self=*/true);
}

RetrievalResult evaluate_retrieval(Model& query_model, Model& gallery_model, const Dataset& queries,
                                   const Dataset& gallery, const RetrievalOptions& options,
                                   const Attack* attack, at::Generator* gen, AttackStats* stats) {
  options.check();
  check_set(queries, "queries");
  check_set(gallery, "gallery");
  if (attack && !gen) throw Error("retrieval with an attack needs a generator");
  const BatchRows asked = embed_batches(query_model, queries, options.batch, attack, gen, stats);
  const BatchRows found =
      embed_batches(gallery_model, gallery, options.batch, nullptr, nullptr, nullptr);
  return retrieval_metrics(asked.rows, asked.labels, found.rows, found.labels, options);
}

RetrievalResult evaluate_retrieval(Model& model, const torch::Tensor& query_x,
                                   const torch::Tensor& query_y, const torch::Tensor& gallery_x,
                                   const torch::Tensor& gallery_y, const RetrievalOptions& options,
                                   const Attack* attack, at::Generator* gen, AttackStats* stats) {
  const Dataset queries{query_x, query_y, "queries"};
  const Dataset gallery{gallery_x, gallery_y, "gallery"};
  return evaluate_retrieval(model, queries, gallery_x.defined() ? &gallery : nullptr, options,
                            attack, gen, stats);
}

}  // namespace perturb
