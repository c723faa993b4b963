#include "runtime/eval/examples.h"

#include "runtime/distributed/share.h"

namespace perturb {
namespace {

// `total` shared among `n` rows: total / n each, the first total % n rows one more, so the
// shares sum to total exactly.
torch::Tensor even_shares(int64_t total, int64_t n) {
  auto shares = torch::full({n}, total / n, torch::kInt64);
  shares.slice(0, 0, total % n).add_(1);
  return shares;
}

// The rows of `parts` one after another, or `empty` (the row shape every rank agrees on) when
// this rank has none: gather_rows needs the same row shape from each rank.
torch::Tensor concatenated(const std::vector<torch::Tensor>& parts, const torch::Tensor& empty) {
  return parts.empty() ? empty : torch::cat(parts);
}

}  // namespace

ExampleKeeper::ExampleKeeper(const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& pred_clean) {
  const int64_t n = x.size(0);
  examples_.x = x.detach().cpu();
  examples_.x_adv = examples_.x.clone();
  examples_.y = y.cpu().to(torch::kInt64);
  examples_.pred_clean = pred_clean.cpu().to(torch::kInt64);
  examples_.pred_adv = examples_.pred_clean.clone();
  examples_.fooled_by = torch::full({n}, -1, torch::kInt64);
  examples_.gradient_evals = torch::zeros({n}, torch::kInt64);
  examples_.queries = torch::zeros({n}, torch::kInt64);
}

void ExampleKeeper::record(int64_t attack, const torch::Tensor& rows, const torch::Tensor& x_adv,
                           const torch::Tensor& pred, const torch::Tensor& fooled,
                           const AttackStats& spent) {
  const auto rows_cpu = rows.cpu();
  const int64_t n = rows_cpu.size(0);
  if (n == 0) return;
  examples_.gradient_evals.index_add_(0, rows_cpu, even_shares(spent.gradient_evals, n));
  examples_.queries.index_add_(0, rows_cpu, even_shares(spent.queries, n));
  const auto hit = fooled.cpu().to(torch::kBool);
  rows_.push_back(rows_cpu.index({hit}));
  x_adv_.push_back(x_adv.detach().cpu().index({hit}).to(examples_.x.scalar_type()));
  pred_.push_back(pred.cpu().to(torch::kInt64).index({hit}));
  attack_.push_back(torch::full({rows_.back().size(0)}, attack, torch::kInt64));
}

AdversarialExamples ExampleKeeper::finish(std::vector<std::string> attacks) {
  auto no_rows = torch::empty({0}, torch::kInt64);
  auto x_shape = examples_.x.sizes().vec();
  x_shape[0] = 0;
  // Each sample is fooled at most once (the cascade attacks only the still robust), so the
  // gathered rows are distinct and their order does not matter.
  const auto rows = gather_rows(concatenated(rows_, no_rows));
  const auto x_adv =
      gather_rows(concatenated(x_adv_, torch::empty(x_shape, examples_.x.options())));
  const auto pred = gather_rows(concatenated(pred_, no_rows));
  const auto attack = gather_rows(concatenated(attack_, no_rows));
  examples_.x_adv.index_copy_(0, rows, x_adv);
  examples_.pred_adv.index_copy_(0, rows, pred);
  examples_.fooled_by.index_copy_(0, rows, attack);
  examples_.gradient_evals = sum_over_ranks(examples_.gradient_evals);
  examples_.queries = sum_over_ranks(examples_.queries);
  examples_.attacks = std::move(attacks);
  rows_.clear();
  x_adv_.clear();
  pred_.clear();
  attack_.clear();
  return examples_;
}

}  // namespace perturb
