// Captioned images for image–text retrieval: every image carries one or more captions (the
// 1:N relation of Flickr30k and COCO), optionally a class label.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

struct PairedDataset {
  torch::Tensor images;                            // N×C×H×W float32 in [0, 1]
  std::vector<std::vector<std::string>> captions;  // N lists, each with at least one caption
  torch::Tensor labels;  // N int64 class labels, or undefined when the data has none
  std::string name;      // e.g. "fashion_captions(train)"

  int64_t size() const;
  // The first n images with their captions (Error if n < 0; n > size gives all).
  PairedDataset take(int64_t n) const;
  // Images (with their captions and labels) in a permutation drawn from make_generator(seed).
  PairedDataset shuffle(uint64_t seed) const;
  // The images at `indices` (int64 [K]) with their captions and labels.
  PairedDataset select(const torch::Tensor& indices) const;
  // Consecutive batches; the last batch may be smaller.
  std::vector<PairedDataset> batches(int64_t batch_size) const;
  // The same images with only their first caption each (the paper's 1:1 training pairs).
  PairedDataset first_captions() const;
  // Every caption once, in image order, and the index of the image it belongs to.
  std::vector<std::string> all_captions() const;
  std::vector<int64_t> caption_owners() const;
  // The same images with every caption replaced, `captions` in all_captions() order (Error when
  // the count differs).
  PairedDataset with_captions(const std::vector<std::string>& captions) const;
  // "fashion_captions(train): 1000 images 1×28×28 with 5000 captions (5 per image), 10 classes"
  std::string describe() const;
  // Throws Error when the sizes of images, captions and labels disagree or a caption list is
  // empty.
  void check() const;
};

struct PairsOptions {
  int64_t size = 0;    // resize images to size×size (0 keeps the first image's size; every
                       // image must then have it)
  std::string split;   // Karpathy JSON "split" field to keep ("train", "test"...); "" keeps all
  int64_t limit = -1;  // the first `limit` images; < 0 means all
  bool grayscale = false;
};

// Captioned images from a folder and a captions file: Karpathy-style JSON ({"images": [{
// "filename", "sentences": [{"raw"}], "split"}]}), COCO captions JSON ({"images": [{"id",
// "file_name"}], "annotations": [{"image_id", "caption"}]}) or CSV/TSV ("image,caption" with a
// header, or Flickr30k's "image| comment_number| comment"). Images are read with OpenCV, in the
// order they first appear in the file. A missing folder, file or image, or an unreadable row,
// throws IoError/Error naming the file (and line for CSV).
PairedDataset load_pairs(const std::string& images_dir, const std::string& captions_file,
                         const PairsOptions& options = {});

// Fashion-MNIST with captions generated from what is measurably in each image (class,
// brightness, ink coverage, the garment's width and height, left-right symmetry) through varied
// templates and WordNet synonyms: `per_image` different captions per image, drawn from
// make_generator(seed). A teaching and test set, not a language benchmark.
PairedDataset fashion_captions(const std::string& split, int64_t per_image = 5, int64_t limit = -1,
                               uint64_t seed = 0);

}  // namespace perturb
