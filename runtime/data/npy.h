// NumPy's file formats: .npy (one array) and .npz (a ZIP archive of .npy members), so arrays
// made in Python come in and results go back out without pickles or a Python dependency.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace perturb {

// Reads a .npy file, header versions 1.0, 2.0 and 3.0. dtypes: float32 and float64, int32 and
// int64 (little or big endian), uint8 and bool; C or Fortran order (returned in C order, as a
// contiguous CPU tensor); 0-d and empty shapes. Throws IoError when the file cannot be opened
// and Error, naming the file, when it is not .npy, is truncated, has a malformed header or an
// unsupported dtype (the message lists the supported ones).
torch::Tensor read_npy(const std::string& path);

// Writes `tensor` (moved to the CPU) as a version 1.0, little-endian, C-order .npy, atomically.
// Throws Error for a dtype outside float32, float64, uint8, int64, int32 and bool.
void write_npy(const std::string& path, const torch::Tensor& tensor);

// Named arrays in archive order: a member "weights.npy" is named "weights".
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads a .npz (numpy.savez: stored members; numpy.savez_compressed: deflated), through the
// ZIP central directory, checking each member's CRC-32. ZIP64 archives (over 4 GiB or 65535
// members) and encrypted members are refused with an Error naming the file.
NamedTensors read_npz(const std::string& path);

// Writes the tensors as stored (uncompressed) "<name>.npy" members of a ZIP archive, atomically.
// Throws Error for an empty or repeated name, or an archive that would need ZIP64.
void write_npz(const std::string& path, const NamedTensors& tensors);

}  // namespace perturb
