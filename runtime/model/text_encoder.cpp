#include "runtime/model/text_encoder.h"

#include <fstream>

#include "runtime/core/error.h"
#include "runtime/core/random.h"

namespace perturb {
namespace nn = torch::nn;

TextEncoderNetImpl::TextEncoderNetImpl(int64_t vocab, int64_t length, int64_t width, int64_t dim) {
  token_ = register_module("token", nn::Embedding(vocab, width));
  position_ = register_module("position", nn::Embedding(length, width));
  hidden_ = register_module("hidden", nn::Linear(width, width));
  output_ = register_module("output", nn::Linear(width, dim));
}

torch::Tensor TextEncoderNetImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  const int64_t length = ids.size(1);
  const torch::Tensor positions = torch::arange(length, ids.options()).unsqueeze(0);
  torch::Tensor h =
      torch::relu(hidden_->forward(token_->forward(ids) + position_->forward(positions)));
  // Mean over the real tokens only: pads contribute nothing.
  const torch::Tensor on = mask.to(h.dtype()).unsqueeze(2);
  const torch::Tensor pooled = (h * on).sum(1) / on.sum(1).clamp_min(1);
  return output_->forward(pooled);
}

void check_text_encoder_options(const TextEncoderOptions& options) {
  if (options.dim < 1) throw Error("dim must be at least 1, got " + std::to_string(options.dim));
  if (options.width < 1) {
    throw Error("width must be at least 1, got " + std::to_string(options.width));
  }
}

TextEncoder::TextEncoder(TokenizerPtr tokenizer, const TextEncoderOptions& options, uint64_t seed)
    : tokenizer_(std::move(tokenizer)), options_(options) {
  if (!tokenizer_) throw Error("a text encoder needs a tokenizer");
  check_text_encoder_options(options_);
  SeededConstruction seeded(seed);
  net_ = TextEncoderNet(tokenizer_->vocab_size(), tokenizer_->max_length(), options_.width,
                        options_.dim);
}

torch::Tensor TextEncoder::encode(const std::vector<std::string>& texts) {
  if (texts.empty()) throw Error("there are no captions to encode");
  const TokenBatch tokens = tokenizer_->encode(texts);
  if (tokens.ids.size(1) > tokenizer_->max_length()) {
    throw Error("the tokenizer gave " + std::to_string(tokens.ids.size(1)) +
                " tokens, more than its length " + std::to_string(tokenizer_->max_length()));
  }
  return net_->forward(tokens.ids.to(device_), tokens.mask.to(device_));
}

void TextEncoder::to(torch::Device device) {
  net_->to(device);
  device_ = device;
}

std::string TextEncoder::describe() const {
  return "text_encoder(vocab: " + std::to_string(tokenizer_->vocab_size()) +
         ", dim: " + std::to_string(options_.dim) +
         ", length: " + std::to_string(tokenizer_->max_length()) +
         ", width: " + std::to_string(options_.width) + ")";
}

void TextEncoder::save(torch::serialize::OutputArchive& archive) const {
  archive.write("dim", c10::IValue(options_.dim));
  archive.write("width", c10::IValue(options_.width));
  torch::serialize::OutputArchive weights;
  net_->save(weights);
  archive.write("net", weights);
}

std::shared_ptr<TextEncoder> TextEncoder::load(torch::serialize::InputArchive& archive,
                                               TokenizerPtr tokenizer, const std::string& path) {
  auto read_int = [&](const char* key) {
    c10::IValue value;
    if (!archive.try_read(key, value) || !value.isInt()) {
      throw Error("'" + path + "' is a damaged two-tower model: the text encoder's '" + key +
                  "' is missing");
    }
    return value.toInt();
  };
  TextEncoderOptions options;
  options.dim = read_int("dim");
  options.width = read_int("width");
  auto encoder = std::make_shared<TextEncoder>(std::move(tokenizer), options, /*seed=*/0);
  torch::serialize::InputArchive weights;
  if (!archive.try_read("net", weights)) {
    throw Error("'" + path +
                "' is a damaged two-tower model: the text encoder's weights are missing");
  }
  encoder->net_->load(weights);
  return encoder;
}

TokenizerPtr load_word_list_tokenizer(const std::string& path, int64_t max_length) {
  std::ifstream in(path);
  if (!in) throw IoError("cannot open vocabulary '" + path + "'");
  std::vector<std::string> words;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    words.push_back(line);
  }
  const std::vector<std::string> specials = {"<pad>", "<unk>", "<start>", "<end>"};
  for (size_t i = 0; i < specials.size(); ++i) {
    if (i >= words.size() || words[i] != specials[i]) {
      throw Error("vocabulary '" + path + "': line " + std::to_string(i + 1) + " must be " +
                  specials[i] + " (a word list starts with <pad>, <unk>, <start>, <end>)");
    }
  }
  // The word list is exactly make_word_tokenizer's vocabulary layout: read it as a saved one.
  std::string text = "word_tokenizer v1\nlength " + std::to_string(max_length) + "\nwords " +
                     std::to_string(words.size() - specials.size()) + "\n";
  for (size_t i = specials.size(); i < words.size(); ++i) text += words[i] + "\n";
  return deserialize_tokenizer(text);
}

}  // namespace perturb
