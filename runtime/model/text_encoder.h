// The built-in text tower Ψ for small captioned data: token embeddings plus learnt position
// embeddings, a token-wise ReLU layer, mean pooling over the real tokens (the mask) and a linear
// map to `dim`. Deliberately small so that contrastive training runs in seconds to minutes on a
// CPU; word order enters only through the position embeddings. Its tokenizer travels with it
// (saved inside the model file).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/text/tokenizer.h"

namespace perturb {

struct TextEncoderOptions {
  int64_t dim = 64;     // output size
  int64_t width = 128;  // token embedding and hidden width
};

class TextEncoderNetImpl : public torch::nn::Module {
 public:
  TextEncoderNetImpl(int64_t vocab, int64_t length, int64_t width, int64_t dim);
  // ids, mask: [N, L] int64 (L ≤ length); returns [N, dim].
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask);

 private:
  torch::nn::Embedding token_{nullptr};
  torch::nn::Embedding position_{nullptr};
  torch::nn::Linear hidden_{nullptr};
  torch::nn::Linear output_{nullptr};
};
TORCH_MODULE(TextEncoderNet);

class TextEncoder {
 public:
  // The weights are initialised from `seed`.
  TextEncoder(TokenizerPtr tokenizer, const TextEncoderOptions& options, uint64_t seed);

  // Ψ(T) before any projection: [N, dim], with gradient, on the encoder's device.
  torch::Tensor encode(const std::vector<std::string>& texts);
  TokenizerPtr tokenizer() const { return tokenizer_; }
  const TextEncoderOptions& options() const { return options_; }
  TextEncoderNet net() const { return net_; }
  std::vector<torch::Tensor> parameters() { return net_->parameters(); }
  void to(torch::Device device);
  torch::Device device() const { return device_; }
  // "text_encoder(vocab: 812, dim: 64, length: 32, width: 128)"
  std::string describe() const;

  // Into / out of a sub-archive of a model file (the tokenizer is stored by the caller).
  void save(torch::serialize::OutputArchive& archive) const;
  static std::shared_ptr<TextEncoder> load(torch::serialize::InputArchive& archive,
                                           TokenizerPtr tokenizer, const std::string& path);

 private:
  TokenizerPtr tokenizer_;
  TextEncoderOptions options_;
  TextEncoderNet net_{nullptr};
  torch::Device device_ = torch::kCPU;
};
using TextEncoderPtr = std::shared_ptr<TextEncoder>;

// Error unless dim and width are at least 1 and the tokenizer is set.
void check_text_encoder_options(const TextEncoderOptions& options);

// A word-level tokenizer from a plain word list ("vocab.txt": one token per line, line i is id
// i, as BERT's vocab.txt) whose first four lines are <pad>, <unk>, <start>, <end> (the ids of
// make_word_tokenizer): the tokenizer of a word-level text tower exported from PyTorch. Missing
// file → IoError; other first lines → Error saying what is expected.
TokenizerPtr load_word_list_tokenizer(const std::string& path, int64_t max_length);

}  // namespace perturb
