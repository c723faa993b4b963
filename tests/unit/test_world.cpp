// runtime/distributed: a group of ranks over loopback (two threads of this process stand for two
// processes; each joins through its own TCPStore client and Gloo context, as processes do).

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "runtime/core/error.h"
#include "runtime/distributed/world.h"

using namespace perturb;

namespace {

// Runs body(world) on `size` ranks at once, each in its own thread; rank 0 serves the store, or
// a launcher's store does.
void on_ranks(int size, const std::function<void(World&)>& body,
              const HostedStore* launcher = nullptr) {
  const int port = launcher ? launcher->port() : free_loopback_port();
  std::vector<std::thread> ranks;
  std::vector<std::exception_ptr> errors(size);
  for (int r = 0; r < size; ++r) {
    ranks.emplace_back([&, r] {
      try {
        WorldConfig config;
        config.rank = r;
        config.size = size;
        config.master_port = port;
        config.agent_store = launcher != nullptr;
        config.timeout = std::chrono::seconds(20);
        auto world = World::join(config);
        body(*world);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : ranks) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

TEST_CASE("shards cover every row once, sizes differing by at most one") {
  for (int size : {1, 2, 3, 7}) {
    int64_t next = 0;
    for (int r = 0; r < size; ++r) {
      const auto [begin, end] = shard_range(10, r, size);
      CHECK(begin == next);
      CHECK(end - begin >= 10 / size);
      CHECK(end - begin <= 10 / size + 1);
      next = end;
    }
    CHECK(next == 10);
  }
}

TEST_CASE("two ranks over loopback: sum, broadcast and gather of uneven rows") {
  on_ranks(2, [](World& world) {
    auto t = torch::full({3}, world.rank() + 1.0);
    world.all_reduce_sum(t);
    CHECK(torch::equal(t, torch::full({3}, 3.0)));

    auto b = world.rank() == 1 ? torch::arange(4.0) : torch::zeros({4});
    world.broadcast(b, /*root=*/1);
    CHECK(torch::equal(b, torch::arange(4.0)));

    // Rank 0 has 3 rows, rank 1 has 1: gathered in rank order, padding trimmed.
    const auto rows =
        world.rank() == 0 ? torch::arange(6.0).reshape({3, 2}) : torch::full({1, 2}, 9.0);
    const auto all = world.all_gather_rows(rows);
    REQUIRE(all.sizes() == torch::IntArrayRef({4, 2}));
    CHECK(torch::equal(all.narrow(0, 0, 3), torch::arange(6.0).reshape({3, 2})));
    CHECK(torch::equal(all[3], torch::full({2}, 9.0)));
    world.barrier();
  });
}

TEST_CASE("ranks join the store their launcher serves, as under torchrun's agent") {
  const HostedStore launcher;
  on_ranks(
      2,
      [](World& world) {
        auto t = torch::full({2}, world.rank() + 1.0);
        world.all_reduce_sum(t);
        CHECK(torch::equal(t, torch::full({2}, 3.0)));
      },
      &launcher);
}

TEST_CASE("a rank whose group never forms fails in bounded time, naming the address") {
  WorldConfig config;
  config.rank = 1;  // a client: no rank 0 ever serves the store
  config.size = 2;
  config.master_port = free_loopback_port();
  config.timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  try {
    World::join(config);
    FAIL("joined a group that has no rank 0");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(config.master_port)) !=
          std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
}

TEST_CASE("the group from torchrun's environment variables, and its errors") {
  unsetenv("WORLD_SIZE");
  CHECK_FALSE(world_from_environment().has_value());
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.5", 1);
  setenv("MASTER_PORT", "1234", 1);
  const auto c = world_from_environment();
  REQUIRE(c.has_value());
  CHECK(c->rank == 2);
  CHECK(c->size == 4);
  CHECK(c->master_addr == "10.0.0.5");
  CHECK(c->master_port == 1234);
  CHECK_FALSE(c->agent_store);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  setenv("TORCHELASTIC_RESTART_COUNT", "3", 1);
  CHECK(world_from_environment()->agent_store);
  CHECK(world_from_environment()->restart_count == 3);
  unsetenv("TORCHELASTIC_USE_AGENT_STORE");
  unsetenv("TORCHELASTIC_RESTART_COUNT");
  setenv("RANK", "4", 1);
  CHECK_THROWS_WITH(world_from_environment(), Catch::Contains("RANK") && Catch::Contains("'4'"));
  setenv("RANK", "0", 1);
  setenv("MASTER_PORT", "http", 1);
  CHECK_THROWS_WITH(world_from_environment(), Catch::Contains("MASTER_PORT"));
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
}
