// Parts of a dataset with their inputs in memory, one after another; a streaming dataset's are
// decoded ahead on worker threads, as a PyTorch DataLoader with num_workers and prefetch_factor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/data/dataset.h"

namespace perturb {

struct LoadedBatch {
  Dataset data;        // in memory
  torch::Tensor kept;  // int64: the positions (into the part) that data holds, in order
};

class BatchLoader {
 public:
  // Loads `parts` in this order. In memory, next() hands each part back as it is; streaming,
  // the source's workers decode up to workers × prefetch parts ahead of the caller.
  explicit BatchLoader(std::vector<Dataset> parts);
  ~BatchLoader();  // stops and joins the workers
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int64_t count() const { return static_cast<int64_t>(parts_.size()); }
  // The next part (Error past the end); a worker's error (an unreadable image) is rethrown here,
  // in the caller's thread, when its part comes up.
  LoadedBatch next();

 private:
  void work();
  LoadedBatch load(int64_t k) const;

  std::vector<Dataset> parts_;
  int64_t next_to_hand_ = 0;
  int64_t next_to_claim_ = 0;  // guarded by mutex_
  int64_t ahead_ = 0;          // parts that may be decoded before the caller takes them
  std::map<int64_t, LoadedBatch> ready_;
  std::map<int64_t, std::exception_ptr> failed_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> workers_;
};

// The inputs of one streaming part, decoded in the caller's thread.
LoadedBatch load_part(const Dataset& part);

}  // namespace perturb
