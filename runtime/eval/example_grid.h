// The adversarial examples of evaluate(..., keep = true) drawn for people: a PNG with a clean
// row above an adversarial row, one column per sample, each image captioned with its label and
// the model's classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/eval/examples.h"

namespace perturb {

struct ExampleGridOptions {
  int64_t n = 8;                     // columns: samples drawn
  std::vector<std::string> classes;  // class names by index; numbers when empty or too short
  std::string title;                 // drawn above the grid when not empty
};

// The first n samples some attack fooled, in data order, then (if fewer were fooled) the first
// unfooled ones. The clean cell says "true: <y>" and "clean: <pred_clean>", the adversarial cell
// "adv: <pred_adv>" and "by: <attack>" ("by: none" when nothing fooled it: x_adv is then x).
// Throws Error for n < 1 or inputs that are not images [N, C, H, W] with C = 1 or 3; IoError when
// the file cannot be written.
void save_example_grid(const std::string& path, const AdversarialExamples& examples,
                       const ExampleGridOptions& options = {});

}  // namespace perturb
