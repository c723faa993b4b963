// IPES-GAN's networks (ipes_gan.h).

#include "runtime/model/ipes_gan.h"

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "runtime/model/zoo_model.h"

namespace perturb {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2));
}

torch::Tensor upsample(const torch::Tensor& x, int64_t size) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{size, size})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

// E_p: the image and the other domain's pose map (1 + 2 channels) to f_pose at a quarter of the
// side: two downsampling convolutions and a residual block (the thesis: two downsampling layers,
// four residual blocks and ASPP).
struct PoseEncoderImpl : nn::Module {
  PoseEncoderImpl(int64_t width)
      : c1(register_module("c1", conv(3, 16, 3))),
        c2(register_module("c2", conv(16, 32, 4, 2))),
        c3(register_module("c3", conv(32, width, 4, 2))),
        r1(register_module("r1", conv(width, width, 3))),
        r2(register_module("r2", conv(width, width, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(c1(x));
    h = torch::relu(c2(h));
    h = torch::relu(c3(h));
    return h + r2(torch::relu(r1(h)));
  }
  nn::Conv2d c1, c2, c3, r1, r2;
};
TORCH_MODULE(PoseEncoder);

// E_s: convolutions, global average pooling, f_style and the camera logits (the thesis: a
// 6-layer convolutional network).
struct StyleEncoderImpl : nn::Module {
  StyleEncoderImpl(int64_t style_dim, int64_t cameras)
      : c1(register_module("c1", conv(1, 16, 3))),
        c2(register_module("c2", conv(16, 32, 4, 2))),
        c3(register_module("c3", conv(32, 32, 4, 2))),
        fc(register_module("fc", nn::Linear(64, style_dim))),
        cam(register_module("cam", nn::Linear(style_dim, cameras))) {}
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    auto h = torch::relu(c1(x));
    h = torch::relu(c2(h));
    h = torch::relu(c3(h));
    // Mean and spread of each channel: the texture statistics AdaIN transfers.
    auto stats = torch::cat({h.mean({2, 3}), h.flatten(2).std(2)}, 1);
    auto style = fc(stats);
    return {style, cam(torch::relu(style))};
  }
  nn::Conv2d c1, c2, c3;
  nn::Linear fc, cam;
};
TORCH_MODULE(StyleEncoder);

// G: f_pose and f_id (projected to a map) → instance norm, scaled and shifted by f_style (AdaIN)
// → two upsampling convolutions, each also given the pose map at its resolution → the image
// through a sigmoid.
struct DecoderImpl : nn::Module {
  DecoderImpl(const IpesNetOptions& o, int64_t id_dim)
      : quarter(o.size / 4),
        id_map(register_module("id_map", nn::Linear(id_dim, 16 * quarter * quarter))),
        adain(register_module("adain", nn::Linear(o.style_dim, 2 * 64))),
        c1(register_module("c1", conv(o.pose_width + 16, 64, 3))),
        c2(register_module("c2", conv(64 + 2, 32, 3))),
        c3(register_module("c3", conv(32 + 2, 16, 3))),
        out(register_module("out", conv(16, 1, 3))) {}
  torch::Tensor forward(const EnvFeatures& env, const torch::Tensor& id) {
    const int64_t n = id.size(0);
    auto idm = torch::relu(id_map(id)).view({n, 16, quarter, quarter});
    auto h = c1(torch::cat({env.pose, idm}, 1));
    auto ab = adain(env.style).view({n, 2, 64, 1, 1});
    h = torch::relu(F::instance_norm(h) * (1 + ab.select(1, 0)) + ab.select(1, 1));
    const auto half_pose = F::avg_pool2d(env.pose_map, F::AvgPool2dFuncOptions(2));
    h = torch::relu(c2(torch::cat({upsample(h, 2 * quarter), half_pose}, 1)));
    h = torch::relu(c3(torch::cat({upsample(h, 4 * quarter), env.pose_map}, 1)));
    return torch::sigmoid(out(h));
  }
  int64_t quarter;
  nn::Linear id_map, adain;
  nn::Conv2d c1, c2, c3, out;
};
TORCH_MODULE(Decoder);

struct DiscriminatorImpl : nn::Module {
  DiscriminatorImpl()
      : c1(register_module("c1", conv(1, 32, 4, 2))),
        c2(register_module("c2", conv(32, 64, 4, 2))),
        c3(register_module("c3", conv(64, 1, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::leaky_relu(c1(x), 0.2);
    h = torch::leaky_relu(c2(h), 0.2);
    return c3(h);
  }
  nn::Conv2d c1, c2, c3;
};
TORCH_MODULE(Discriminator);

// The feature width of small_cnn's penultimate layer (zoo.cpp).
constexpr int64_t kIdDim = 128;

void check_images(const torch::Tensor& x, const IpesNetOptions& o, const char* what) {
  if (x.dim() != 4 || x.size(1) != 1 || x.size(2) != o.size || x.size(3) != o.size) {
    std::string shape;
    for (int64_t s : x.sizes()) shape += (shape.empty() ? "" : "×") + std::to_string(s);
    throw Error(std::string("IPES-GAN takes ") + what + " as grey images N×1×" +
                std::to_string(o.size) + "×" + std::to_string(o.size) + ", got " + shape);
  }
}

}  // namespace

namespace {

// An image's backdrop is its border's median; a pixel that differs from it by more than this is
// the item's. The target camera's wall varies by up to about ±0.2 around its mean.
constexpr double kItemThreshold = 0.25;

torch::Tensor backdrop_of(const torch::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  auto border =
      torch::cat({x.select(2, 0), x.select(2, h - 1), x.select(3, 0), x.select(3, w - 1)}, 2);
  return std::get<0>(border.flatten(1).median(1)).view({-1, 1, 1, 1});
}

// 1 on the item (grown by a pixel), 0 on the backdrop.
torch::Tensor item_mask(const torch::Tensor& x, const torch::Tensor& backdrop) {
  auto item = ((x - backdrop).abs() > kItemThreshold).to(torch::kFloat32);
  return F::max_pool2d(item, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
}

}  // namespace

torch::Tensor pose_map(const torch::Tensor& x) {
  const int64_t h = x.size(2);
  const auto item = item_mask(x, backdrop_of(x));
  auto coarse = upsample(F::avg_pool2d(item, F::AvgPool2dFuncOptions(4)), h);
  auto finer = upsample(F::avg_pool2d(item, F::AvgPool2dFuncOptions(2)), h);
  return torch::cat({coarse, finer}, 1);
}

torch::Tensor environment_only(const torch::Tensor& x) {
  const auto backdrop = backdrop_of(x);
  const auto item = item_mask(x, backdrop);
  return x * (1 - item) + backdrop * item;
}

struct IpesGan::Nets {
  PoseEncoder pose_s, pose_t;
  StyleEncoder style_s, style_t;
  Decoder dec_s, dec_t;
  Discriminator disc;
  std::vector<nn::Module*> generator() {
    return {pose_s.get(), pose_t.get(), style_s.get(), style_t.get(), dec_s.get(), dec_t.get()};
  }
};

IpesGan::IpesGan(const IpesNetOptions& o, uint64_t seed) : options_(o) {
  if (o.size % 4 != 0 || o.size < 8) throw Error("IPES-GAN's image side must be a multiple of 4");
  ZooOptions zoo;
  zoo.classes = o.classes;
  zoo.channels = 1;
  zoo.height = zoo.width = o.size;
  id_ = make_zoo_model("small_cnn", zoo, mix_seed(seed, 1));
  SeededConstruction seeded(mix_seed(seed, 2));
  nets_ = std::make_unique<Nets>(Nets{PoseEncoder(o.pose_width), PoseEncoder(o.pose_width),
                                      StyleEncoder(o.style_dim, o.cameras),
                                      StyleEncoder(o.style_dim, o.cameras), Decoder(o, kIdDim),
                                      Decoder(o, kIdDim), Discriminator()});
}

IpesGan::~IpesGan() = default;

EnvFeatures IpesGan::environment(IpesDomain d, const torch::Tensor& image,
                                 const torch::Tensor& pose) {
  auto& pose_net = d == IpesDomain::kSource ? nets_->pose_s : nets_->pose_t;
  auto& style = d == IpesDomain::kSource ? nets_->style_s : nets_->style_t;
  auto [f_style, camera] = style->forward(image);
  // The pose encoder sees the backdrop, not the item: an item's look can only come from f_id.
  return {pose_net->forward(torch::cat({environment_only(image), pose}, 1)), f_style, camera, pose};
}

IdFeatures IpesGan::identity(const torch::Tensor& image) {
  auto layers = std::static_pointer_cast<ZooModel>(id_)->layers();
  // Everything before the last Linear gives f_id (what features() returns); the last, the logits.
  const size_t head = layers->size() - 1;
  torch::Tensor h = image, logits;
  size_t i = 0;
  for (auto& layer : *layers) {
    if (i++ == head) {
      logits = layer.forward(h);
      break;
    }
    h = layer.forward(h);
  }
  return {h, logits};
}

torch::Tensor IpesGan::decode(IpesDomain d, const EnvFeatures& env, const torch::Tensor& id) {
  return (d == IpesDomain::kSource ? nets_->dec_s : nets_->dec_t)->forward(env, id);
}

torch::Tensor IpesGan::discriminate(const torch::Tensor& image) {
  return nets_->disc->forward(image);
}

torch::Tensor IpesGan::switch_environment(const torch::Tensor& x, const torch::Tensor& env_images,
                                          IpesDomain to) {
  check_images(x, options_, "the images to switch");
  check_images(env_images, options_, "the environment images");
  if (env_images.size(0) != x.size(0)) {
    throw Error("IPES-GAN needs one environment image per image, got " +
                std::to_string(env_images.size(0)) + " for " + std::to_string(x.size(0)));
  }
  const bool was_training = id_->training();
  set_training(false);
  torch::NoGradGuard no_grad;
  const auto xs = x.to(torch::kFloat32);
  const auto others = env_images.to(torch::kFloat32);
  // To the target: G_S(f^T_env, f^S_id) = I^{S→G}; to the source: G_T(f^S_env, f^T_id) = I^{T→G}.
  const IpesDomain env_domain = to;
  const IpesDomain decoder = to == IpesDomain::kTarget ? IpesDomain::kSource : IpesDomain::kTarget;
  auto env = environment(env_domain, others, pose_map(xs));
  auto out = decode(decoder, env, identity(xs).features);
  set_training(was_training);
  return out;
}

torch::Tensor IpesGan::generate(const torch::Tensor& x, IpesDomain to, at::Generator& gen) {
  const torch::Tensor& pool = to == IpesDomain::kTarget ? target_pool : source_pool;
  const char* name = to == IpesDomain::kTarget ? "target" : "source";
  if (!pool.defined() || pool.size(0) == 0) {
    throw Error(std::string("this IPES-GAN holds no ") + name +
                " images to take environments from");
  }
  const bool single = x.dim() == 3;
  // The networks live on the CPU; a batch from a training loop on another device goes back there.
  const auto batch = (single ? x.unsqueeze(0) : x).to(torch::kCPU);
  const auto picks = torch::randint(pool.size(0), {batch.size(0)}, gen, torch::kLong);
  auto out = switch_environment(batch, pool.index_select(0, picks), to);
  out = out.to(x.device());
  return single ? out.squeeze(0) : out;
}

std::vector<torch::Tensor> IpesGan::generator_parameters() {
  std::vector<torch::Tensor> params;
  for (nn::Module* m : nets_->generator()) {
    for (auto& p : m->parameters()) params.push_back(p);
  }
  return params;
}

std::vector<torch::Tensor> IpesGan::discriminator_parameters() {
  return nets_->disc->parameters();
}

ModelPtr IpesGan::identity_model() const {
  return id_;
}

void IpesGan::set_training(bool training) {
  for (nn::Module* m : nets_->generator()) m->train(training);
  nets_->disc->train(training);
  id_->set_training(training);
}

}  // namespace perturb
