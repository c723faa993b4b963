#include "interpreter/launch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "interpreter/session.h"
#include "runtime/core/error.h"
#include "runtime/distributed/world.h"

namespace perturb::lang {

namespace {

constexpr auto kGracePeriod = std::chrono::seconds(10);

// In the child: the rank's environment, then exec this executable again.
[[noreturn]] void exec_worker(int rank, int nproc, int port, int threads,
                              const std::vector<std::string>& args) {
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  setenv("TORCHELASTIC_RESTART_COUNT", "0", 1);
  if (threads > 0) setenv("PERTURB_THREADS", std::to_string(threads).c_str(), 1);
  std::vector<char*> argv;
  static std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(self.c_str(), argv.data());
  std::cerr << "perturb: could not start worker " << rank << "\n";
  _exit(kExitRuntime);
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitRuntime;
}

// Stops the workers still running: SIGTERM, then SIGKILL for those left after the grace period.
void stop_all(std::vector<pid_t>& running) {
  for (pid_t pid : running) {
    if (pid > 0) kill(pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + kGracePeriod;
  for (pid_t& pid : running) {
    while (pid > 0) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = 0;
      } else if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = 0;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

}  // namespace

int launch_workers(int nproc, const std::vector<std::string>& worker_args, int threads_per_worker) {
  // The launcher serves the rendezvous, as torchrun's agent does: it listens before any worker
  // starts, so none has to wait for rank 0 to come up.
  std::unique_ptr<HostedStore> store;
  try {
    store = std::make_unique<HostedStore>();
  } catch (const Error& e) {
    std::cerr << "perturb: error: " << e.what() << "\n";
    return kExitRuntime;
  }
  const int port = store->port();
  std::vector<pid_t> running(nproc, 0);
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) exec_worker(rank, nproc, port, threads_per_worker, worker_args);
    if (pid < 0) {
      std::cerr << "perturb: could not start worker " << rank << "\n";
      stop_all(running);
      return kExitRuntime;
    }
    running[rank] = pid;
  }
  int left = nproc;
  while (left > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    int rank = 0;
    while (rank < nproc && running[rank] != pid) ++rank;
    if (rank == nproc) continue;
    running[rank] = 0;
    --left;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    std::cerr << "perturb: worker " << rank << " of " << nproc << " " << describe_status(status)
              << "; stopping the others\n";
    stop_all(running);
    return exit_code(status);
  }
  return kExitOk;
}

}  // namespace perturb::lang
