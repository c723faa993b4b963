// IDX files (the MNIST format), plain or gzipped.
#pragma once

#include <string>

#include <torch/torch.h>

namespace perturb {

// Reads an IDX file (magic 0,0,type,ndims; big-endian dims), gunzipping when it starts with
// 0x1f 0x8b. Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
// Returns a CPU tensor with the file's dims. Throws IoError when the file cannot be opened and
// Error when it is corrupt (bad magic, truncated, not valid gzip), naming the file.
torch::Tensor read_idx(const std::string& path);

}  // namespace perturb
