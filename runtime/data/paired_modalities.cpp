// The visible–infrared benchmark layouts and the Fashion-MNIST stand-in (paired_modalities.h).
#include "runtime/data/paired_modalities.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/image_folder.h"

namespace perturb {
namespace fs = std::filesystem;
namespace {

// "3×28×28" (runtime/report's format_shape is not visible from data/).
std::string shape_text(const std::vector<int64_t>& sizes) {
  std::string text;
  for (int64_t size : sizes) text += (text.empty() ? "" : "×") + std::to_string(size);
  return text;
}

// The camera folders of one modality, in the order their images are taken.
struct Layout {
  std::string kind;  // "regdb" or "sysu"
  std::vector<fs::path> visible;
  std::vector<fs::path> infrared;
};

fs::path first_existing(const fs::path& root, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (fs::is_directory(root / name)) return root / name;
  }
  return {};
}

Layout find_layout(const fs::path& root) {
  if (!fs::is_directory(root)) {
    throw IoError("paired_modalities: '" + root.string() + "' is not a folder");
  }
  Layout layout;
  const fs::path visible = first_existing(root, {"Visible", "visible"});
  const fs::path infrared = first_existing(root, {"Thermal", "thermal", "Infrared", "infrared"});
  if (!visible.empty() || !infrared.empty()) {
    if (visible.empty() || infrared.empty()) {
      throw IoError("paired_modalities: '" + root.string() + "' has a " +
                    (visible.empty() ? "thermal/infrared folder but no Visible"
                                     : "Visible folder but no Thermal or Infrared") +
                    " folder; the RegDB layout needs both");
    }
    layout.kind = "regdb";
    layout.visible = {visible};
    layout.infrared = {infrared};
    return layout;
  }
  // SYSU-MM01: cameras 3 and 6 are the infrared ones (Wu et al. 2017, table 1).
  for (int cam = 1; cam <= 6; ++cam) {
    const fs::path dir = root / ("cam" + std::to_string(cam));
    if (!fs::is_directory(dir)) continue;
    (cam == 3 || cam == 6 ? layout.infrared : layout.visible).push_back(dir);
  }
  if (layout.visible.empty() && layout.infrared.empty()) {
    throw IoError("paired_modalities: '" + root.string() +
                  "' has no modality folders; expected Visible/ and Thermal/ (RegDB) or "
                  "cam1/ … cam6/ (SYSU-MM01)");
  }
  if (layout.visible.empty() || layout.infrared.empty()) {
    throw IoError("paired_modalities: '" + root.string() + "' has only " +
                  (layout.visible.empty() ? "infrared cameras (cam3, cam6)"
                                          : "visible cameras (cam1, cam2, cam4, cam5)") +
                  "; SYSU-MM01 needs both");
  }
  layout.kind = "sysu";
  return layout;
}

std::set<std::string> identities_in(const std::vector<Dataset>& folders) {
  std::set<std::string> names;
  for (const auto& folder : folders) names.insert(folder.classes.begin(), folder.classes.end());
  return names;
}

// One modality's folders decoded, relabelled to `common`'s order and restricted to it.
Dataset gather(const std::vector<Dataset>& folders, const std::vector<std::string>& common,
               int64_t limit, const std::string& name) {
  std::map<std::string, int64_t> label_of;
  for (size_t i = 0; i < common.size(); ++i) label_of[common[i]] = static_cast<int64_t>(i);
  std::vector<torch::Tensor> xs, ys;
  int64_t taken = 0;
  for (const auto& folder : folders) {
    if (limit >= 0 && taken >= limit) break;
    // The folder's own labels → the shared ones (−1: left out).
    std::vector<int64_t> map;
    for (const auto& cls : folder.classes) {
      auto it = label_of.find(cls);
      map.push_back(it == label_of.end() ? -1 : it->second);
    }
    const auto shared = torch::tensor(map, torch::kInt64);
    auto keep = torch::nonzero(shared.index_select(0, folder.y) >= 0).flatten();
    if (limit >= 0) keep = keep.slice(0, 0, limit - taken);
    Dataset part = folder.select(keep).in_memory();
    xs.push_back(part.x);
    ys.push_back(shared.index_select(0, part.y.cpu()));
    taken += part.y.size(0);
  }
  Dataset out;
  out.x = torch::cat(xs);
  out.y = torch::cat(ys);
  out.name = name;
  out.classes = common;
  return out;
}

}  // namespace

std::string PairedModalities::describe() const {
  return name + ": visible " + std::to_string(visible.size()) + ", infrared " +
         std::to_string(infrared.size()) + " images " + shape_text(visible.input_shape()) + ", " +
         std::to_string(identities()) + " identities";
}

torch::Tensor to_grayscale3(const torch::Tensor& rgb) {
  if (rgb.dim() != 4 || rgb.size(1) != 3) {
    throw Error("grayscale conversion needs RGB images N×3×H×W, got " +
                shape_text(rgb.sizes().vec()));
  }
  // ITU-R BT.601 luma (CMPS eq. 2), replicated to three channels (eq. 3).
  const auto weights = torch::tensor({0.299, 0.587, 0.114}, rgb.options()).view({1, 3, 1, 1});
  return (rgb * weights).sum(1, /*keepdim=*/true).expand_as(rgb).contiguous();
}

PairedModalities paired_modalities(const std::string& root,
                                   const PairedModalitiesOptions& options) {
  const Layout layout = find_layout(root);
  ImageFolderOptions folder_options;
  folder_options.size = options.size;
  folder_options.channels = 3;  // infrared files are grey; decoded as RGB they are replicated
  std::vector<Dataset> visible, infrared;
  for (const auto& dir : layout.visible)
    visible.push_back(image_folder(dir.string(), folder_options));
  for (const auto& dir : layout.infrared) {
    infrared.push_back(image_folder(dir.string(), folder_options));
  }
  const auto in_visible = identities_in(visible);
  const auto in_infrared = identities_in(infrared);
  std::vector<std::string> common, only;
  std::set_intersection(in_visible.begin(), in_visible.end(), in_infrared.begin(),
                        in_infrared.end(), std::back_inserter(common));
  std::set_symmetric_difference(in_visible.begin(), in_visible.end(), in_infrared.begin(),
                                in_infrared.end(), std::back_inserter(only));
  if (common.empty()) {
    throw Error("paired_modalities: '" + root +
                "' has no identity in both modalities (the identity folders' names must match)");
  }
  if (!only.empty()) {
    spdlog::warn(
        "paired_modalities: {} identities are in one modality only and are left out (first: "
        "'{}')",
        only.size(), only.front());
  }
  PairedModalities data;
  data.name = layout.kind + "('" + root + "')";
  data.visible = gather(visible, common, options.limit, data.name + " visible");
  data.infrared = gather(infrared, common, options.limit, data.name + " infrared");
  return data;
}

namespace {

// A 5×5 Gaussian kernel (σ = 1) for a depthwise blur of [N, 1, H, W].
torch::Tensor gaussian_blur(const torch::Tensor& x) {
  auto r = torch::arange(-2, 3, torch::kFloat32);
  auto g = torch::exp(-(r * r) / 2.0);
  g = g / g.sum();
  const auto kernel = (g.view({5, 1}) * g.view({1, 5})).view({1, 1, 5, 5});
  return torch::nn::functional::conv2d(
      torch::nn::functional::pad(
          x, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate)),
      kernel);
}

// Colours from hues: the HSV → RGB mapping at value 1, for hue h ∈ [0, 1) [N] and saturation s.
torch::Tensor hue_colours(const torch::Tensor& h, const torch::Tensor& s) {
  std::vector<torch::Tensor> channels;
  for (double offset : {0.0, 2.0 / 3.0, 1.0 / 3.0}) {
    // Each channel is a triangle wave of the hue, clipped (the usual hexcone).
    auto k = torch::remainder(h + offset, 1.0) * 6.0;
    auto c = (torch::abs(k - 3.0) - 1.0).clamp(0, 1);
    channels.push_back(1.0 - s * (1.0 - c));
  }
  return torch::stack(channels, 1);  // [N, 3]
}

}  // namespace

PairedModalities fashion_modalities(const std::string& split, int64_t limit, uint64_t seed,
                                    const std::string& dir) {
  const Dataset items = fashion_mnist(split, limit, dir);
  at::Generator gen = make_generator(seed);
  const int64_t n = items.size();
  // Each class's items split by a seeded permutation: even positions visible, odd infrared.
  const auto order = torch::randperm(n, gen, torch::kInt64);
  const auto shuffled_y = items.y.index_select(0, order);
  std::vector<int64_t> visible_idx, infrared_idx;
  std::map<int64_t, int64_t> seen;
  auto acc_y = shuffled_y.accessor<int64_t, 1>();
  auto acc_o = order.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    (seen[acc_y[i]]++ % 2 == 0 ? visible_idx : infrared_idx).push_back(acc_o[i]);
  }
  std::sort(visible_idx.begin(), visible_idx.end());
  std::sort(infrared_idx.begin(), infrared_idx.end());
  const auto vis_rows = torch::tensor(visible_idx, torch::kInt64);
  const auto ir_rows = torch::tensor(infrared_idx, torch::kInt64);

  // Visible: garment g ∈ [0, 1] coloured fg, background bg: x = g·fg + (1 − g)·bg.
  const auto g_vis = items.x.index_select(0, vis_rows).to(torch::kFloat32);  // [Nv, 1, H, W]
  const int64_t nv = g_vis.size(0);
  const auto fg = hue_colours(torch::rand({nv}, gen), 0.5 + 0.5 * torch::rand({nv}, gen)) *
                  (0.6 + 0.4 * torch::rand({nv, 1}, gen));
  const auto bg = hue_colours(torch::rand({nv}, gen), 0.4 * torch::rand({nv}, gen)) *
                  (0.15 + 0.5 * torch::rand({nv, 1}, gen));
  const auto visible =
      (g_vis * fg.view({nv, 3, 1, 1}) + (1 - g_vis) * bg.view({nv, 3, 1, 1})).clamp(0, 1);

  // Infrared: a warm body, a cool graded background, blurred optics and sensor noise.
  const auto g_ir = items.x.index_select(0, ir_rows).to(torch::kFloat32);
  const int64_t ni = g_ir.size(0);
  const int64_t h = g_ir.size(2);
  const auto warmth = 0.55 + 0.35 * torch::rand({ni, 1, 1, 1}, gen);
  const auto ground = 0.05 + 0.15 * torch::rand({ni, 1, 1, 1}, gen);
  const auto gradient = torch::linspace(0, 0.15, h).view({1, 1, h, 1});
  auto thermal = warmth * g_ir.clamp_min(0).pow(0.6) + (1 - g_ir) * (ground + gradient);
  thermal = gaussian_blur(thermal) + 0.03 * torch::randn(thermal.sizes(), gen);
  const auto infrared = thermal.clamp(0, 1).expand({ni, 3, h, g_ir.size(3)}).contiguous();

  std::vector<std::string> classes;
  for (const char* name : {"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                           "sneaker", "bag", "ankle-boot"}) {
    classes.push_back(name);
  }
  PairedModalities data;
  data.name = "fashion_modalities(" + split + ")";
  data.visible.x = visible;
  data.visible.y = items.y.index_select(0, vis_rows);
  data.visible.name = data.name + " visible";
  data.visible.classes = classes;
  data.infrared.x = infrared;
  data.infrared.y = items.y.index_select(0, ir_rows);
  data.infrared.name = data.name + " infrared";
  data.infrared.classes = classes;
  return data;
}

}  // namespace perturb
