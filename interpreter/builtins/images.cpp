// images(...): a PNG grid of image tensors, for lessons and reports — the clean images above
// their adversarial versions, a perturbation made visible, a batch at a glance.
// The drawing is runtime/report/image_grid.h (OpenCV), written atomically.

#include <string>
#include <vector>

#include "interpreter/builtins/table.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "runtime/report/image_grid.h"

namespace perturb::lang {
namespace {

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// One batch [N, C, H, W] (a single image [C, H, W] becomes a batch of one) with C = 1 or 3.
torch::Tensor image_batch(const Value& value, CallArgs& args, const std::string& what) {
  if (!value.is<torch::Tensor>())
    args.fail_at("rows", "images draws tensors of images, got " + kind_with_article(value.kind()) +
                             " " + what);
  torch::Tensor x = value.as<torch::Tensor>().detach();
  if (x.dim() == 3) x = x.unsqueeze(0);
  if (x.dim() != 4 || (x.size(1) != 1 && x.size(1) != 3))
    args.fail_at("rows",
                 "images needs images [N, C, H, W] with C = 1 (gray) or 3 (colour), got "
                 "shape " +
                     shape_text(x) + " " + what);
  if (x.size(0) == 0) args.fail_at("rows", "images got no images " + what);
  return x.to(torch::kFloat32);
}

Value draw_images(CallArgs& args) {
  const Value& rows_value = args.get("rows");
  std::vector<std::string> labels;
  if (args.has("labels")) {
    for (const Value& v : *args.get("labels").as<ListPtr>()) {
      if (!v.is<std::string>())
        args.fail_at("labels", "labels must be a list of strings, got " +
                                   kind_with_article(v.kind()) + " in it");
      labels.push_back(v.as<std::string>());
    }
  }
  ImageGridOptions options;
  if (args.has("title")) options.title = args.string("title");
  const std::string& path = args.string("path");
  if (rows_value.is<torch::Tensor>()) {
    if (!labels.empty())
      args.fail_at("labels",
                   "labels name the rows of a list of tensors; one tensor is drawn as one "
                   "grid without labels");
    save_image_grid(path, image_batch(rows_value, args, ""), options);
    args.interp.image_written(path);
    return Value();
  }
  if (!rows_value.is<ListPtr>())
    args.fail_at("rows", "images draws a tensor of images or a list of them (one row each), got " +
                             kind_with_article(rows_value.kind()));
  const auto& list = *rows_value.as<ListPtr>();
  if (list.empty()) args.fail_at("rows", "images got an empty list of rows");
  if (!labels.empty() && labels.size() != list.size())
    args.fail_at("labels", "images got " + std::to_string(labels.size()) + " labels for " +
                               std::to_string(list.size()) + " rows");
  std::vector<GridRow> grid;
  for (size_t i = 0; i < list.size(); ++i) {
    torch::Tensor x = image_batch(list[i], args, "in row " + std::to_string(i + 1));
    if (!grid.empty() &&
        (x.size(2) != grid[0].images.size(2) || x.size(3) != grid[0].images.size(3)))
      args.fail_at("rows", "the rows of images must have images of one size: row 1 has " +
                               shape_text(grid[0].images) + ", row " + std::to_string(i + 1) +
                               " has " + shape_text(x));
    grid.push_back({labels.empty() ? "" : labels[i], x});
  }
  save_image_grid(path, grid, options);
  args.interp.image_written(path);
  return Value();
}

}  // namespace

void register_image_builtins(BuiltinTable& t) {
  t.add({"images", "reports",
         Signature{{required("rows", Kind::kTensor | Kind::kList),
                    required("path", bits(Kind::kString)),
                    optional("labels", Kind::kList | Kind::kNone, Value()),
                    optional("title", Kind::kString | Kind::kNone, Value())}}
             .returning(bits(Kind::kNone)),
         "Writes a PNG grid of images with values in [0, 1]: one tensor [N, C, H, W] laid out "
         "about square, or a list of tensors drawn one row each (labels: names the rows).",
         "images([x, x_adv, 0.5 + 5 * (x_adv - x)], \"runs/fgsm.png\", labels: [\"clean\", "
         "\"adversarial\", \"difference x5\"])",
         draw_images});
}

}  // namespace perturb::lang
