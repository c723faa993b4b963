#include "runtime/eval/shared_batches.h"

#include "runtime/data/batch_loader.h"
#include "runtime/distributed/share.h"

namespace perturb {
namespace {

torch::Tensor cat_or_empty(const std::vector<torch::Tensor>& parts) {
  return parts.empty() ? torch::empty({0}) : torch::cat(parts);
}

}  // namespace

BatchRows map_dataset(const Dataset& data, int64_t batch,
                      const std::function<torch::Tensor(int64_t k, const Dataset& part)>& compute) {
  const WorkShare share = WorkShare::of_process();
  const auto parts = data.batches(batch);
  const auto numbers = share.owned(static_cast<int64_t>(parts.size()));
  std::vector<Dataset> owned;
  for (const int64_t k : numbers) owned.push_back(parts[static_cast<size_t>(k)]);
  BatchLoader loader(std::move(owned));
  std::vector<torch::Tensor> rows, labels, positions;
  auto rows_read = torch::zeros({static_cast<int64_t>(parts.size())}, torch::kInt64);
  for (const int64_t k : numbers) {
    const LoadedBatch part = loader.next();
    rows.push_back(compute(k, part.data).cpu());
    labels.push_back(part.data.y.cpu());
    positions.push_back(part.kept + k * batch);
    rows_read[k] = part.data.size();
  }
  // A skipping source may leave any batch short: every rank learns how many rows each read.
  rows_read = sum_over_ranks(rows_read);
  const auto* count = rows_read.data_ptr<int64_t>();
  const std::vector<int64_t> rows_of(count, count + rows_read.size(0));
  return {gather_batches(cat_or_empty(rows), rows_of),
          gather_batches(cat_or_empty(labels).to(torch::kInt64), rows_of),
          gather_batches(cat_or_empty(positions).to(torch::kInt64), rows_of)};
}

}  // namespace perturb
