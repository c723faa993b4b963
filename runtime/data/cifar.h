// CIFAR-10 and CIFAR-100 in their binary versions, as distributed at
// https://www.cs.toronto.edu/~kriz/cifar.html (nothing is downloaded).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/data/dataset.h"

namespace perturb {

constexpr const char* kCifarUrl = "https://www.cs.toronto.edu/~kriz/cifar.html";

// dir holds data_batch_1.bin ... data_batch_5.bin (split "train") and test_batch.bin ("test"),
// or is the folder above cifar-10-batches-bin/. Records are 1 label byte + 3072 pixel bytes
// (1024 R, 1024 G, 1024 B, row-major 32×32). Returns x N×3×32×32 float32 in [0, 1] and y in 0..9;
// limit < 0 means all, otherwise the first limit records. A missing file → IoError naming it and
// where to get the data; a file that is not whole records or a label ≥ 10 → Error naming the file.
Dataset cifar10(const std::string& dir, const std::string& split, int64_t limit = -1);

// dir holds train.bin and test.bin, or is the folder above cifar-100-binary/. Records are
// 1 coarse label byte (0..19) + 1 fine label byte (0..99) + 3072 pixel bytes; labels "fine"
// (the default) or "coarse" chooses y. Errors as cifar10's.
Dataset cifar100(const std::string& dir, const std::string& split,
                 const std::string& labels = "fine", int64_t limit = -1);

}  // namespace perturb
