#include "runtime/distributed/share.h"

#include <map>

#include "runtime/distributed/world.h"

namespace perturb {
namespace {

// DistributedDataParallel's default bucket_cap_mb.
constexpr int64_t kBucketBytes = 25 << 20;

// Sums same-dtype tensors over ranks through one flat buffer per bucket, in place.
void sum_in_buckets(World& world, const std::vector<torch::Tensor>& tensors) {
  size_t first = 0;
  while (first < tensors.size()) {
    size_t last = first;
    int64_t bytes = 0;
    std::vector<torch::Tensor> flat;
    while (last < tensors.size() && (last == first || bytes < kBucketBytes)) {
      flat.push_back(tensors[last].detach().reshape({-1}).to(torch::kCPU));
      bytes += tensors[last].numel() * tensors[last].element_size();
      ++last;
    }
    auto bucket = torch::cat(flat);
    world.all_reduce_sum(bucket);
    int64_t offset = 0;
    for (size_t i = first; i < last; ++i) {
      const int64_t n = tensors[i].numel();
      tensors[i].detach().copy_(bucket.narrow(0, offset, n).view_as(tensors[i]));
      offset += n;
    }
    first = last;
  }
}

}  // namespace

WorkShare WorkShare::of_process() {
  const World* world = process_world();
  if (!world) return {};
  return {world->rank(), world->size()};
}

std::pair<int64_t, int64_t> WorkShare::rows(int64_t n) const {
  return shard_range(n, rank, size);
}

std::vector<int64_t> WorkShare::owned(int64_t batches) const {
  std::vector<int64_t> mine;
  for (int64_t k = rank; k < batches; k += size) mine.push_back(k);
  return mine;
}

torch::Tensor sum_over_ranks(torch::Tensor tensor) {
  if (World* world = process_world()) world->all_reduce_sum(tensor);
  return tensor;
}

double max_over_ranks(double value) {
  World* world = process_world();
  if (!world) return value;
  return world->all_gather_rows(torch::full({1}, value, torch::kFloat64)).max().item<double>();
}

torch::Tensor gather_rows(const torch::Tensor& rows) {
  World* world = process_world();
  if (!world) return rows.cpu();
  return world->all_gather_rows(rows.cpu().contiguous());
}

namespace {

// [rows, ...] with the row shape and type of the ranks that have rows, for a rank that has none.
torch::Tensor with_common_row_shape(World& world, const torch::Tensor& own) {
  constexpr int64_t kMaxDims = 8;
  auto mine = torch::zeros({1, kMaxDims + 2}, torch::kInt64);  // dims, type, sizes
  if (own.numel() > 0) {
    mine[0][0] = own.dim();
    mine[0][1] = static_cast<int64_t>(own.scalar_type());
    for (int64_t d = 1; d < own.dim() && d <= kMaxDims; ++d) mine[0][d + 1] = own.size(d);
  }
  const auto shapes = world.all_gather_rows(mine);
  if (own.numel() > 0) return own;
  for (int64_t r = 0; r < shapes.size(0); ++r) {
    const int64_t dims = shapes[r][0].item<int64_t>();
    if (dims == 0) continue;
    std::vector<int64_t> shape{0};
    for (int64_t d = 1; d < dims; ++d) shape.push_back(shapes[r][d + 1].item<int64_t>());
    const auto type = static_cast<c10::ScalarType>(shapes[r][1].item<int64_t>());
    return torch::empty(shape, torch::TensorOptions().dtype(type));
  }
  return own;
}

}  // namespace

torch::Tensor gather_batches(const torch::Tensor& own, const std::vector<int64_t>& rows_of) {
  World* world = process_world();
  if (!world) return own.cpu();
  const auto all = world->all_gather_rows(with_common_row_shape(*world, own).cpu().contiguous());
  // `all` holds rank 0's batches, then rank 1's, ...: each row's place in batch order.
  std::vector<int64_t> first_row(rows_of.size() + 1, 0);
  for (size_t k = 0; k < rows_of.size(); ++k) first_row[k + 1] = first_row[k] + rows_of[k];
  std::vector<int64_t> place;
  place.reserve(static_cast<size_t>(first_row.back()));
  for (int r = 0; r < world->size(); ++r) {
    for (size_t k = static_cast<size_t>(r); k < rows_of.size(); k += world->size()) {
      for (int64_t j = 0; j < rows_of[k]; ++j) place.push_back(first_row[k] + j);
    }
  }
  auto ordered = torch::empty_like(all);
  ordered.index_copy_(0, torch::tensor(place, torch::kInt64), all);
  return ordered;
}

torch::Tensor map_batches(
    int64_t n, int64_t batch,
    const std::function<torch::Tensor(int64_t k, int64_t begin, int64_t end)>& compute) {
  const WorkShare share = WorkShare::of_process();
  std::vector<int64_t> rows_of;
  std::vector<torch::Tensor> own;
  for (int64_t k = 0, begin = 0; begin < n; ++k, begin += batch) {
    const int64_t end = std::min(begin + batch, n);
    rows_of.push_back(end - begin);
    if (share.owns(k)) own.push_back(compute(k, begin, end));
  }
  const auto mine = own.empty() ? torch::empty({0}) : torch::cat(own);
  return share.distributed() ? gather_batches(mine, rows_of) : mine;
}

void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors) {
  World* world = process_world();
  if (!world) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    auto host = t.detach().to(torch::kCPU).contiguous();
    world->broadcast(host, 0);
    t.detach().copy_(host);
  }
}

void average_over_ranks(const std::vector<torch::Tensor>& tensors) {
  World* world = process_world();
  if (!world) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    if (!t.is_floating_point()) continue;  // counters (num_batches_tracked) agree already
    auto host = t.detach().to(torch::kCPU).contiguous();
    world->all_reduce_sum(host);
    t.detach().copy_(host / world->size());
  }
}

void sum_gradients(const std::vector<torch::Tensor>& params) {
  World* world = process_world();
  if (!world || params.empty()) return;
  torch::NoGradGuard no_grad;
  auto has_grad = torch::zeros({static_cast<int64_t>(params.size())}, torch::kInt64);
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].grad().defined()) has_grad[static_cast<int64_t>(i)] = 1;
  }
  world->all_reduce_sum(has_grad);
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    if (has_grad[static_cast<int64_t>(i)].item<int64_t>() == 0) continue;
    torch::Tensor p = params[i];  // a handle: its grad is the parameter's
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // A flat buffer holds one type: one bucket list per dtype.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_type;
  for (const auto& g : grads) by_type[g.scalar_type()].push_back(g);
  for (const auto& typed : by_type) sum_in_buckets(*world, typed.second);
}

}  // namespace perturb
