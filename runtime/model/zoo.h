// Built-in architectures ("the zoo"): mlp, small_cnn, cnn4, lenet, resnet18, wrn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model/model.h"

namespace perturb {

struct ZooOptions {
  int64_t classes = 10;
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  // Wide ResNet only: depth 6n + 4 and widening factor; 0 takes WRN-28-10's.
  int64_t depth = 0;
  int64_t widen = 0;
};

// zoo_architectures(); unknown → Error listing the known ones. The weights are
// initialised from `seed` (see zoo.cpp for why this goes through torch::manual_seed).
ModelPtr make_zoo_model(const std::string& architecture, const ZooOptions& options,
                        uint64_t seed = 0);

std::vector<std::string> zoo_architectures();
// One line on an architecture's layers, for the builtins' docs.
std::string zoo_layers(const std::string& architecture);

}  // namespace perturb
