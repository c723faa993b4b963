#include "runtime/core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <string>

#include "runtime/core/error.h"

namespace perturb {
namespace {

// A thread count from text: a whole number ≥ 1, else an Error naming `origin`.
int parse_count(const std::string& text, const std::string& origin) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 4096) {
    throw Error(origin + " must be a whole number of threads >= 1, got '" + text + "'");
  }
  return static_cast<int>(value);
}

// OpenBLAS's entry points, looked up at run time: libblas.so.3 is whichever BLAS Debian's
// alternatives (or LD_LIBRARY_PATH) chose, so they may be absent.
struct OpenBlas {
  using GetConfig = char* (*)();
  using GetParallel = int (*)();
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  GetConfig config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  GetParallel parallel =
      reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  SetThreads set_threads =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  GetThreads get_threads =
      reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  bool present() const { return config && parallel && set_threads && get_threads; }
};

// "OpenBLAS 0.3.21" from "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
std::string openblas_name(const char* config) {
  std::string text = config ? config : "OpenBLAS";
  const auto second_space = text.find(' ', text.find(' ') + 1);
  return second_space == std::string::npos ? text : text.substr(0, second_space);
}

}  // namespace

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

ThreadChoice choose_threads(std::optional<int> requested) {
  ThreadChoice choice;
  choice.usable_cores = usable_cores();
  if (requested) {
    if (*requested < 1) throw Error("--threads must be a whole number of threads >= 1");
    choice.threads = *requested;
    choice.source = "--threads";
  } else if (const char* text = std::getenv("PERTURB_THREADS"); text && *text) {
    choice.threads = parse_count(text, "PERTURB_THREADS");
    choice.source = "PERTURB_THREADS";
  } else if (const char* text = std::getenv("OMP_NUM_THREADS"); text && *text) {
    choice.threads = parse_count(text, "OMP_NUM_THREADS");
    choice.source = "OMP_NUM_THREADS";
  } else {
    choice.threads = choice.usable_cores;
    choice.source = "CPU affinity";
  }
  return choice;
}

ThreadChoice apply_threads(ThreadChoice choice) {
  at::set_num_threads(choice.threads);
  try {
    at::set_num_interop_threads(choice.threads);
  } catch (const std::exception&) {
    // Already fixed: inter-op threads can be set only before the first inter-op task, and a
    // second Session in the same process (tests, the REPL) finds them set. Harmless.
  }
  const OpenBlas openblas;
  if (!openblas.present()) {
    choice.blas = "reference BLAS (or another without OpenBLAS's interface)";
    choice.blas_threads = 0;
    return choice;
  }
  const int parallel = openblas.parallel();  // 0 sequential, 1 pthreads, 2 OpenMP
  choice.blas = openblas_name(openblas.config()) + (parallel == 1   ? " (pthreads)"
                                                    : parallel == 2 ? " (OpenMP)"
                                                                    : " (sequential)");
  // A user's own OPENBLAS_NUM_THREADS is theirs to keep (bench/blas measures it that way).
  if (parallel == 1 && !std::getenv("OPENBLAS_NUM_THREADS")) openblas.set_threads(1);
  choice.blas_threads = openblas.get_threads();
  return choice;
}

std::string describe(const ThreadChoice& choice) {
  return "threads: " + std::to_string(choice.threads) + " intra-op and inter-op (" + choice.source +
         "; " + std::to_string(choice.usable_cores) + " usable cores); BLAS: " + choice.blas +
         (choice.blas_threads > 0 ? ", " + std::to_string(choice.blas_threads) + " thread(s)" : "");
}

}  // namespace perturb
