#include "interpreter/kernel/display.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "runtime/report/image_grid.h"

namespace perturb::lang {
namespace {

constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";
constexpr size_t kPngSignatureSize = 8;
// Smaller tensors are numbers to read, not pictures to look at; larger batches a wall.
constexpr int64_t kMinImageSide = 8;
constexpr int64_t kMaxImages = 256;

bool is_png(const std::string& bytes) {
  return bytes.compare(0, kPngSignatureSize, kPngSignature, kPngSignatureSize) == 0;
}

// The batch [N, C, H, W] a value is, when it looks like images; an undefined tensor otherwise.
torch::Tensor image_batch(const Value& value) {
  if (!value.is<torch::Tensor>()) return {};
  torch::Tensor x = value.as<torch::Tensor>();
  if (!x.defined() || !x.is_floating_point()) return {};
  if (x.dim() == 3) x = x.unsqueeze(0);
  if (x.dim() != 4 || (x.size(1) != 1 && x.size(1) != 3)) return {};
  if (x.size(0) < 1 || x.size(0) > kMaxImages) return {};
  if (x.size(2) < kMinImageSide || x.size(3) < kMinImageSide) return {};
  x = x.detach().to(torch::kCPU, torch::kFloat32);
  if (x.min().item<float>() < 0 || x.max().item<float>() > 1) return {};
  return x;
}

// The batch in lines of about sqrt(N) images, as images(batch, path) lays it out.
std::vector<GridRow> square_grid(const torch::Tensor& batch) {
  const int64_t n = batch.size(0);
  int64_t columns = 1;
  while (columns * columns < n) ++columns;
  std::vector<GridRow> rows;
  for (int64_t first = 0; first < n; first += columns)
    rows.push_back({"", batch.slice(0, first, std::min(n, first + columns))});
  return rows;
}

}  // namespace

std::string base64(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
            kAlphabet[n & 63]};
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63]};
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string data = bytes.str();
  if (!is_png(data)) return std::nullopt;
  return data;
}

std::optional<nlohmann::json> png_file_bundle(const std::string& path) {
  auto png = read_png(path);
  if (!png) return std::nullopt;
  return nlohmann::json{{"image/png", base64(*png)}, {"text/plain", "<image " + path + ">"}};
}

nlohmann::json value_bundle(const Value& value) {
  nlohmann::json bundle{{"text/plain", format_value(value, true)}};
  torch::Tensor images = image_batch(value);
  if (images.defined()) {
    const std::vector<unsigned char> png = encode_image_grid(square_grid(images));
    bundle["image/png"] = base64(std::string(png.begin(), png.end()));
  }
  return bundle;
}

}  // namespace perturb::lang
