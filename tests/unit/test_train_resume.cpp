// Checkpoints and resume: a run killed with SIGKILL in the middle of an epoch and resumed from
// its last checkpoint ends with exactly the weights (bit for bit) of an uninterrupted run.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/attack/attack.h"
#include "runtime/core/error.h"
#include "runtime/model/zoo.h"
#include "runtime/train/train.h"
#include "test_util.h"

extern char** environ;

using namespace perturb;

namespace {

constexpr const char* kChildDirEnv = "PERTURB_TEST_TRAIN_KILL_DIR";
// The child kills itself after this batch of epoch 2; checkpoints fall every 3 batches, so the
// last one (after batch 6) is behind the kill and batch 7's work is lost and must be redone.
constexpr int64_t kKillEpoch = 2;
constexpr int64_t kKillAfterBatch = 7;

Dataset run_data() {
  return test::random_dataset(160, 1, 12, 10, 7);
}

ModelPtr run_model() {
  ZooOptions o;
  o.height = o.width = 12;
  return make_zoo_model("mlp", o, 3);
}

// Madry training with momentum, a cosine schedule and a validation split: every piece of state a
// resume has to restore (weights, momentum buffers, the schedule's position, shuffles and the
// attack's random starts) influences the result.
TrainOptions run_options(const std::string& dir) {
  TrainOptions o;
  o.epochs = 3;
  o.batch = 12;  // 128 training samples → 11 batches, the last one short
  o.seed = 11;
  o.optimizer = OptimizerSpec{"sgd", 0.05};
  o.optimizer.momentum = 0.9;
  o.lr_schedule.kind = "cosine";
  o.method = "madry";
  PgdOptions pgd;
  pgd.steps = 2;
  o.adversary = make_pgd(make_linf(0.1), pgd);
  o.val_split = 0.2;
  o.quiet = true;
  if (!dir.empty()) {
    o.checkpoint_path = dir + "/run.ckpt";
    o.log_path = dir + "/run.csv";
    o.checkpoint_every = 3;
    o.resume = true;
  }
  return o;
}

std::vector<torch::Tensor> weights(Model& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) out.push_back(p.detach().clone());
  return out;
}

bool bit_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

// Run only by the test below, in a child process: trains with checkpoints and kills itself
// with SIGKILL in the middle of epoch 2 (no destructor, no flush: like `kill -9`).
TEST_CASE("train kill child", "[.train_kill_child]") {
  const char* dir = std::getenv(kChildDirEnv);
  REQUIRE(dir != nullptr);
  auto options = run_options(dir);
  options.on_batch = [](const BatchPosition& p) {
    if (p.epoch == kKillEpoch && p.batch + 1 == kKillAfterBatch) ::raise(SIGKILL);
  };
  const auto model = run_model();
  train(*model, run_data(), options);
  FAIL("the child was not killed");
}

TEST_CASE("a run killed with SIGKILL mid-epoch and resumed ends with identical weights",
          "[train]") {
  test::TempDir dir;
  // The uninterrupted reference, without any checkpointing.
  const auto reference = run_model();
  const auto full = train(*reference, run_data(), run_options(""));
  REQUIRE(full.epochs.size() == 3);

  // The killed run, in a child process (this test binary, running only the hidden child test).
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  ::setenv(kChildDirEnv, dir.root().string().c_str(), 1);
  std::vector<std::string> args = {self, "[.train_kill_child]"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::unsetenv(kChildDirEnv);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  const std::string ckpt = dir.path("run.ckpt");
  REQUIRE(std::filesystem::exists(ckpt));
  // Only whole checkpoints exist: no temp file was left behind by the kill.
  for (const auto& entry : std::filesystem::directory_iterator(dir.root())) {
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  }
  // The log holds epoch 1 only (written atomically at its end).
  CHECK(test::read_text(dir.path("run.csv")).find("\n2,") == std::string::npos);

  // Resume in this process, on a freshly built model.
  const auto resumed = run_model();
  const auto rest = train(*resumed, run_data(), run_options(dir.root().string()));
  CHECK(rest.resumed);
  CHECK(rest.resumed_epoch == kKillEpoch);
  CHECK(rest.resumed_batch == 6);  // the last checkpoint before the kill
  REQUIRE(rest.epochs.size() == 2);
  CHECK(bit_equal(weights(*reference), weights(*resumed)));
  // Same epoch statistics as the uninterrupted run (the partial sums travelled too).
  CHECK(rest.epochs[0].loss == full.epochs[1].loss);
  CHECK(rest.epochs[0].accuracy == full.epochs[1].accuracy);
  CHECK(rest.epochs[1].val_robust == full.epochs[2].val_robust);
  // The log now has all three epochs.
  const auto log = test::read_text(dir.path("run.csv"));
  CHECK(log.find("\n3,") != std::string::npos);

  // Resuming a finished run restores its weights and trains no further.
  const auto again = run_model();
  const auto none = train(*again, run_data(), run_options(dir.root().string()));
  CHECK(none.epochs.empty());
  CHECK(bit_equal(weights(*reference), weights(*again)));

  // A resume with other settings is refused, naming both.
  auto other = run_options(dir.root().string());
  other.batch = 16;
  CHECK_THROWS_WITH(train(*run_model(), run_data(), other), Catch::Contains("other settings"));
}

TEST_CASE("a checkpoint at an epoch boundary resumes to the same weights (in process)", "[train]") {
  test::TempDir dir;
  const auto reference = run_model();
  auto options = run_options("");
  options.method = "trades";
  options.optimizer = OptimizerSpec{"adam", 1e-3};
  train(*reference, run_data(), options);

  // First run: stop after epoch 1 by throwing from the epoch hook (the checkpoint is written
  // before the hook runs).
  options.checkpoint_path = dir.path("c.ckpt");
  options.resume = true;
  options.on_epoch = [](const EpochStats& s) {
    if (s.epoch == 1) throw std::runtime_error("stop");
  };
  CHECK_THROWS(train(*run_model(), run_data(), options));
  options.on_epoch = nullptr;
  const auto resumed = run_model();
  const auto rest = train(*resumed, run_data(), options);
  CHECK(rest.resumed_epoch == 2);
  CHECK(rest.resumed_batch == 0);
  CHECK(bit_equal(weights(*reference), weights(*resumed)));
  // Settings that only change the numbers (TRADES's beta, the schedule's shape) are part of
  // what a checkpoint must agree with.
  auto other = options;
  other.trades_beta = 3;
  CHECK_THROWS_WITH(train(*run_model(), run_data(), other), Catch::Contains("other settings"));
  other = options;
  other.lr_schedule.pct_start = 0.5;
  CHECK_THROWS_WITH(train(*run_model(), run_data(), other), Catch::Contains("other settings"));

  // Not a checkpoint → a clear error.
  test::write_bytes(dir.path("junk.ckpt"), "not a checkpoint");
  options.checkpoint_path = dir.path("junk.ckpt");
  CHECK_THROWS_WITH(train(*run_model(), run_data(), options),
                    Catch::Contains("not a training checkpoint"));
}
