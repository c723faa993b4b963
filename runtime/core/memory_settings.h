// How the process keeps memory for tensor work: set once at start-up, before the first tensor.
#pragma once

#include <string>

namespace perturb {

// Two settings, each left alone where the user's environment sets it:
//
// malloc. glibc serves blocks above its mmap threshold (128 KiB, growing to at most 32 MiB)
// with a fresh mmap and unmaps them on free, and returns free memory at the top of the heap to
// the kernel; an attack or training step allocates and frees activations of tens of MiB per
// pass, so every pass page-faulted them back in and the kernel zeroed every page again (a third
// of PGD-20's time on a small CNN: bench/results/pgd.md). Blocks below 1 GiB stay on the heap and
// up to 256 MiB of free memory is kept there for reuse, as PyTorch's CUDA caching allocator does
// on the GPU. PERTURB_MALLOC=system, or a GLIBC_TUNABLES with malloc options, keeps glibc's.
//
// oneDNN's primitive cache. LibTorch's CPU convolutions keep a compiled kernel per input shape,
// up to 1024 of them; early stop shrinks a batch step by step, so an evaluate over many batches
// meets hundreds of shapes and the cache grew the peak with the number of images (PGD-20 on
// 10,000 images: 993 MiB against 434 MiB with 64 entries, at the same speed:
// bench/memory/run.sh). 64 entries unless ONEDNN_PRIMITIVE_CACHE_CAPACITY is set.
//
// Returns a line for --verbose.
std::string configure_memory();

}  // namespace perturb
