// Builds without OpenCV (PERTURB_OPENCV=OFF in CMake, as the GPU kit of scripts/gpu/ builds where
// Debian's OpenCV cannot travel): the features that decode or encode image files say so instead
// of failing to link. PERTURB_HAVE_OPENCV is 1 or 0, defined for the files runtime/CMakeLists.txt
// lists as OpenCV's users.
#pragma once

#if !defined(PERTURB_HAVE_OPENCV) && !defined(PERTURB_OPENCV_REQUIRED_SOURCE)
#error "a file that uses OpenCV must be listed in opencv_users (runtime/CMakeLists.txt)"
#endif

#include <string>

namespace perturb {

// Throws Error: "this build has no OpenCV: <feature> needs it ...".
[[noreturn]] void throw_without_opencv(const std::string& feature);

}  // namespace perturb
