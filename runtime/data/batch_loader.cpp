#include "runtime/data/batch_loader.h"

#include "runtime/core/error.h"

namespace perturb {

LoadedBatch load_part(const Dataset& part) {
  if (!part.streams()) return {part, torch::arange(part.size(), torch::kInt64)};
  const auto* first = part.source_rows.data_ptr<int64_t>();
  DecodedInputs decoded =
      part.source->decode(std::vector<int64_t>(first, first + part.source_rows.size(0)));
  const auto kept = torch::tensor(decoded.kept, torch::kInt64);
  Dataset loaded =
      static_cast<int64_t>(decoded.kept.size()) == part.size() ? part : part.select(kept);
  loaded.x = std::move(decoded.x);
  loaded.source = nullptr;
  loaded.source_rows = torch::Tensor();
  return {std::move(loaded), kept};
}

BatchLoader::BatchLoader(std::vector<Dataset> parts) : parts_(std::move(parts)) {
  if (parts_.empty() || !parts_.front().streams()) return;
  const auto& source = *parts_.front().source;
  const int workers = std::max(1, source.workers());
  ahead_ = static_cast<int64_t>(workers) * std::max(1, source.prefetch());
  for (int w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

LoadedBatch BatchLoader::load(int64_t k) const {
  return load_part(parts_[static_cast<size_t>(k)]);
}

// Claims the next part while it is within `ahead_` of the caller, decodes it outside the lock,
// and files the result (or the error) under its number.
void BatchLoader::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] {
      return stopping_ || (next_to_claim_ < count() && next_to_claim_ < next_to_hand_ + ahead_);
    });
    if (stopping_) return;
    const int64_t k = next_to_claim_++;
    lock.unlock();
    LoadedBatch batch;
    std::exception_ptr error;
    try {
      batch = load(k);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error) {
      failed_[k] = error;
    } else {
      ready_[k] = std::move(batch);
    }
    changed_.notify_all();
  }
}

LoadedBatch BatchLoader::next() {
  if (next_to_hand_ >= count()) throw Error("BatchLoader: no parts left");
  if (workers_.empty()) return load(next_to_hand_++);
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t k = next_to_hand_;
  changed_.wait(lock, [&] { return ready_.count(k) > 0 || failed_.count(k) > 0; });
  ++next_to_hand_;
  changed_.notify_all();  // a worker may claim one more part
  if (auto failure = failed_.find(k); failure != failed_.end()) {
    std::rethrow_exception(failure->second);
  }
  LoadedBatch batch = std::move(ready_[k]);
  ready_.erase(k);
  return batch;
}

}  // namespace perturb
