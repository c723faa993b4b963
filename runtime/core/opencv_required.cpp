// The message alone: this file uses no OpenCV.
#define PERTURB_OPENCV_REQUIRED_SOURCE
#include "runtime/core/opencv_required.h"

#include "runtime/core/error.h"

namespace perturb {

void throw_without_opencv(const std::string& feature) {
  throw Error("this build has no OpenCV: " + feature +
              " needs it (install libopencv-dev, as scripts/setup.sh does, and rebuild)");
}

}  // namespace perturb
