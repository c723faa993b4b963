// A group of processes that run the same script (SPMD, as under torchrun), on c10d: a TCPStore
// for the rendezvous and ProcessGroupGloo for the collectives over TCP (loopback on one
// machine). Knows nothing of the language; evaluate, certify and train will split their work
// by rank and combine it through this (issue 14).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace perturb {

struct WorldConfig {
  int rank = 0;
  int size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // How long a rank waits for the others (rendezvous and every collective) before it fails
  // with an error instead of hanging.
  std::chrono::milliseconds timeout = std::chrono::seconds(300);
  // The launcher serves the store at master_addr:master_port (torchrun's agent,
  // TORCHELASTIC_USE_AGENT_STORE=True; perturb run --nproc): every rank connects as a client,
  // and the group's keys live under "/worker/attempt_<restart_count>/" as PyTorch's do.
  bool agent_store = false;
  int restart_count = 0;
};

// The group torchrun (or any launcher) describes: RANK, WORLD_SIZE, MASTER_ADDR (default
// 127.0.0.1), MASTER_PORT (default 29500), PERTURB_DIST_TIMEOUT (seconds, default 300),
// TORCHELASTIC_USE_AGENT_STORE and TORCHELASTIC_RESTART_COUNT.
// nullopt when WORLD_SIZE is unset; Error naming the variable for a value out of range.
std::optional<WorldConfig> world_from_environment();

// The rendezvous store a launcher serves for the workers it starts, as torchrun's agent does:
// listening on 127.0.0.1 from construction (so no worker finds it missing and backs off) until
// destroyed. Error when it cannot listen.
class HostedStore {
 public:
  HostedStore();
  ~HostedStore();
  HostedStore(const HostedStore&) = delete;
  HostedStore& operator=(const HostedStore&) = delete;
  int port() const;

 private:
  struct Server;
  std::unique_ptr<Server> server_;
};

// A loopback port no one listens on now (the kernel's pick for a socket bound to port 0), for
// a group of this machine; 29500 if the kernel gives none.
int free_loopback_port();

// Rows [begin, end) of n that `rank` of `size` takes: contiguous shards whose sizes differ by
// at most one, the larger first.
std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int size);

class World {
 public:
  // Joins the group: rank 0 serves the store, the others connect to it. Error (with the
  // address and the timeout) when the group does not form in time.
  static std::shared_ptr<World> join(const WorldConfig& config);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return config_.rank; }
  int size() const { return config_.size; }

  // In place: every rank ends with the element-wise sum over ranks.
  void all_reduce_sum(torch::Tensor& tensor);
  // In place: every rank ends with `root`'s values (same shape and type everywhere).
  void broadcast(torch::Tensor& tensor, int root = 0);
  // Every rank's rows, concatenated in rank order; the first dimension may differ by rank.
  torch::Tensor all_gather_rows(const torch::Tensor& rows);
  void barrier();

 private:
  struct Group;
  World(WorldConfig config, std::unique_ptr<Group> group);
  WorldConfig config_;
  std::unique_ptr<Group> group_;
};

// The group this process belongs to, joined once at start-up (perturb run under --nproc or
// torchrun); nullptr for a single process, which then pays nothing for this.
void set_process_world(std::shared_ptr<World> world);
World* process_world();

}  // namespace perturb
