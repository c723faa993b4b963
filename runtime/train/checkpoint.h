// Training checkpoints: everything a killed run needs to continue exactly where it stopped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

// The loop's position and random state. Model weights and optimizer state travel beside it.
struct TrainCheckpoint {
  std::string fingerprint;      // the run's settings; a resume with other settings is refused
  int64_t epoch = 1;            // the epoch to continue (1-based); epochs + 1 when the run finished
  int64_t batch = 0;            // batches of that epoch already done
  uint64_t shuffle_seed = 0;    // the epoch's shuffle (valid when batch > 0)
  torch::Tensor root_state;     // the run's root generator (after the epoch's draws)
  torch::Tensor attack_state;   // the epoch's attack generator (valid when batch > 0)
  torch::Tensor augment_state;  // the epoch's augmentation generator; undefined if none
  double loss_sum = 0;          // the epoch's running sums (valid when batch > 0)
  int64_t correct = 0;
  int64_t seen = 0;
  double seconds = 0;                 // the epoch's time so far
  std::vector<std::string> log_rows;  // CSV rows of the finished epochs
};

// Writes parameters, optimizer state and `state` to `path` atomically (write_atomic: a crash
// leaves either the previous checkpoint or the new one). Throws IoError naming the path.
void save_checkpoint(const std::string& path, const std::vector<torch::Tensor>& params,
                     torch::optim::Optimizer& optimizer, const TrainCheckpoint& state);

// Reads a checkpoint written by save_checkpoint into `params` (copied in place) and
// `optimizer`. Not a checkpoint, or parameters of other shapes → Error naming the path.
TrainCheckpoint load_checkpoint(const std::string& path, const std::vector<torch::Tensor>& params,
                                torch::optim::Optimizer& optimizer);

}  // namespace perturb
