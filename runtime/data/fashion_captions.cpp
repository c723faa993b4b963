// fashion_captions: Fashion-MNIST images with captions generated from what is measurably in each
// image. Five properties are measured in one pass over each image's pixels (ink = pixels
// above kInk): brightness (mean intensity of the ink), coverage (fraction of ink pixels), the
// garment's bounding-box width and height, and left-right symmetry. Each is cut into low / middle
// / high at the terciles of the full training split (constants below, measured once with the
// command in docs/multimodal.md), and the low and high levels become words. Captions combine a
// class name variant, a random subset of those words (each through a synonym) and one of
// kTemplates.size() templates; every image gets `per_image` different captions.
#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <unordered_set>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/dataset.h"
#include "runtime/data/fashion_captions.h"
#include "runtime/data/pairs.h"

namespace perturb {
namespace {

constexpr float kInk = 0.1F;  // a pixel is ink above this intensity

// Terciles over the 60000 training images (scripts in docs/multimodal.md, "Data and text").
struct Cut {
  float low;   // value <= low → low level
  float high;  // value >= high → high level
};
constexpr Cut kBrightnessCut = {0.563F, 0.719F};
constexpr Cut kCoverageCut = {0.365F, 0.542F};
constexpr Cut kWidthCut = {20.0F, 27.0F};   // pixels (28 = the full image)
constexpr Cut kHeightCut = {25.0F, 28.0F};  // most garments fill the height: short is ≤ 25
constexpr Cut kSymmetryCut = {0.708F, 0.877F};

struct Variant {
  const char* name;
  bool plural;
};

// Class names and variants (WordNet lemmas or synonyms of them).
const std::array<std::vector<Variant>, 10> kClassNames = {{
    {{"t-shirt", false}, {"tee", false}, {"top", false}, {"jersey", false}},
    {{"trousers", true}, {"pants", true}, {"slacks", true}},
    {{"pullover", false}, {"sweater", false}, {"jumper", false}},
    {{"dress", false}, {"frock", false}, {"gown", false}},
    {{"coat", false}, {"overcoat", false}, {"jacket", false}},
    {{"sandal", false}, {"sandals", true}, {"flip-flop", false}},
    {{"shirt", false}, {"blouse", false}, {"dress shirt", false}},
    {{"sneaker", false}, {"trainer", false}, {"running shoe", false}, {"gym shoe", false}},
    {{"bag", false}, {"handbag", false}, {"purse", false}, {"tote", false}},
    {{"ankle boot", false}, {"boot", false}, {"bootee", false}},
}};

// Words for the low and high level of each property (index: property).
struct PropertyWords {
  std::vector<const char*> low;
  std::vector<const char*> high;
};
const std::array<PropertyWords, 5> kPropertyWords = {{
    {{"dark", "dim", "shadowy"}, {"light", "pale", "bright"}},                  // brightness
    {{"small", "sparse", "slight"}, {"bulky", "large", "heavy"}},               // coverage
    {{"narrow", "slender", "skinny"}, {"wide", "broad", "wide-cut"}},           // width
    {{"short", "low", "squat"}, {"tall", "long", "lengthy"}},                   // height
    {{"lopsided", "asymmetric", "uneven"}, {"symmetric", "balanced", "even"}},  // symmetry
}};

// {np}: article, adjectives and class ("a dark wide coat"); {cls}: the class alone; {pred}:
// "dark and wide"; {list}: "dark, wide"; {this}/{is}: "this"/"is" or "these"/"are".
// Templates with {pred} or {list} need at least one adjective.
const std::vector<const char*> kTemplates = {
    "{np}",
    "a photo of {np}",
    "{np} on a black background",
    "{this} {cls} {is} {pred}",
    "{np_bare} that looks {pred}",
    "a picture of {np_bare}, {list}",
    "{adjs} {cls}",
    "{cls}: {list}",
    "a monochrome image of {np}",
    "the {cls} shown here {is} {pred}",
    "product shot of {np}",
    "there is {np} in the picture",
    "a catalogue image of {np}",
    "{np_bare}, which {is} {pred}",
};

bool needs_adjectives(const std::string& t) {
  return t.find("{pred}") != std::string::npos || t.find("{list}") != std::string::npos;
}

bool starts_with_vowel(const std::string& s) {
  return !s.empty() && std::string("aeiou").find(s[0]) != std::string::npos;
}

// A noun phrase with its article: "a dark coat", "an even top", "a pair of pale trousers".
std::string noun_phrase(const std::string& adjectives, const Variant& v) {
  const std::string body = adjectives.empty() ? v.name : adjectives + " " + v.name;
  if (v.plural) return "a pair of " + body;
  return (starts_with_vowel(body) ? "an " : "a ") + body;
}

std::string join(const std::vector<std::string>& words, const std::string& sep,
                 const std::string& last_sep) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? last_sep : sep;
    out += words[i];
  }
  return out;
}

void replace_all(std::string& s, const std::string& key, const std::string& value) {
  for (size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + value.size())) {
    s.replace(at, key.size(), value);
  }
}

// splitmix64: independent streams per image, so an image's captions do not depend on `limit`.
uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// level per property and image: -1 low, 0 middle, +1 high.
torch::Tensor levels(const torch::Tensor& value, Cut cut) {
  return (value >= cut.high).to(torch::kInt8) - (value <= cut.low).to(torch::kInt8);
}

}  // namespace

torch::Tensor fashion_caption_features(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  torch::Tensor cpu = images.to(torch::kCPU, torch::kFloat32);
  torch::Tensor x = (cpu.size(1) == 1 ? cpu.select(1, 0) : cpu.mean(1)).contiguous();  // N×H×W
  const int64_t n = x.size(0);
  const int64_t h = x.size(1);
  const int64_t w = x.size(2);
  torch::Tensor out = torch::zeros({n, 5}, torch::kFloat32);
  const float* px = x.data_ptr<float>();
  float* f = out.data_ptr<float>();
  // One pass over each image's pixels (a tensor-op version took ~1 s for the 60000 training
  // images, this ~0.1 s); images split across threads.
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* img = px + i * h * w;
      double count = 0;
      double ink_sum = 0;
      double total = 0;
      double mirror_difference = 0;
      int64_t top = h, bottom = -1, left = w, right = -1;
      for (int64_t r = 0; r < h; ++r) {
        const float* row = img + r * w;
        for (int64_t c = 0; c < w; ++c) {
          const float v = row[c];
          total += v;
          mirror_difference += std::abs(v - row[w - 1 - c]);
          if (v > kInk) {
            count += 1;
            ink_sum += v;
            top = std::min(top, r);
            bottom = std::max(bottom, r);
            left = std::min(left, c);
            right = std::max(right, c);
          }
        }
      }
      float* fi = f + i * 5;
      fi[0] = static_cast<float>(ink_sum / std::max(count, 1.0));
      fi[1] = static_cast<float>(count / static_cast<double>(h * w));
      fi[2] = right < 0 ? 0.0F : static_cast<float>(right - left + 1);
      fi[3] = bottom < 0 ? 0.0F : static_cast<float>(bottom - top + 1);
      // 1 − Σ|x − mirror(x)| / Σ(x + mirror(x)); Σ(x + mirror(x)) = 2 Σx.
      fi[4] = static_cast<float>(1.0 - mirror_difference / std::max(2.0 * total, 1e-6));
    }
  });
  return out;
}

PairedDataset fashion_captions(const std::string& split, int64_t per_image, int64_t limit,
                               uint64_t seed) {
  if (per_image < 1) {
    throw Error("fashion_captions needs per_image >= 1, got " + std::to_string(per_image));
  }
  if (per_image > 50) {
    throw Error("fashion_captions makes at most 50 different captions per image, got per_image " +
                std::to_string(per_image));
  }
  if (split != "train" && split != "test") {
    throw Error("fashion_captions has no split '" + split +
                "'; the splits are \"train\", \"test\"");
  }
  Dataset base = fashion_mnist(split, limit);
  const int64_t n = base.size();
  torch::Tensor features = fashion_caption_features(base.x);
  const std::array<Cut, 5> cuts = {kBrightnessCut, kCoverageCut, kWidthCut, kHeightCut,
                                   kSymmetryCut};
  std::vector<torch::Tensor> columns;
  for (size_t p = 0; p < cuts.size(); ++p)
    columns.push_back(levels(features.select(1, p), cuts[p]));
  torch::Tensor level = torch::stack(columns, 1).contiguous();  // N×5 int8
  const auto* lv = level.data_ptr<int8_t>();
  torch::Tensor labels = base.y.to(torch::kInt64).contiguous();
  const auto* label = labels.data_ptr<int64_t>();
  auto gen = make_generator(seed);
  const uint64_t stream = next_seed(gen);

  PairedDataset out;
  out.images = base.x;
  out.labels = base.y;
  out.name = "fashion_captions(" + split + ")";
  out.captions.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    std::mt19937_64 rng(mix(stream ^ mix(static_cast<uint64_t>(i))));
    auto pick = [&rng](size_t count) { return static_cast<size_t>(rng() % count); };
    std::vector<size_t> informative;
    for (size_t p = 0; p < 5; ++p) {
      if (lv[i * 5 + p] != 0) informative.push_back(p);
    }
    const auto& names = kClassNames.at(static_cast<size_t>(label[i]));
    std::unordered_set<std::string> seen;
    auto& captions = out.captions[i];
    for (int attempt = 0; static_cast<int64_t>(captions.size()) < per_image; ++attempt) {
      const Variant& variant = names[pick(names.size())];
      // A random subset of 1..3 of the informative properties, in random order.
      std::vector<size_t> chosen = informative;
      for (size_t k = chosen.size(); k > 1; --k) std::swap(chosen[k - 1], chosen[pick(k)]);
      const size_t most = std::min<size_t>(3, chosen.size());
      chosen.resize(most == 0 ? 0 : 1 + pick(most));
      std::vector<std::string> adjectives;
      for (size_t p : chosen) {
        const auto& words = lv[i * 5 + p] < 0 ? kPropertyWords[p].low : kPropertyWords[p].high;
        adjectives.emplace_back(words[pick(words.size())]);
      }
      std::string text = kTemplates[pick(kTemplates.size())];
      if (adjectives.empty() && needs_adjectives(text)) text = kTemplates[pick(3)];
      const std::string adjs = join(adjectives, " ", " ");
      replace_all(text, "{np_bare}", noun_phrase("", variant));
      replace_all(text, "{np}", noun_phrase(adjs, variant));
      replace_all(text, "{adjs}", adjs);
      replace_all(text, "{cls}", variant.name);
      replace_all(text, "{pred}", join(adjectives, ", ", " and "));
      replace_all(text, "{list}", join(adjectives, ", ", ", "));
      replace_all(text, "{this}", variant.plural ? "these" : "this");
      replace_all(text, "{is}", variant.plural ? "are" : "is");
      if (text.front() == ' ') text.erase(0, 1);
      if (attempt >= 200) text += " (" + std::to_string(captions.size() + 1) + ")";
      if (seen.insert(text).second) captions.push_back(std::move(text));
    }
  }
  return out;
}

}  // namespace perturb
