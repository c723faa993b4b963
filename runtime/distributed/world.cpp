#include "runtime/distributed/world.h"

// ProcessGroupGloo.hpp declares its class only with the flag Debian's LibTorch was built with.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>

#include "runtime/core/error.h"

namespace perturb {

namespace {

// An integer environment variable in [lo, hi], or `fallback` when unset.
int64_t env_integer(const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < lo || value > hi) {
    throw Error(std::string(name) + " must be a whole number from " + std::to_string(lo) + " to " +
                std::to_string(hi) + ", got '" + text + "'");
  }
  return value;
}

std::string describe(const WorldConfig& c) {
  return "rank " + std::to_string(c.rank) + " of " + std::to_string(c.size) + " at " +
         c.master_addr + ":" + std::to_string(c.master_port);
}

// The network interface Gloo talks on, as PyTorch chooses it: GLOO_SOCKET_IFNAME when set, the
// loopback for a group on this machine, else the address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const WorldConfig& config) {
  if (const char* name = std::getenv("GLOO_SOCKET_IFNAME"); name && *name) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(name);
  }
  if (config.master_addr == "127.0.0.1" || config.master_addr == "localhost") {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

std::optional<WorldConfig> world_from_environment() {
  if (!std::getenv("WORLD_SIZE")) return std::nullopt;
  WorldConfig c;
  c.size = static_cast<int>(env_integer("WORLD_SIZE", 1, 1, 65536));
  c.rank = static_cast<int>(env_integer("RANK", 0, 0, c.size - 1));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) c.master_addr = addr;
  c.master_port = static_cast<int>(env_integer("MASTER_PORT", c.master_port, 1, 65535));
  c.timeout = std::chrono::seconds(env_integer("PERTURB_DIST_TIMEOUT", 300, 1, 86400));
  if (const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE")) {
    c.agent_store = std::string(agent) == "True";
  }
  c.restart_count = static_cast<int>(env_integer("TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 30));
  return c;
}

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) close(fd);
  return ok ? ntohs(address.sin_port) : 29500;
}

std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

struct HostedStore::Server {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

HostedStore::HostedStore() : server_(std::make_unique<Server>()) {
  c10d::TCPStoreOptions options;
  options.port = 0;  // the kernel's pick
  options.isServer = true;
  options.waitWorkers = false;
  try {
    server_->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  } catch (const std::exception& e) {
    throw Error(std::string("could not serve the workers' rendezvous on 127.0.0.1: ") + e.what());
  }
}

HostedStore::~HostedStore() = default;

int HostedStore::port() const {
  return server_->store->getPort();
}

struct World::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

World::World(WorldConfig config, std::unique_ptr<Group> group)
    : config_(std::move(config)), group_(std::move(group)) {}

World::~World() = default;

std::shared_ptr<World> World::join(const WorldConfig& config) {
  auto group = std::make_unique<Group>();
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(config.master_port);
    store_options.isServer = config.rank == 0 && !config.agent_store;
    if (!config.agent_store) store_options.numWorkers = config.size;
    store_options.timeout = config.timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(config.master_addr, store_options);
    if (config.agent_store) {
      group->store = c10::make_intrusive<c10d::PrefixStore>(
          "/worker/attempt_" + std::to_string(config.restart_count), tcp);
    } else {
      group->store = tcp;
    }
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = config.timeout;
    options->devices.push_back(gloo_device(config));
    group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, config.rank,
                                                              config.size, options);
  } catch (const std::exception& e) {
    throw Error("could not join the process group as " + describe(config) + " within " +
                std::to_string(config.timeout.count() / 1000) + " s: " + e.what());
  }
  return std::shared_ptr<World>(new World(config, std::move(group)));
}

void World::all_reduce_sum(torch::Tensor& tensor) {
  std::vector<torch::Tensor> one{tensor};
  group_->gloo->allreduce(one)->wait();
}

void World::broadcast(torch::Tensor& tensor, int root) {
  std::vector<torch::Tensor> one{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  group_->gloo->broadcast(one, options)->wait();
}

torch::Tensor World::all_gather_rows(const torch::Tensor& rows) {
  // Gloo's all-gather needs equal shapes: share the row counts, pad to the largest, trim.
  auto counts = torch::zeros({size()}, torch::kInt64);
  counts[rank()] = rows.size(0);
  all_reduce_sum(counts);
  const int64_t most = counts.max().item<int64_t>();
  auto shape = rows.sizes().vec();
  shape[0] = most;
  auto padded = torch::zeros(shape, rows.options());
  padded.narrow(0, 0, rows.size(0)).copy_(rows);
  std::vector<std::vector<torch::Tensor>> outputs(1);
  for (int r = 0; r < size(); ++r) outputs[0].push_back(torch::empty_like(padded));
  std::vector<torch::Tensor> inputs{padded};
  group_->gloo->allgather(outputs, inputs)->wait();
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size(); ++r) {
    parts.push_back(outputs[0][r].narrow(0, 0, counts[r].item<int64_t>()));
  }
  return torch::cat(parts);
}

void World::barrier() {
  group_->gloo->barrier()->wait();
}

namespace {
std::shared_ptr<World>& the_process_world() {
  static std::shared_ptr<World> world;
  return world;
}
}  // namespace

void set_process_world(std::shared_ptr<World> world) {
  the_process_world() = std::move(world);
}

World* process_world() {
  return the_process_world().get();
}

}  // namespace perturb
