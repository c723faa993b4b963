// Inputs decoded on demand: what a streaming dataset reads its images from (an image folder).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

// The inputs of some rows of a source. A source that skips unreadable inputs leaves them out:
// `kept` lists the positions (into the rows asked for) that x holds, in order.
struct DecodedInputs {
  torch::Tensor x;  // kept.size() × input shape, float32 in [0, 1]
  std::vector<int64_t> kept;
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  // The shape of one input, e.g. {3, 224, 224}.
  virtual std::vector<int64_t> input_shape() const = 0;
  // Decodes rows (each in [0, size)). Thread-safe: the batch loader's workers call it at once.
  // An unreadable input is an IoError naming it, unless the source skips them.
  virtual DecodedInputs decode(const std::vector<int64_t>& rows) const = 0;
  // How many worker threads decode ahead, and how many batches each keeps ready.
  virtual int workers() const = 0;
  virtual int prefetch() const = 0;
};

}  // namespace perturb
