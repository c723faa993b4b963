#include "runtime/eval/alignment.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#if PERTURB_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/opencv_required.h"
#include "runtime/report/plot.h"

namespace perturb {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// Row-wise cosine of two sets of unit vectors and the L2 distance between them.
void measure(const torch::Tensor& a, const torch::Tensor& b, std::vector<double>* cosine,
             std::vector<double>* distance) {
  if (cosine) {
    auto c = to_vector((a * b).sum(1));
    cosine->insert(cosine->end(), c.begin(), c.end());
  }
  if (distance) {
    auto d = to_vector((a - b).norm(2, {1}));
    distance->insert(distance->end(), d.begin(), d.end());
  }
}

void finish(AugmentMeasures& m) {
  m.mean_alignment = mean_of(m.alignment);
  m.mean_diversity = mean_of(m.diversity);
  m.pairs = static_cast<int64_t>(m.alignment.size());
}

// The histogram of `values` over [lo, hi] in `bins` bins as a step series (fraction per bin).
PlotSeries histogram(const std::string& label, const std::vector<double>& values, double lo,
                     double hi, int bins) {
  PlotSeries s;
  s.label = label;
  s.step = true;
  std::vector<double> counts(bins, 0.0);
  const double width = (hi - lo) / bins;
  for (double v : values) {
    int b = width > 0 ? static_cast<int>((v - lo) / width) : 0;
    counts[std::clamp(b, 0, bins - 1)] += 1;
  }
  const double total = values.empty() ? 1 : static_cast<double>(values.size());
  for (int b = 0; b <= bins; ++b) {
    s.x.push_back(lo + width * b);
    s.y.push_back(counts[std::min(b, bins - 1)] / total);
  }
  return s;
}

std::pair<double, double> range_of(const std::vector<const std::vector<double>*>& sets) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (const auto* set : sets) {
    for (double v : *set) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-9) return {lo - 0.05, hi + 0.05};
  return {lo, hi};
}

}  // namespace

AlignmentReport analyse_augmentation(TwoTower& model, const PairedDataset& data,
                                     const AlignmentOptions& options) {
  if (options.batch < 1) {
    throw Error("augment_analysis: batch must be at least 1, got " + std::to_string(options.batch));
  }
  const PairedDataset pairs = augment_pairs(data, options.augment);
  const int64_t n = data.size();
  const int64_t copies = options.augment.copies;
  const bool text_on = options.augment.text != "none";
  TwoTowerModeGuard guard(model, false);

  // Every image of the augmented set once and every caption once: block b of the layout holds
  // rows [b·N, (b+1)·N) (augment_pairs.h).
  const std::vector<std::string> captions = pairs.all_captions();
  const torch::Tensor text_emb = embed_texts(model, captions, options.batch);
  const torch::Tensor image_orig = embed_images(model, data.images, options.batch);
  auto block_text = [&](int64_t b) { return text_emb.slice(0, b * n, (b + 1) * n); };

  AlignmentReport report;
  measure(image_orig, block_text(0), &report.original, nullptr);
  report.mean_original = mean_of(report.original);
  int64_t block = 1;
  if (text_on) {
    AugmentMeasures m;
    for (int64_t c = 0; c < copies; ++c, ++block) {
      measure(image_orig, block_text(block), &m.alignment, nullptr);     // sim(Φ(I), Ψ(T_aug))
      measure(block_text(0), block_text(block), nullptr, &m.diversity);  // ‖Ψ(T) − Ψ(T_aug)‖
    }
    finish(m);
    report.text = std::move(m);
    report.text_label =
        options.augment.text_name.empty() ? options.augment.text : options.augment.text_name;
  }
  if (options.augment.image) {
    AugmentMeasures m;
    for (int64_t c = 0; c < copies; ++c, ++block) {
      const torch::Tensor aug =
          embed_images(model, pairs.images.slice(0, block * n, (block + 1) * n), options.batch);
      measure(aug, block_text(block), &m.alignment, nullptr);  // sim(Φ(I_aug), Ψ(T))
      measure(image_orig, aug, nullptr, &m.diversity);         // ‖Φ(I) − Φ(I_aug)‖
    }
    finish(m);
    report.image = std::move(m);
    report.image_label = options.augment.image->describe();
  }
  return report;
}

void write_alignment_plot(const std::string& path, const AlignmentReport& report, int bins) {
  if (bins < 1) throw Error("the histogram needs at least one bin, got " + std::to_string(bins));
  std::vector<const std::vector<double>*> align_sets = {&report.original};
  std::vector<const std::vector<double>*> div_sets;
  if (report.text) {
    align_sets.push_back(&report.text->alignment);
    div_sets.push_back(&report.text->diversity);
  }
  if (report.image) {
    align_sets.push_back(&report.image->alignment);
    div_sets.push_back(&report.image->diversity);
  }
  const auto [alo, ahi] = range_of(align_sets);
  std::vector<PlotSeries> align = {histogram("original (1:1)", report.original, alo, ahi, bins)};
  if (report.text)
    align.push_back(
        histogram("text: " + report.text_label, report.text->alignment, alo, ahi, bins));
  if (report.image) {
    align.push_back(
        histogram("image: " + report.image_label, report.image->alignment, alo, ahi, bins));
  }
  const auto [dlo, dhi] = range_of(div_sets);
  // An unlabelled empty first series keeps each augmentation's colour the same in both panels.
  std::vector<PlotSeries> div = {PlotSeries{}};
  if (report.text)
    div.push_back(histogram("text: " + report.text_label, report.text->diversity, dlo, dhi, bins));
  if (report.image) {
    div.push_back(
        histogram("image: " + report.image_label, report.image->diversity, dlo, dhi, bins));
  }

  PlotOptions a;
  a.title = "Alignment of augmented pairs (Fig. 1)";
  a.x_label = "cosine similarity of image and text embeddings";
  a.y_label = "fraction of pairs";
  a.y_min = 0;
  PlotOptions d = a;
  d.title = "Diversity of augmentation (Fig. 2)";
  d.x_label = "L2 distance of embeddings before/after";

#if !PERTURB_HAVE_OPENCV
  throw_without_opencv("writing the alignment plot " + path);
#else
  // Two panels drawn by write_line_plot into temporary files, then joined side by side.
  namespace fs = std::filesystem;
  const std::string stem =
      (fs::temp_directory_path() / ("perturb-align-" + std::to_string(::getpid()))).string();
  const std::string left = stem + "-a.png", right = stem + "-d.png";
  cv::Mat joined;
  try {
    write_line_plot(left, align, a);
    cv::Mat l = cv::imread(left, cv::IMREAD_COLOR);
    if (div.size() > 1) {
      write_line_plot(right, div, d);
      cv::Mat r = cv::imread(right, cv::IMREAD_COLOR);
      cv::hconcat(l, r, joined);
    } else {
      joined = l;
    }
  } catch (...) {
    std::error_code ec;
    fs::remove(left, ec);
    fs::remove(right, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(left, ec);
  fs::remove(right, ec);
  std::vector<uchar> png;
  if (joined.empty() || !cv::imencode(".png", joined, png)) {
    throw IoError("cannot encode the alignment plot for '" + path + "'");
  }
  write_file_atomic(path, std::string(png.begin(), png.end()));
#endif
}

}  // namespace perturb
