// Denoisers for denoised smoothing (Salman et al. 2020; thesis ch. 6) and the composition of
// models (`den >> classifier`).
//
// Architectures, built as zoo models (a torch::nn::Sequential inside a ZooModel, so save, load,
// devices and modes work as for every zoo model):
// - "dncnn": DnCNN (Zhang et al. 2017): conv+ReLU, (depth − 2) × conv+BN+ReLU, conv; it predicts
//   the noise and returns x − noise (residual learning). Paper: depth 17, width 64.
// - "rdunet": the thesis's robust UNet denoiser RDUNet (Figure 6.2): a feedforward path of a
//   DConv block (two conv3×3+BN+ReLU) and `levels` × (max pool 2 + DConv) doubling the width, a
//   feedback path of `levels` × (ConvTranspose2d ×2 up to the lateral size, fusion by
//   concatenation with the lateral features, DConv) and a 1×1 conv giving the residual map dx̂;
//   the output is x̂ = x* + (−dx̂). The thesis uses four levels.
// - "autoencoder": a convolutional encoder to a `code`-dimensional vector and a decoder back to
//   the image (sigmoid output), for ZO-AE (thesis Figure 6.3): layers()[0] is the encoder,
//   layers()[1] the decoder.
// The sizes are part of the architecture name ("dncnn_depth5_width16"), which save records.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "runtime/model/model.h"
#include "runtime/model/zoo.h"

namespace perturb {

// True for "dncnn", "rdunet" and "autoencoder" names (with or without sizes).
bool is_denoiser_architecture(const std::string& architecture);

// "dncnn" + {depth: 5, width: 16} → "dncnn_depth5_width16". Unknown size names → Error.
std::string denoiser_architecture(const std::string& base,
                                  const std::map<std::string, int64_t>& sizes);

// The network of a denoiser architecture name (its sizes from the name, defaults otherwise).
torch::nn::Sequential make_denoiser_net(const std::string& architecture, const ZooOptions& o);

// The encoder and decoder halves of an "autoencoder" zoo model; Error for other models.
struct AutoencoderHalves {
  torch::nn::AnyModule encoder, decoder;
};
AutoencoderHalves autoencoder_halves(Model& model);

// first >> second: second(first(x)). Parameters, modes and devices of both; save is refused
// (save the parts).
class ComposedModel : public Model {
 public:
  ComposedModel(ModelPtr first, ModelPtr second);
  torch::Tensor forward(const torch::Tensor& x) override;
  std::vector<torch::Tensor> parameters() override;
  void set_training(bool training) override;
  bool training() const override;
  void to(torch::Device device) override;
  torch::Device device() const override;
  std::string describe() const override;
  void save(const std::string& path) const override;
  const ModelPtr& first() const { return first_; }
  const ModelPtr& second() const { return second_; }

 private:
  ModelPtr first_, second_;
};

}  // namespace perturb
