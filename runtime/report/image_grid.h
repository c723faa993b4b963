// Image grids written as PNG (OpenCV): one batch, or several labelled rows of batches (an
// original row above augmented or adversarial rows). Written atomically: a reader never sees a
// half-written file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

// One row of a grid: a label drawn at its left (may be empty) and a batch [N, C, H, W] (or
// [C, H, W], one image) with C = 1 (gray) or 3 (RGB), values in [0, 1] (clamped).
struct GridRow {
  std::string label;
  torch::Tensor images;
  // Text under each image, in order (lines split at '\n'); may be shorter than the batch or
  // empty. A column widens to its widest caption; without captions the layout is unchanged.
  std::vector<std::string> captions = {};
};

struct ImageGridOptions {
  int64_t scale = 0;    // each pixel drawn as scale×scale; 0 → so the cell is at least 64 px
  int64_t padding = 2;  // pixels between cells (white)
  int64_t columns = 0;  // cells per line for save_image_grid(path, batch); 0 → about square
  std::string title;    // drawn above the grid when not empty
};

// All rows must have images of the same H×W (channel counts may differ); rows may have
// different lengths. Throws Error for an empty grid or wrong shapes, IoError when the file
// cannot be written. Images on any device; they are copied to the CPU.
void save_image_grid(const std::string& path, const std::vector<GridRow>& rows,
                     const ImageGridOptions& options = {});

// One batch laid out in lines of options.columns cells.
void save_image_grid(const std::string& path, const torch::Tensor& batch,
                     const ImageGridOptions& options = {});

// The grid as an 8-bit BGR image in PNG bytes (what save_image_grid writes).
std::vector<unsigned char> encode_image_grid(const std::vector<GridRow>& rows,
                                             const ImageGridOptions& options = {});

}  // namespace perturb
