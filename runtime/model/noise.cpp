#include "runtime/model/noise.h"

#include <cmath>
#include <limits>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/report/format.h"

namespace perturb {
namespace nn = torch::nn;

std::string NoiseOptions::describe() const {
  std::string out = "iso: " + format_number(iso) + ", aniso: " + std::to_string(aniso);
  if (!learn) out += ", learn: false";
  return out;
}

SnnModel::SnnModel(std::shared_ptr<ZooModel> backbone, const NoiseOptions& options, uint64_t seed)
    : backbone_(std::move(backbone)), options_(options), seed_(seed) {
  if (options_.iso < 0) throw Error("iso must not be negative, got " + format_number(options_.iso));
  if (options_.aniso < 0) {
    throw Error("aniso (the rank of the noise covariance) must not be negative, got " +
                std::to_string(options_.aniso));
  }
  auto layers = backbone_->layers();
  std::vector<size_t> relus;
  for (size_t i = 0; i < layers->size(); ++i) {
    if (std::dynamic_pointer_cast<nn::ReLUImpl>(layers->ptr(i))) relus.push_back(i);
  }
  if (relus.empty()) {
    throw Error("model " + backbone_->describe() + " has no ReLU layer to inject noise after");
  }
  aniso_at_ = relus.back();
  iso_at_.assign(relus.begin(), relus.end() - 1);

  // The shapes after each ReLU, from one forward pass on a zero input.
  const auto& o = backbone_->options();
  std::vector<int64_t> channels(layers->size(), 0);
  {
    torch::NoGradGuard no_grad;
    auto h = torch::zeros({1, o.channels, o.height, o.width}).to(backbone_->device());
    size_t i = 0;
    for (auto& layer : *layers) {
      h = layer.forward(h);
      channels[i++] = h.size(1);
    }
  }
  auto gen = make_generator(seed);
  const auto device = backbone_->device();
  for (size_t at : iso_at_) {
    phi_.push_back(torch::full({channels[at]}, options_.iso, torch::TensorOptions().device(device))
                       .set_requires_grad(options_.learn && options_.iso > 0));
  }
  if (options_.aniso > 0) {
    // phi_a's columns are random directions of norm about `iso` (0.1 when iso is 0), so the
    // noise along each is of the size of the isotropic one; the total norm stays fixed.
    const double scale = options_.iso > 0 ? options_.iso : 0.1;
    const int64_t d = channels[aniso_at_];
    aniso_norm_ = scale * std::sqrt(static_cast<double>(options_.aniso));
    phi_a_ = (torch::randn({d, options_.aniso}, gen) / std::sqrt(static_cast<double>(d)))
                 .to(device)
                 .set_requires_grad(options_.learn);
  }
  reseed(next_seed(gen));
}

torch::Tensor activation_scale(const torch::Tensor& h) {
  std::vector<int64_t> shape(h.dim(), 1);
  shape[0] = h.size(0);
  return h.detach().flatten(1).std(1, /*unbiased=*/false).view(shape);
}

torch::Tensor SnnModel::aniso_factor() const {
  if (!phi_a_.defined()) return {};
  return phi_a_ * (aniso_norm_ / phi_a_.norm().clamp_min(1e-12));
}

void SnnModel::reseed(uint64_t seed) {
  gen_ = make_generator(seed, backbone_->device());
}

torch::Tensor SnnModel::forward(const torch::Tensor& x) {
  check_zoo_input(backbone_->options(), x, describe());
  auto layers = backbone_->layers();
  auto h = x.to(backbone_->device(), torch::kFloat32);
  size_t next_iso = 0;
  size_t i = 0;
  for (auto& layer : *layers) {
    h = layer.forward(h);
    if (next_iso < iso_at_.size() && iso_at_[next_iso] == i) {
      if (noise_on_ && options_.iso > 0) {
        std::vector<int64_t> shape(h.dim(), 1);
        shape[1] = h.size(1);
        const auto eps = torch::randn(h.sizes(), gen_, h.options());
        // eq. 5.2's isotropic injection, relative to the activations' scale (see noise.h).
        h = h + phi_[next_iso].abs().view(shape) * activation_scale(h) * eps;
      }
      ++next_iso;
    } else if (i == aniso_at_) {
      last_features_ = h;
      if (noise_on_ && phi_a_.defined()) {
        const auto z = torch::randn({h.size(0), options_.aniso}, gen_, h.options());
        h = h + torch::matmul(z, aniso_factor().t());  // covariance phi_a phi_a^T
      }
    }
    ++i;
  }
  return h;
}

std::vector<torch::Tensor> SnnModel::model_parameters() {
  return backbone_->parameters();
}

std::vector<torch::Tensor> SnnModel::iso_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : phi_) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> SnnModel::aniso_parameters() {
  if (phi_a_.defined() && phi_a_.requires_grad()) return {phi_a_};
  return {};
}

std::vector<torch::Tensor> SnnModel::parameters() {
  auto out = model_parameters();
  for (const auto& p : iso_parameters()) out.push_back(p);
  for (const auto& p : aniso_parameters()) out.push_back(p);
  return out;
}

void SnnModel::set_training(bool training) {
  backbone_->set_training(training);
}

bool SnnModel::training() const {
  return backbone_->training();
}

void SnnModel::to(torch::Device device) {
  backbone_->to(device);
  torch::NoGradGuard no_grad;
  for (auto& p : phi_) p = p.detach().to(device).set_requires_grad(p.requires_grad());
  if (phi_a_.defined()) {
    phi_a_ = phi_a_.detach().to(device).set_requires_grad(phi_a_.requires_grad());
  }
  reseed(seed_);
}

torch::Device SnnModel::device() const {
  return backbone_->device();
}

std::string SnnModel::describe() const {
  return "snn(" + backbone_->describe() + ", " + options_.describe() + ")";
}

void SnnModel::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  const auto& o = backbone_->options();
  archive.write(kPerturbFormatKey, c10::IValue(kPerturbFormatVersion));
  archive.write("architecture", c10::IValue(backbone_->architecture()));
  archive.write("classes", c10::IValue(o.classes));
  archive.write("channels", c10::IValue(o.channels));
  archive.write("height", c10::IValue(o.height));
  archive.write("width", c10::IValue(o.width));
  backbone_->layers()->save(archive);
  archive.write("snn_iso", c10::IValue(options_.iso));
  archive.write("snn_aniso", c10::IValue(options_.aniso));
  archive.write("snn_learn", c10::IValue(options_.learn));
  archive.write("snn_iso_count", c10::IValue(static_cast<int64_t>(phi_.size())));
  for (size_t i = 0; i < phi_.size(); ++i) {
    archive.write("snn_phi_" + std::to_string(i), phi_[i].detach().cpu(), /*is_buffer=*/true);
  }
  if (phi_a_.defined()) {
    archive.write("snn_phi_a", aniso_factor().detach().cpu(), /*is_buffer=*/true);
  }
  save_archive_atomic(archive, path);
}

void SnnModel::load_noise(torch::serialize::InputArchive& archive, const std::string& path) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < phi_.size(); ++i) {
    torch::Tensor t;
    if (!archive.try_read("snn_phi_" + std::to_string(i), t)) {
      throw Error("'" + path + "' is a damaged stochastic network: its noise scales are missing");
    }
    phi_[i].copy_(t);
  }
  if (phi_a_.defined()) {
    torch::Tensor t;
    if (!archive.try_read("snn_phi_a", t)) {
      throw Error("'" + path + "' is a damaged stochastic network: its noise factor is missing");
    }
    phi_a_.copy_(t);
  }
}

std::shared_ptr<SnnModel> make_snn(const ModelPtr& model, const NoiseOptions& options,
                                   uint64_t seed) {
  if (auto snn = std::dynamic_pointer_cast<SnnModel>(model)) return snn;
  auto zoo = std::dynamic_pointer_cast<ZooModel>(model);
  if (!zoo) {
    throw Error(
        "noise can only be injected into a zoo model (zoo.mlp, zoo.small_cnn, zoo.cnn4, "
        "zoo.lenet), "
        "not " +
        model->describe());
  }
  return std::make_shared<SnnModel>(zoo, options, seed);
}

torch::Tensor fca_loss(const torch::Tensor& features, const torch::Tensor& y,
                       const torch::Tensor& phi_a) {
  const auto f = features.flatten(1);
  torch::Tensor pos, neg;
  {
    // Mining picks indices only; the loss is differentiated through the chosen features.
    torch::NoGradGuard no_grad;
    const auto d = torch::cdist(f.detach(), f.detach());
    const auto same = y.unsqueeze(0) == y.unsqueeze(1);
    const auto eye = torch::eye(y.size(0), same.options());
    const auto is_pos = same & ~eye;
    const auto is_neg = ~same;
    const double inf = std::numeric_limits<double>::infinity();
    const auto hardest_pos = d.masked_fill(~is_pos, -inf).argmax(1);
    const auto hardest_neg = d.masked_fill(~is_neg, inf).argmin(1);
    const auto usable = is_pos.any(1) & is_neg.any(1);
    const auto anchors = usable.nonzero().squeeze(1);
    pos = hardest_pos.index_select(0, anchors);
    neg = hardest_neg.index_select(0, anchors);
  }
  if (pos.numel() == 0) return {};
  const auto diff = f.index_select(0, pos) - f.index_select(0, neg);  // [B', d]
  // (f_p - f_n)^T phi_a phi_a^T (f_p - f_n) = |phi_a^T (f_p - f_n)|^2
  const auto aligned = torch::matmul(diff, phi_a).pow(2).sum(1);
  return torch::log(aligned.mean() + 1e-12);
}

torch::Tensor iso_regulariser(const std::vector<torch::Tensor>& phi, int64_t epoch) {
  double tau = 0;
  for (int64_t k = 1; k <= std::max<int64_t>(epoch, 1); ++k) tau += 1.0 / static_cast<double>(k);
  torch::Tensor total;
  for (const auto& p : phi) {
    const auto term = -(p.abs() + 1e-12).sqrt().sum() / tau;
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace perturb
