// load_pairs: captioned images from a folder and a captions file (Karpathy JSON, COCO captions
// JSON, CSV/TSV with a header, Flickr30k's "image| comment_number| comment"), images read with
// OpenCV.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#if PERTURB_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "runtime/core/error.h"
#include "runtime/core/opencv_required.h"
#include "runtime/data/json_read.h"
#include "runtime/data/pairs.h"

namespace perturb {
namespace {

namespace fs = std::filesystem;

// One image of the captions file: its path relative to the folder, its captions, and where
// it was named (for errors).
struct Entry {
  std::string file;
  std::vector<std::string> captions;
  std::string where;  // "captions.csv:4" or "captions.json"
};

class Entries {
 public:
  // Adds a caption to `file`, creating the entry in first-appearance order.
  void add(const std::string& file, std::string caption, const std::string& where) {
    auto it = index_.find(file);
    if (it == index_.end()) {
      it = index_.emplace(file, list_.size()).first;
      list_.push_back({file, {}, where});
    }
    list_[it->second].captions.push_back(std::move(caption));
  }
  std::vector<Entry>& list() { return list_; }

 private:
  std::vector<Entry> list_;
  std::unordered_map<std::string, size_t> index_;
};

std::string trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read the captions file " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // UTF-8 byte order mark
  return text;
}

// --- JSON -------------------------------------------------------------------------------------

// The member `key` of an object, or nullptr (also when `object` is not an object).
const Json* find(const Json& object, const std::string& key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const Json& member(const Json& object, const std::string& key, const std::string& what,
                   const std::string& source) {
  const Json* v = find(object, key);
  if (!v) throw Error(source + ": " + what + " has no \"" + key + "\"");
  return *v;
}

std::string string_member(const Json& object, const std::string& key, const std::string& what,
                          const std::string& source) {
  const Json& v = member(object, key, what, source);
  if (!v.is_string()) throw Error(source + ": \"" + key + "\" of " + what + " is not a string");
  return v.get<std::string>();
}

// An id as a string key: COCO ids are numbers (sometimes strings).
std::string id_text(const Json& v, const std::string& what, const std::string& source) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  throw Error(source + ": the id of " + what + " is neither a number nor a string");
}

void read_karpathy(const Json& root, const std::string& source, const std::string& dir,
                   const std::string& split, Entries& out) {
  const Json& images = member(root, "images", "the file", source);
  if (!images.is_array()) throw Error(source + ": \"images\" is not a list");
  for (size_t i = 0; i < images.size(); ++i) {
    const Json& image = images[i];
    const std::string what = "image " + std::to_string(i);
    if (!split.empty()) {
      const Json* s = find(image, "split");
      if (!s || !s->is_string() || s->get<std::string>() != split) continue;
    }
    std::string file = string_member(image, "filename", what, source);
    if (const Json* path = find(image, "filepath"); path && path->is_string()) {
      // COCO's Karpathy file: images under <dir>/<filepath>/<filename> when that exists.
      const std::string nested = path->get<std::string>() + "/" + file;
      if (fs::exists(fs::path(dir) / nested)) file = nested;
    }
    const Json& sentences = member(image, "sentences", what + " (" + file + ")", source);
    if (!sentences.is_array())
      throw Error(source + ": \"sentences\" of " + file + " is not a list");
    for (const auto& sentence : sentences) {
      std::string raw;
      if (sentence.is_string()) {
        raw = sentence.get<std::string>();
      } else {
        raw = string_member(sentence, "raw", "a sentence of " + file, source);
      }
      out.add(file, trim(raw), source);
    }
  }
}

void read_coco(const Json& root, const std::string& source, Entries& out) {
  const Json& images = member(root, "images", "the file", source);
  const Json& annotations = member(root, "annotations", "the file", source);
  if (!images.is_array() || !annotations.is_array()) {
    throw Error(source + ": \"images\" and \"annotations\" must be lists");
  }
  std::unordered_map<std::string, std::string> file_of;
  std::vector<std::string> order;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string what = "image " + std::to_string(i);
    const std::string id = id_text(member(images[i], "id", what, source), what, source);
    file_of[id] = string_member(images[i], "file_name", what, source);
    order.push_back(id);
  }
  std::unordered_map<std::string, std::vector<std::string>> captions;
  for (size_t i = 0; i < annotations.size(); ++i) {
    const std::string what = "annotation " + std::to_string(i);
    const std::string id = id_text(member(annotations[i], "image_id", what, source), what, source);
    if (!file_of.count(id)) {
      throw Error(source + ": " + what + " names image_id " + id + ", which is not in \"images\"");
    }
    captions[id].push_back(trim(string_member(annotations[i], "caption", what, source)));
  }
  for (const auto& id : order) {  // images without captions (test splits) are left out
    for (auto& caption : captions[id]) out.add(file_of[id], std::move(caption), source);
  }
}

// --- CSV / TSV / Flickr30k ---------------------------------------------------------------------

// One record of RFC 4180 CSV starting at `pos` (quoted fields may span lines); advances `pos`
// and `line`.
std::vector<std::string> csv_record(const std::string& text, size_t& pos, size_t& line, char sep,
                                    const std::string& source) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  const size_t start_line = line;
  while (pos < text.size()) {
    const char c = text[pos];
    if (quoted) {
      if (c == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          field += '"';
          pos += 2;
          continue;
        }
        quoted = false;
        ++pos;
        continue;
      }
      if (c == '\n') ++line;
      field += c;
      ++pos;
      continue;
    }
    if (c == '"' && trim(field).empty()) {
      quoted = true;
      field.clear();
      ++pos;
      continue;
    }
    if (c == sep) {
      fields.push_back(field);
      field.clear();
      ++pos;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
      ++pos;
      ++line;
      fields.push_back(field);
      return fields;
    }
    field += c;
    ++pos;
  }
  if (quoted) {
    throw Error(source + ":" + std::to_string(start_line) + ": a quoted field is not closed");
  }
  fields.push_back(field);
  ++line;
  return fields;
}

void read_table(const std::string& text, const std::string& source, Entries& out) {
  size_t pos = 0;
  size_t line = 1;
  // The header decides the layout.
  size_t header_end = text.find('\n');
  const std::string first =
      text.substr(0, header_end == std::string::npos ? text.size() : header_end);
  const bool flickr = first.find('|') != std::string::npos;
  const char sep = flickr ? '|'
                   : (first.find('\t') != std::string::npos && first.find(',') == std::string::npos)
                       ? '\t'
                       : ',';
  std::vector<std::string> header = csv_record(text, pos, line, sep, source);
  for (auto& h : header) h = lower(trim(h));
  auto column = [&](std::initializer_list<const char*> names) -> int {
    for (const char* name : names) {
      auto it = std::find(header.begin(), header.end(), name);
      if (it != header.end()) return static_cast<int>(it - header.begin());
    }
    return -1;
  };
  const int image_col = column({"image", "image_name", "filename", "file_name", "file"});
  const int caption_col = column({"caption", "comment", "text", "sentence"});
  if (image_col < 0 || caption_col < 0) {
    throw Error(source +
                ":1: the header must name an image column (image, image_name, filename) "
                "and a caption column (caption, comment, text), got '" +
                trim(first) + "'");
  }
  const size_t needed = static_cast<size_t>(std::max(image_col, caption_col)) + 1;
  while (pos < text.size()) {
    const size_t record_line = line;
    std::vector<std::string> fields;
    if (flickr) {  // "image| n| comment": the comment may itself hold '|'
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string row = text.substr(pos, end - pos);
      pos = end + 1;
      ++line;
      size_t start = 0;
      for (size_t k = 0; k + 1 < header.size(); ++k) {
        const size_t bar = row.find('|', start);
        if (bar == std::string::npos) break;
        fields.push_back(row.substr(start, bar - start));
        start = bar + 1;
      }
      fields.push_back(row.substr(start));
    } else {
      fields = csv_record(text, pos, line, sep, source);
    }
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;  // blank line
    const std::string where = source + ":" + std::to_string(record_line);
    if (fields.size() < needed) {
      throw Error(where + ": expected " + std::to_string(header.size()) + " fields (" +
                  trim(first) + "), got " + std::to_string(fields.size()));
    }
    if (fields.size() > header.size() && caption_col + 1 == static_cast<int>(header.size())) {
      for (size_t k = header.size(); k < fields.size(); ++k) {  // unquoted separators in a caption
        fields[caption_col] += sep + fields[k];
      }
    }
    const std::string image = trim(fields[image_col]);
    std::string caption = trim(fields[caption_col]);
    if (image.empty()) throw Error(where + ": the image name is empty");
    if (caption.empty()) throw Error(where + ": the caption of " + image + " is empty");
    out.add(image, std::move(caption), where);
  }
}

// --- images ------------------------------------------------------------------------------------

torch::Tensor read_image(const std::string& path, const Entry& entry, const std::string& dir,
                         const PairsOptions& options, int64_t& height, int64_t& width) {
  if (!fs::exists(path)) {
    throw IoError(entry.where + ": image '" + entry.file + "' not found in " + dir);
  }
#if !PERTURB_HAVE_OPENCV
  (void)options;
  (void)height;
  (void)width;
  throw_without_opencv("reading the image " + path);
#else
  cv::Mat image = cv::imread(path, options.grayscale ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (image.empty()) {
    throw IoError(entry.where + ": cannot read the image " + path + " (not an image OpenCV reads)");
  }
  if (options.size > 0) {
    const bool shrink = image.rows > options.size || image.cols > options.size;
    cv::resize(image, image,
               cv::Size(static_cast<int>(options.size), static_cast<int>(options.size)), 0, 0,
               shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  } else if (height < 0) {
    height = image.rows;
    width = image.cols;
  } else if (image.rows != height || image.cols != width) {
    throw Error(entry.where + ": image '" + entry.file + "' is " + std::to_string(image.cols) +
                "×" + std::to_string(image.rows) + " but the first image is " +
                std::to_string(width) + "×" + std::to_string(height) +
                "; give size: to resize all images");
  }
  if (!options.grayscale) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  const int channels = image.channels();
  torch::Tensor t =
      torch::from_blob(image.data, {image.rows, image.cols, channels},
                       {static_cast<int64_t>(image.step[0]), channels, 1}, torch::kUInt8)
          .permute({2, 0, 1})
          .to(torch::kFloat32)
          .div(255.0);
  return t.contiguous();
#endif
}

}  // namespace

PairedDataset load_pairs(const std::string& images_dir, const std::string& captions_file,
                         const PairsOptions& options) {
  if (!fs::is_directory(images_dir)) {
    throw IoError("the images folder " + images_dir + " does not exist");
  }
  if (options.size < 0) {
    throw Error("pairs: size must be 0 (keep) or positive, got " + std::to_string(options.size));
  }
  const std::string text = read_text(captions_file);
  Entries entries;
  const std::string ext = lower(fs::path(captions_file).extension().string());
  const bool json = ext == ".json" || (!trim(text).empty() && trim(text)[0] == '{');
  if (json) {
    const Json root = parse_json(text, captions_file);
    const Json* images = find(root, "images");
    const bool karpathy =
        images && images->is_array() && (images->empty() || find((*images)[0], "sentences"));
    if (karpathy) {
      read_karpathy(root, captions_file, images_dir, options.split, entries);
    } else if (find(root, "annotations")) {
      if (!options.split.empty()) {
        throw Error("pairs: split: \"" + options.split +
                    "\" needs a Karpathy-style JSON file (images with a \"split\"); " +
                    captions_file + " is COCO captions JSON");
      }
      read_coco(root, captions_file, entries);
    } else {
      throw Error(captions_file +
                  ": not a captions file: expected Karpathy JSON ({\"images\": [{\"filename\", "
                  "\"sentences\"}]}) or COCO captions JSON ({\"images\", \"annotations\"})");
    }
  } else {
    if (!options.split.empty()) {
      throw Error("pairs: split: \"" + options.split + "\" needs a Karpathy-style JSON file; " +
                  captions_file + " has no splits");
    }
    read_table(text, captions_file, entries);
  }
  auto& list = entries.list();
  if (options.limit >= 0 && static_cast<int64_t>(list.size()) > options.limit) {
    list.resize(options.limit);
  }
  if (list.empty()) {
    throw Error(captions_file + ": no captioned images" +
                (options.split.empty() ? "" : " in split \"" + options.split + "\""));
  }
  std::vector<torch::Tensor> images;
  images.reserve(list.size());
  int64_t height = -1;
  int64_t width = -1;
  PairedDataset out;
  for (auto& entry : list) {
    const std::string path = (fs::path(images_dir) / entry.file).string();
    images.push_back(read_image(path, entry, images_dir, options, height, width));
    out.captions.push_back(std::move(entry.captions));
  }
  out.images = torch::stack(images);
  out.name = "pairs(" + fs::path(captions_file).filename().string() + ")";
  out.check();
  return out;
}

}  // namespace perturb
