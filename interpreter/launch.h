// perturb run --nproc N: N worker processes of this machine, each running the same command as
// one rank of a c10d group (the environment torchrun would give it), watched until all end.
#pragma once

#include <string>
#include <vector>

namespace perturb::lang {

// Starts `nproc` copies of this executable with `worker_args` (argv without --nproc) and
// RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT set; without
// --threads or PERTURB_THREADS each worker gets an equal share of the usable cores. When a
// worker fails, the others are
// stopped (SIGTERM, then SIGKILL after a grace period) and its rank and status are named on
// stderr. Returns the first failing worker's exit code, or 0.
int launch_workers(int nproc, const std::vector<std::string>& worker_args, int threads_per_worker);

}  // namespace perturb::lang
