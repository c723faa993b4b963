// Training IPES-GAN (ipes_train.h). Equation numbers are the thesis's chapter 3.

#include "runtime/train/ipes_train.h"

#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/train.h"

namespace perturb {

namespace F = torch::nn::functional;

namespace {

constexpr int64_t kSourceCamera = 0;
constexpr int64_t kTargetCamera = 1;

torch::Tensor l1(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().mean();
}

torch::Tensor camera_loss(const torch::Tensor& logits, int64_t camera) {
  return F::cross_entropy(logits, torch::full({logits.size(0)}, camera, torch::kLong));
}

// Least squares (LSGAN, the thesis's §3.3.2) in place of eq. 3.12's log terms: the scores of
// what should look real pulled to 1, of what should look generated to 0.
torch::Tensor towards(const torch::Tensor& scores, double value) {
  return (scores - value).pow(2).mean();
}

// Eq. 3.17: −(1−ε)·log p(y|x) − ε/C·Σ_c log p(c|x), the cross-entropy against eq. 3.16's
// smoothed labels.
torch::Tensor soft_ce(const torch::Tensor& logits, const torch::Tensor& y, double epsilon) {
  const auto logp = torch::log_softmax(logits, 1);
  const auto own = logp.gather(1, y.view({-1, 1})).squeeze(1);
  return (-(1 - epsilon) * own - epsilon * logp.mean(1)).mean();
}

// Eq. 3.18: Σ_c q(c|x)·log(q(c|x) / p(c|x)), q from E_std (no gradient), p from E_id.
torch::Tensor kl_to_standard(const torch::Tensor& id_logits, const torch::Tensor& std_logits) {
  const auto logq = torch::log_softmax(std_logits, 1);
  const auto logp = torch::log_softmax(id_logits, 1);
  return (logq.exp() * (logq - logp)).sum(1).mean();
}

// §3.2.1 on one pair of batches: decouple each image, then swap the environments.
struct Switch {
  torch::Tensor ps, pt;  // pose maps of the source and target images
  EnvFeatures env_s, env_t;
  IdFeatures id_s, id_t;
  torch::Tensor x_sg, x_tg;  // I^{S→G}, I^{T→G}
};

Switch switch_environments(IpesGan& g, const torch::Tensor& xs, const torch::Tensor& xt) {
  using D = IpesDomain;
  Switch s;
  s.ps = pose_map(xs);
  s.pt = pose_map(xt);
  s.env_s = g.environment(D::kSource, xs, s.pt);
  s.env_t = g.environment(D::kTarget, xt, s.ps);
  s.id_s = g.identity(xs);
  s.id_t = g.identity(xt);
  s.x_sg = g.decode(D::kSource, s.env_t, s.id_s.features);
  s.x_tg = g.decode(D::kTarget, s.env_s, s.id_t.features);
  return s;
}

// The switched images encoded again: E^S_env(I^{T→G}), E^T_env(I^{S→G}), E_id of both.
struct SwitchedBack {
  EnvFeatures env_s, env_t;
  IdFeatures id_sg, id_tg;
};

SwitchedBack encode_switched(IpesGan& g, const Switch& s) {
  return {g.environment(IpesDomain::kSource, s.x_tg, s.pt),
          g.environment(IpesDomain::kTarget, s.x_sg, s.ps), g.identity(s.x_sg), g.identity(s.x_tg)};
}

// Deviation: DG-Net's plain reconstruction, G(f_env, f_id) ≈ the image itself, by both decoders
// for both domains' images. I^{S→G} = G_S(f^T_env, ...) asks G_S to draw in the target's
// environment, which otherwise only the cycle through switched images would teach it; without
// this term the switched images stayed shapeless blobs in our runs (docs/ipes.md).
torch::Tensor reconstruction_term(IpesGan& g, const Switch& s, const torch::Tensor& xs,
                                  const torch::Tensor& xt) {
  using D = IpesDomain;
  const EnvFeatures own_s = g.environment(D::kSource, xs, s.ps);
  const EnvFeatures own_t = g.environment(D::kTarget, xt, s.pt);
  return l1(g.decode(D::kSource, own_s, s.id_s.features), xs) +
         l1(g.decode(D::kTarget, own_t, s.id_t.features), xt) +
         l1(g.decode(D::kSource, own_t, s.id_t.features), xt) +
         l1(g.decode(D::kTarget, own_s, s.id_s.features), xs);
}

// Eq. 3.1–3.5: the switched images' features against the real ones (held fixed).
torch::Tensor consistency_term(const Switch& s, const SwitchedBack& back) {
  auto env_gap = [](const EnvFeatures& again, const EnvFeatures& real) {
    return l1(again.pose, real.pose.detach()) + l1(again.style, real.style.detach());
  };
  return env_gap(back.env_s, s.env_s) + env_gap(back.env_t, s.env_t) +  // eq. 3.1, 3.2
         l1(back.id_sg.features, s.id_s.features.detach()) +            // eq. 3.3
         l1(back.id_tg.features, s.id_t.features.detach());             // eq. 3.4
}

// Eq. 3.6: Ĩ^S = G_S(E^S_env(I^{T→G}), E_id(I^{S→G})), Ĩ^T = G_T(E^T_env(I^{S→G}),
// E_id(I^{T→G})). The cycle draws each item back in its own pose, so the environments are
// encoded again with it.
torch::Tensor cycle_term(IpesGan& g, const Switch& s, const SwitchedBack& back,
                         const torch::Tensor& xs, const torch::Tensor& xt) {
  using D = IpesDomain;
  return l1(g.decode(D::kSource, g.environment(D::kSource, s.x_tg, s.ps), back.id_sg.features),
            xs) +
         l1(g.decode(D::kTarget, g.environment(D::kTarget, s.x_sg, s.pt), back.id_tg.features), xt);
}

// Eq. 3.7–3.11. With one camera per domain a style encoder that saw only its own domain would
// answer one camera for everything; so each also classifies the other domain's real images (a
// deviation) and eq. 3.7/3.8 then ask something of the switched images.
torch::Tensor camera_term(IpesGan& g, const Switch& s, const SwitchedBack& back,
                          const torch::Tensor& xs, const torch::Tensor& xt) {
  using D = IpesDomain;
  const auto other_s = g.environment(D::kSource, xt, s.ps).camera;  // E_s^S on target images
  const auto other_t = g.environment(D::kTarget, xs, s.pt).camera;  // E_s^T on source images
  return camera_loss(back.env_t.camera, kTargetCamera) +            // eq. 3.7
         camera_loss(back.env_s.camera, kSourceCamera) +            // eq. 3.8
         camera_loss(s.env_s.camera, kSourceCamera) +               // eq. 3.9
         camera_loss(s.env_t.camera, kTargetCamera) +               // eq. 3.10
         camera_loss(other_s, kTargetCamera) + camera_loss(other_t, kSourceCamera);
}

// Eq. 3.12, the discriminator's side: real images of both domains to 1, switched ones to 0.
torch::Tensor discriminator_loss(IpesGan& g, const Switch& s, const torch::Tensor& xs,
                                 const torch::Tensor& xt) {
  return 0.5 * (towards(g.discriminate(xs), 1) + towards(g.discriminate(xt), 1) +
                towards(g.discriminate(s.x_sg.detach()), 0) +
                towards(g.discriminate(s.x_tg.detach()), 0));
}

void check_images(const torch::Tensor& x, int64_t size, const std::string& what) {
  if (x.dim() != 4 || x.size(1) != 1 || x.size(2) != size || x.size(3) != size) {
    std::string shape;
    for (int64_t s : x.sizes()) shape += (shape.empty() ? "" : "×") + std::to_string(s);
    throw Error("train_ipes needs " + what + " as grey square images N×1×" + std::to_string(size) +
                "×" + std::to_string(size) + ", got " + shape);
  }
}

}  // namespace

std::vector<std::pair<std::string, double>> IpesLosses::named() const {
  return {{"cyc", cyc},   {"self", self}, {"con", con},         {"cam", cam}, {"adv", adv},
          {"disc", disc}, {"ce", ce},     {"soft_ce", soft_ce}, {"kl", kl},   {"total", total}};
}

double ipes_late_weight(int64_t i, int64_t n, const IpesTrainOptions& o) {
  const double start = o.warmup * static_cast<double>(n);
  const double span = std::max(1.0, o.ramp * static_cast<double>(n));
  const double t = (static_cast<double>(i) - start) / span;
  return o.w_late * std::clamp(t, 0.0, 1.0);
}

struct IpesTrainer::Optimizers {
  std::unique_ptr<torch::optim::Optimizer> generator, identity, discriminator;
};

IpesTrainer::IpesTrainer(std::shared_ptr<IpesGan> gan, ModelPtr std_model,
                         const IpesTrainOptions& options)
    : gan_(std::move(gan)), std_(std::move(std_model)), options_(options) {
  OptimizerSpec adam;
  adam.kind = "adam";
  adam.lr = options.lr;
  adam.beta1 = 0.5;
  OptimizerSpec sgd;
  sgd.kind = "sgd";
  sgd.lr = options.id_lr;
  sgd.momentum = 0.9;
  opt_ = std::make_unique<Optimizers>();
  opt_->generator = make_optimizer(adam, gan_->generator_parameters());
  opt_->identity = make_optimizer(sgd, gan_->identity_model()->parameters());
  opt_->discriminator = make_optimizer(adam, gan_->discriminator_parameters());
  std_->set_training(false);
}

IpesTrainer::~IpesTrainer() = default;

IpesLosses IpesTrainer::step(const torch::Tensor& xs, const torch::Tensor& ys,
                             const torch::Tensor& xt, double w2, double w4) {
  // Script builtins run without autograd; training needs it.
  torch::AutoGradMode enable_grad(true);
  IpesGan& g = *gan_;
  g.set_training(true);
  const Switch sw = switch_environments(g, xs, xt);
  const SwitchedBack back = encode_switched(g, sw);
  const auto self = reconstruction_term(g, sw, xs, xt);
  const auto con = consistency_term(sw, back);
  const auto cyc = cycle_term(g, sw, back, xs, xt);
  const auto cam = camera_term(g, sw, back, xs, xt);
  // Eq. 3.12, the generator's side: the switched images should pass for real.
  const auto adv = towards(g.discriminate(sw.x_sg), 1) + towards(g.discriminate(sw.x_tg), 1);

  // §3.2.2: E_id on real source images (eq. 3.15) and on the switched source images, which keep
  // their source labels (eq. 3.17) and should agree with E_std (eq. 3.18).
  const auto ce = F::cross_entropy(sw.id_s.logits, ys);
  const auto soft = soft_ce(back.id_sg.logits, ys, options_.epsilon);
  torch::Tensor std_logits;
  {
    torch::NoGradGuard no_grad;
    std_logits = std_->forward(sw.x_sg.detach());
  }
  const auto kl = kl_to_standard(back.id_sg.logits, std_logits);

  // Eq. 3.19.
  const auto total =
      options_.w_cyc * (cyc + self) + w2 * con + cam + adv + ce + options_.w_soft * soft + w4 * kl;
  opt_->generator->zero_grad();
  opt_->identity->zero_grad();
  total.backward();
  opt_->generator->step();
  opt_->identity->step();

  opt_->discriminator->zero_grad();
  const auto disc = discriminator_loss(g, sw, xs, xt);
  disc.backward();
  opt_->discriminator->step();

  auto value = [](const torch::Tensor& t) { return t.item<double>(); };
  IpesLosses out;
  out.cyc = value(cyc);
  out.self = value(self);
  out.con = value(con);
  out.cam = value(cam);
  out.adv = value(adv);
  out.disc = value(disc);
  out.ce = value(ce);
  out.soft_ce = value(soft);
  out.kl = value(kl);
  out.total = value(total);
  return out;
}

ModelPtr train_standard_cnn(const Dataset& source, int64_t classes, int64_t epochs, uint64_t seed) {
  ZooOptions zoo;
  zoo.classes = classes;
  zoo.channels = 1;
  zoo.height = source.x.size(2);
  zoo.width = source.x.size(3);
  ModelPtr model = make_zoo_model("small_cnn", zoo, mix_seed(seed, 3));
  if (epochs == 0) return model;
  TrainOptions options;
  options.epochs = epochs;
  options.batch = 64;
  options.optimizer.kind = "adam";
  options.optimizer.lr = 1e-3;
  options.seed = mix_seed(seed, 4);
  options.quiet = true;
  train(*model, source, options);
  return model;
}

std::shared_ptr<IpesGan> train_ipes(const Dataset& source_in, const torch::Tensor& target_images,
                                    const IpesTrainOptions& options) {
  const Dataset source = source_in.in_memory();
  if (source.size() == 0) throw Error("train_ipes needs source images, got an empty dataset");
  if (!target_images.defined() || target_images.dim() == 0 || target_images.size(0) == 0) {
    throw Error("train_ipes needs target images, got none");
  }
  const int64_t side = source.x.dim() == 4 ? source.x.size(2) : 0;
  check_images(source.x, side, "the source");
  check_images(target_images, side, "the target");
  if (side % 4 != 0) {
    throw Error("train_ipes needs images whose side is a multiple of 4, got " +
                std::to_string(side));
  }
  if (options.batch < 1 || options.epochs < 1) {
    throw Error("train_ipes needs epochs and batch of at least 1");
  }
  const auto ys = source.y.to(torch::kLong);
  if (ys.min().item<int64_t>() < 0) throw Error("train_ipes: the source labels must be ≥ 0");
  const int64_t classes = ys.max().item<int64_t>() + 1;

  IpesNetOptions net;
  net.classes = classes;
  net.size = side;
  auto gan = std::make_shared<IpesGan>(net, options.seed);
  const auto xs_all = source.x.to(torch::kFloat32);
  const auto xt_all = target_images.to(torch::kCPU, torch::kFloat32);
  gan->source_pool = xs_all;
  gan->target_pool = xt_all;

  ModelPtr std_model = train_standard_cnn(source, classes, options.std_epochs, options.seed);
  IpesTrainer trainer(gan, std_model, options);

  at::Generator gen = make_generator(mix_seed(options.seed, 5));
  const int64_t n = xs_all.size(0);
  const int64_t per_epoch = std::max<int64_t>(1, n / options.batch);
  const int64_t total = per_epoch * options.epochs;
  std::unique_ptr<Progress> bar;
  if (!options.quiet) bar = std::make_unique<Progress>("train_ipes", total);
  int64_t it = 0;
  IpesLosses mean;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const auto order = torch::randperm(n, gen, torch::kLong);
    mean = IpesLosses{};
    for (int64_t b = 0; b < per_epoch; ++b, ++it) {
      const auto rows = order.slice(0, b * options.batch, std::min(n, (b + 1) * options.batch));
      const auto picks = torch::randint(xt_all.size(0), {rows.size(0)}, gen, torch::kLong);
      const double w = ipes_late_weight(it, total, options);
      const IpesLosses l = trainer.step(xs_all.index_select(0, rows), ys.index_select(0, rows),
                                        xt_all.index_select(0, picks), w, w);
      const auto now = l.named();
      double* fields[] = {&mean.cyc,  &mean.self, &mean.con,     &mean.cam, &mean.adv,
                          &mean.disc, &mean.ce,   &mean.soft_ce, &mean.kl,  &mean.total};
      for (size_t k = 0; k < now.size(); ++k) *fields[k] += now[k].second / per_epoch;
      if (!std::isfinite(l.total)) {
        throw Error("train_ipes diverged at iteration " + std::to_string(it + 1) +
                    " (a loss is not finite); try a smaller lr");
      }
      if (bar) bar->advance(1, "cyc " + std::to_string(l.cyc).substr(0, 5));
    }
  }
  if (bar) bar->finish();
  gan->last_losses = mean.named();
  gan->epochs_trained = options.epochs;
  gan->iterations_trained = total;
  gan->set_training(false);
  return gan;
}

}  // namespace perturb
