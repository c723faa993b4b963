// How many CPU threads the runtime's tensor work uses: chosen once per process, before the
// first tensor operation, from the user's request or the cores this process may run on.
#pragma once

#include <optional>
#include <string>

namespace perturb {

struct ThreadChoice {
  int threads = 1;       // intra-op threads (LibTorch's parallel_for) and inter-op threads
  int usable_cores = 1;  // CPUs in this process's affinity mask
  std::string source;    // what decided: "--threads", "PERTURB_THREADS", "OMP_NUM_THREADS",
                         // or "CPU affinity"
  std::string blas;  // the BLAS library loaded ("OpenBLAS 0.3.21 (OpenMP)", "reference BLAS ...")
  int blas_threads = 0;  // threads the BLAS library itself may start (1 when it is told to stay
                         // single-threaded under LibTorch's threads; 0 when it has no threads)
};

// CPUs this process may run on (sched_getaffinity), not the host's count: a container or
// `taskset` limits it. At least 1.
int usable_cores();

// The choice, by precedence: `requested` (--threads N), PERTURB_THREADS, OMP_NUM_THREADS (as
// PyTorch honours it), else every usable core. Throws Error for a count that is not a whole
// number ≥ 1, naming where it came from.
ThreadChoice choose_threads(std::optional<int> requested);

// Applies the choice to LibTorch (intra- and inter-op) and to the BLAS library. OpenBLAS's
// OpenMP build (what scripts/setup.sh installs) shares LibTorch's OpenMP pool and runs
// single-threaded inside a parallel region, so it needs nothing. Its pthreads build starts
// threads of its own and is kept to one, unless OPENBLAS_NUM_THREADS says otherwise: LibTorch
// already calls it from each of its threads, and two layers of threads on the same cores
// oversubscribe them (figures in bench/results/blas.md). Call once, before any tensor work;
// returns the choice with the BLAS fields filled in.
ThreadChoice apply_threads(ThreadChoice choice);

// One line for --verbose: "threads: 2 intra-op and inter-op (CPU affinity; 2 usable cores);
// BLAS: OpenBLAS 0.3.21 (OpenMP), 2 thread(s)".
std::string describe(const ThreadChoice& choice);

}  // namespace perturb
