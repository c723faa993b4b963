// How the process's memory allocator treats the large, short-lived buffers of tensor work.
#pragma once

#include <string>

namespace perturb {

// glibc's malloc serves blocks above its mmap threshold (128 KiB, growing to at most 32 MiB)
// with a fresh mmap and unmaps them on free, and returns free memory at the top of the heap to
// the kernel; an attack or training step allocates and frees activations of tens of MiB per
// pass, so every pass page-faults them back in and the kernel zeroes every page again (a third
// of PGD-20's time on a small CNN: bench/results/pgd.md). This keeps blocks below 1 GiB on the
// heap and up to 256 MiB of free memory there for reuse, as PyTorch's CUDA caching allocator
// does on the GPU. PERTURB_MALLOC=system leaves glibc's defaults, and so does a GLIBC_TUNABLES
// that sets malloc options itself. Call once at start-up; returns a line for --verbose.
std::string keep_freed_memory();

}  // namespace perturb
