#include "runtime/eval/example_grid.h"

#include "runtime/core/error.h"
#include "runtime/report/image_grid.h"

namespace perturb {
namespace {

std::string class_name(int64_t index, const std::vector<std::string>& classes) {
  if (index >= 0 && index < static_cast<int64_t>(classes.size())) return classes[index];
  return std::to_string(index);
}

// The rows drawn: fooled samples first (the point of the picture), then the others, n at most.
torch::Tensor chosen_rows(const AdversarialExamples& examples, int64_t n) {
  const auto fooled = examples.fooled_by >= 0;
  const auto order =
      torch::cat({fooled.nonzero().reshape({-1}), (~fooled).nonzero().reshape({-1})});
  return order.slice(0, 0, std::min<int64_t>(n, order.size(0)));
}

}  // namespace

void save_example_grid(const std::string& path, const AdversarialExamples& examples,
                       const ExampleGridOptions& options) {
  if (options.n < 1)
    throw Error("the example grid needs n of at least 1, got " + std::to_string(options.n));
  if (examples.x.dim() != 4) {
    throw Error("the example grid draws images [N, C, H, W]; these inputs have " +
                std::to_string(examples.x.dim()) + " dimensions");
  }
  const auto rows = chosen_rows(examples, options.n);
  GridRow clean{"clean", examples.x.index_select(0, rows)};
  GridRow adversarial{"adversarial", examples.x_adv.index_select(0, rows)};
  for (int64_t i = 0; i < rows.size(0); ++i) {
    const int64_t row = rows[i].item<int64_t>();
    const int64_t by = examples.fooled_by[row].item<int64_t>();
    clean.captions.push_back(
        "true: " + class_name(examples.y[row].item<int64_t>(), options.classes) +
        "\nclean: " + class_name(examples.pred_clean[row].item<int64_t>(), options.classes));
    adversarial.captions.push_back(
        "adv: " + class_name(examples.pred_adv[row].item<int64_t>(), options.classes) +
        "\nby: " + (by >= 0 ? examples.attacks.at(static_cast<size_t>(by)) : "none"));
  }
  ImageGridOptions grid;
  grid.title = options.title;
  save_image_grid(path, {clean, adversarial}, grid);
}

}  // namespace perturb
