// Image folders in torchvision's ImageFolder layout (root/<class>/**/<image>), streamed: the
// listing is read once, and images are decoded with OpenCV per batch on worker threads.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/data/dataset.h"

namespace perturb {

struct ImageFolderOptions {
  // Side of the square inputs: the shorter side is resized to `resize` (default: size), then the
  // centre size×size is cropped (torchvision's Resize(resize) + CenterCrop(size)). 0 keeps the
  // images' own size, which must then be the same for all.
  int64_t size = 0;
  int64_t resize = 0;
  int64_t channels = 3;  // 3: RGB; 1: grey
  // Unreadable images: an IoError naming the file (false), or left out of their batch with a
  // warning that counts them (true).
  bool skip_unreadable = false;
  int workers = 2;     // decoding threads
  int prefetch = 2;    // batches each worker keeps ready
  int64_t limit = -1;  // the first n images in the folder's order; < 0: all
};

// Classes are the sorted sub-folder names (label i = the i-th; Dataset::classes); images are the
// files below each with a JPEG, PNG, BMP, WebP, TIFF or PPM/PGM extension (any case), sorted by
// path. Errors name the folder: missing, no class folders, a class without images, bad options.
Dataset image_folder(const std::string& dir, const ImageFolderOptions& options = {});

}  // namespace perturb
