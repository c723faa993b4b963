#include "runtime/augment/cmda.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "runtime/augment/augment_util.h"
#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"

namespace perturb {
namespace {

namespace F = torch::nn::functional;

torch::Tensor unit_rows(const torch::Tensor& z) {
  return F::normalize(z, F::NormalizeFuncOptions().dim(1));
}

// Checks the modalities and returns the similarity matrices S_pq = sim(z^p, z^q)/τ for every
// ordered pair p ≠ q, stacked [P, m, m].
torch::Tensor pair_similarities(const std::vector<torch::Tensor>& z, double tau, const char* what) {
  if (z.size() < 2) throw Error(std::string(what) + " needs at least 2 modalities");
  if (!(tau > 0)) throw Error(std::string(what) + ": the temperature must be positive");
  const int64_t m = z[0].dim() == 2 ? z[0].size(0) : -1;
  for (const auto& zk : z) {
    if (zk.dim() != 2 || zk.size(0) != m || zk.size(1) != z[0].size(1)) {
      throw Error(std::string(what) +
                  " needs every modality's latents as [m, d] of the same m and d");
    }
  }
  if (m < 2) throw Error(std::string(what) + " needs at least 2 samples in the batch");
  std::vector<torch::Tensor> unit;
  for (const auto& zk : z) unit.push_back(unit_rows(zk));
  std::vector<torch::Tensor> s;
  for (size_t p = 0; p < z.size(); ++p) {
    for (size_t q = 0; q < z.size(); ++q) {
      if (p != q) s.push_back(unit[p].matmul(unit[q].t()) / tau);
    }
  }
  return torch::stack(s);
}

// log Σ_{p≠q} Σ_{l≠i} e(i,l)^{p,q}: the denominators of eq. 7 and 8, [m].
torch::Tensor log_denominator(const torch::Tensor& s) {
  const int64_t m = s.size(1);
  auto eye = torch::eye(m, torch::TensorOptions().dtype(torch::kBool).device(s.device()));
  auto masked = s.masked_fill(eye.unsqueeze(0), -std::numeric_limits<double>::infinity());
  return masked.permute({1, 0, 2}).reshape({m, -1}).logsumexp(1);
}

// ---- A word tokenizer and the bag-of-words two-tower space ----

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

class BagTokenizer : public Tokenizer {
 public:
  BagTokenizer(const std::vector<std::string>& corpus, int64_t max_length)
      : max_length_(max_length) {
    words_ = {"<pad>", "<unk>"};
    for (const auto& text : corpus) {
      for (const auto& w : words_of(text)) {
        if (!ids_.count(w)) {
          ids_[w] = static_cast<int64_t>(words_.size());
          words_.push_back(w);
        }
      }
    }
  }
  TokenBatch encode(const std::vector<std::string>& texts) const override {
    const int64_t n = static_cast<int64_t>(texts.size());
    auto ids = torch::zeros({n, max_length_}, torch::kInt64);
    auto mask = torch::zeros({n, max_length_}, torch::kInt64);
    auto iv = ids.accessor<int64_t, 2>();
    auto mv = mask.accessor<int64_t, 2>();
    for (int64_t i = 0; i < n; ++i) {
      auto ws = words_of(texts[static_cast<size_t>(i)]);
      for (int64_t k = 0; k < std::min<int64_t>(max_length_, ws.size()); ++k) {
        auto it = ids_.find(ws[static_cast<size_t>(k)]);
        iv[i][k] = it == ids_.end() ? 1 : it->second;
        mv[i][k] = 1;
      }
    }
    return {ids, mask};
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(words_.size()); }
  int64_t max_length() const override { return max_length_; }
  std::string describe() const override {
    return "bag_of_words(vocab: " + std::to_string(vocab_size()) + ")";
  }
  std::string serialize() const override {
    std::string out;
    for (size_t i = 2; i < words_.size(); ++i) out += words_[i] + "\n";
    return out;
  }

 private:
  int64_t max_length_;
  std::vector<std::string> words_;
  std::map<std::string, int64_t> ids_;
};

struct SpaceNet : torch::nn::Module {
  SpaceNet(int64_t in, int64_t vocab, int64_t hidden, int64_t dim) {
    image = register_module("image",
                            torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(),
                                                  torch::nn::Linear(hidden, dim)));
    text = register_module(
        "text", torch::nn::Sequential(torch::nn::Linear(vocab, hidden), torch::nn::ReLU(),
                                      torch::nn::Linear(hidden, dim)));
    // log(1/τ) with CLIP's initial τ = 0.07; eq. 7/8 training uses its own fixed τ.
    logit_scale = register_parameter("logit_scale", torch::full({}, std::log(1 / 0.07)));
  }
  torch::nn::Sequential image{nullptr}, text{nullptr};
  torch::Tensor logit_scale;
};

class CmdaSpace : public TwoTower {
 public:
  CmdaSpace(std::vector<int64_t> image_shape, std::shared_ptr<const BagTokenizer> tokenizer,
            const SpaceOptions& o)
      : image_shape_(std::move(image_shape)), tokenizer_(std::move(tokenizer)), options_(o) {
    SeededConstruction seeded(o.seed);
    int64_t in = 1;
    for (auto s : image_shape_) in *= s;
    net_ = std::make_shared<SpaceNet>(in, tokenizer_->vocab_size(), o.hidden, o.dim);
  }
  torch::Tensor encode_image(const torch::Tensor& images) override {
    bool ok = images.dim() == 4 && images.size(1) == image_shape_[0] &&
              images.size(2) == image_shape_[1] && images.size(3) == image_shape_[2];
    if (!ok) {
      std::ostringstream s;
      s << "the CMDA space's image tower takes images [N, " << image_shape_[0] << ", "
        << image_shape_[1] << ", " << image_shape_[2] << "], got " << images.sizes();
      throw Error(s.str());
    }
    return net_->image->forward(images.to(device_, torch::kFloat32).flatten(1));
  }
  torch::Tensor encode_text(const std::vector<std::string>& texts) override {
    auto tok = tokenizer_->encode(texts);
    const int64_t n = tok.ids.size(0);
    auto mask = tok.mask.to(torch::kFloat32);
    auto bag = torch::zeros({n, tokenizer_->vocab_size()}).scatter_add_(1, tok.ids, mask);
    bag = bag / mask.sum(1, true).clamp_min(1);
    return net_->text->forward(bag.to(device_));
  }
  torch::Tensor logit_scale() override { return net_->logit_scale; }
  TokenizerPtr tokenizer() const override { return tokenizer_; }
  std::vector<torch::Tensor> parameters() override { return net_->parameters(); }
  std::vector<torch::Tensor> image_parameters() override { return net_->image->parameters(); }
  void set_training(bool training) override { net_->train(training); }
  bool training() const override { return net_->is_training(); }
  void to(torch::Device device) override {
    net_->to(device);
    device_ = device;
  }
  torch::Device device() const override { return device_; }
  std::string describe() const override {
    return "cmda_space(dim: " + std::to_string(options_.dim) +
           ", hidden: " + std::to_string(options_.hidden) +
           ", vocab: " + std::to_string(tokenizer_->vocab_size()) + ")";
  }
  void save(const std::string& path) const override {
    throw Error(
        "a cmda_space cannot be saved (it trains in seconds: build it again); not written: " +
        path);
  }

 private:
  std::vector<int64_t> image_shape_;
  std::shared_ptr<const BagTokenizer> tokenizer_;
  SpaceOptions options_;
  std::shared_ptr<SpaceNet> net_;
  torch::Device device_ = torch::kCPU;
};

std::string num(double v) {
  return augment_detail::num_text(v);
}

}  // namespace

// ---- eq. 7, 8 ----

torch::Tensor cmda_unsupervised_terms(const std::vector<torch::Tensor>& z, double tau) {
  auto s = pair_similarities(z, tau, "the unsupervised multi-modal contrastive loss (eq. 7)");
  // Numerator: the same sample i in the two modalities, every ordered pair p ≠ q.
  auto num = s.diagonal(0, 1, 2).logsumexp(0);  // [m]
  return log_denominator(s) - num;
}

torch::Tensor cmda_supervised_terms(const std::vector<torch::Tensor>& z, const torch::Tensor& y,
                                    double tau) {
  auto s = pair_similarities(z, tau, "the supervised multi-modal contrastive loss (eq. 8)");
  const int64_t m = s.size(1);
  if (!y.defined() || y.dim() != 1 || y.size(0) != m) {
    throw Error("the supervised multi-modal contrastive loss (eq. 8) needs one label per sample");
  }
  auto labels = y.to(s.device(), torch::kInt64);
  auto same = labels.unsqueeze(0).eq(labels.unsqueeze(1)).to(s.scalar_type());  // [m, m]
  auto log_ratio = s.logsumexp(0) - log_denominator(s).unsqueeze(1);            // [i, j]
  auto count = (same.sum(1) - 1).clamp_min(1);                                  // m_{y_i} − 1
  return -(same * log_ratio).sum(1) / count;
}

std::vector<SpaceEpoch> train_common_space(TwoTower& space, const PairedDataset& data,
                                           const SpaceTrainOptions& o) {
  data.check();
  if (o.epochs < 0) throw Error("epochs must not be negative");
  if (o.batch < 2) throw Error("the contrastive space needs batches of at least 2 pairs");
  if (!(o.lr > 0)) throw Error("the learning rate must be positive");
  if (o.supervised && !data.labels.defined()) {
    throw Error("the supervised loss (eq. 8) needs labelled pairs; " + data.name + " has none");
  }
  if (data.size() < 2) throw Error("the contrastive space needs at least 2 pairs");
  torch::AutoGradMode grad(true);
  TwoTowerModeGuard mode(space, true);
  torch::optim::Adam opt(space.parameters(), torch::optim::AdamOptions(o.lr));
  auto root = make_generator(o.seed);
  std::vector<SpaceEpoch> out;
  const int64_t n = data.size();
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    auto order = torch::randperm(n, root, torch::TensorOptions().dtype(torch::kInt64));
    auto pick = torch::rand({n}, root, torch::TensorOptions().dtype(torch::kFloat64));
    double sum = 0;
    int64_t seen = 0;
    std::unique_ptr<Progress> progress;
    if (!o.quiet) {
      progress = std::make_unique<Progress>(
          "space epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), n);
    }
    for (int64_t start = 0; start + 1 < n; start += o.batch) {
      const int64_t end = std::min(start + o.batch, n);
      if (end - start < 2) break;
      auto idx = order.slice(0, start, end);
      auto images = data.images.index_select(0, idx);
      std::vector<std::string> captions;
      auto iv = idx.accessor<int64_t, 1>();
      auto pv = pick.accessor<double, 1>();
      for (int64_t k = 0; k < idx.size(0); ++k) {
        const auto& caps = data.captions[static_cast<size_t>(iv[k])];
        auto c = std::min<size_t>(caps.size() - 1, static_cast<size_t>(pv[iv[k]] * caps.size()));
        captions.push_back(caps[c]);
      }
      std::vector<torch::Tensor> z{space.encode_image(images.to(space.device())),
                                   space.encode_text(captions)};
      auto terms = o.supervised ? cmda_supervised_terms(z, data.labels.index_select(0, idx), o.tau)
                                : cmda_unsupervised_terms(z, o.tau);
      auto loss = terms.mean();
      opt.zero_grad();
      loss.backward();
      opt.step();
      sum += loss.item<double>() * static_cast<double>(end - start);
      seen += end - start;
      if (progress) progress->advance(end - start, "loss " + num(sum / seen));
    }
    if (progress) progress->finish();
    out.push_back({epoch, seen > 0 ? sum / static_cast<double>(seen) : 0});
    spdlog::info("CMDA space epoch {}/{}: loss {:.4f}", epoch, o.epochs, out.back().loss);
  }
  return out;
}

TwoTowerPtr make_cmda_space(const PairedDataset& data, const SpaceOptions& o) {
  data.check();
  if (o.dim < 1 || o.hidden < 1) throw Error("the CMDA space's dim and hidden must be positive");
  if (data.images.dim() != 4) throw Error("the CMDA space needs images N×C×H×W");
  auto tok = std::make_shared<const BagTokenizer>(data.all_captions(), 64);
  return std::make_shared<CmdaSpace>(
      std::vector<int64_t>{data.images.size(1), data.images.size(2), data.images.size(3)}, tok, o);
}

torch::Tensor caption_indices(const PairedDataset& data) {
  data.check();
  size_t k = 1;
  for (const auto& caps : data.captions) k = std::max(k, caps.size());
  const int64_t n = data.size();
  auto index = torch::empty({n, static_cast<int64_t>(k)}, torch::kInt64);
  auto iv = index.accessor<int64_t, 2>();
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto c = static_cast<int64_t>(data.captions[static_cast<size_t>(i)].size());
    for (int64_t j = 0; j < static_cast<int64_t>(k); ++j) iv[i][j] = offset + j % c;
    offset += c;
  }
  return index;
}

torch::Tensor caption_latents(TwoTower& space, const PairedDataset& data, int64_t batch) {
  auto index = caption_indices(data);
  TwoTowerModeGuard mode(space, false);
  auto latents = embed_texts(space, data.all_captions(), batch).to(torch::kCPU, torch::kFloat32);
  return latents.index_select(0, index.flatten()).view({index.size(0), index.size(1), -1});
}

// ---- DCA ----

torch::Tensor inter_modal_weights(const torch::Tensor& teacher, const torch::Tensor& student,
                                  int64_t samples) {
  if (teacher.dim() != 2 || student.dim() != 2 || teacher.size(1) != student.size(1)) {
    throw Error("inter-modal weights need teacher [m', d] and student [m, d] latents");
  }
  auto dots = teacher.to(torch::kFloat64).matmul(student.to(torch::kFloat64).t()).clamp_min(0);
  const int64_t m = student.size(0);
  if (samples > 0 && samples < m) {
    auto kth = std::get<0>(dots.topk(samples, 1)).select(1, samples - 1).unsqueeze(1);
    dots = torch::where(dots.ge(kth), dots, torch::zeros_like(dots));
  }
  auto sum = dots.sum(1, true);
  torch::Tensor fallback = teacher.size(0) == m
                               ? torch::eye(m, dots.options())
                               : torch::full_like(dots, 1.0 / static_cast<double>(m));
  auto empty = sum.le(0);
  return torch::where(empty, fallback, dots / sum.clamp_min(1e-300));
}

torch::Tensor intra_modal_weights(const torch::Tensor& responsibilities) {
  if (responsibilities.dim() != 2) throw Error("intra-modal weights need responsibilities [m, M]");
  auto r = responsibilities.to(torch::kFloat64);
  auto c = r.argmax(1);                         // c_k
  auto to_cluster_of_j = r.index_select(1, c);  // [i, j] = r_i(c_j)
  auto own = r.gather(1, c.unsqueeze(1));       // [i, 1] = r_i(c_i)
  return to_cluster_of_j + own;
}

torch::Tensor dca_weights(const torch::Tensor& inter, const torch::Tensor& intra) {
  if (!inter.sizes().equals(intra.sizes())) {
    throw Error("DCA needs inter- and intra-modal weights of the same shape");
  }
  auto prod = inter.to(torch::kFloat64) * intra.to(torch::kFloat64);
  auto sum = prod.sum(1, true);
  return torch::where(sum.le(0), inter.to(torch::kFloat64), prod / sum.clamp_min(1e-300));
}

torch::Tensor interpolate_raw(const torch::Tensor& x, const torch::Tensor& weights) {
  if (weights.dim() != 2 || weights.size(1) != x.size(0)) {
    throw Error("interpolation weights must be [m', m] for a batch of m samples");
  }
  auto flat = x.flatten(1);
  auto out = weights.to(flat.device(), flat.scalar_type()).matmul(flat);
  auto shape = x.sizes().vec();
  shape[0] = weights.size(0);
  return out.view(shape);
}

// ---- The policy ----

CmdaPolicy::CmdaPolicy(CmdaOptions options, TwoTowerPtr space)
    : options_(std::move(options)), space_(std::move(space)) {
  augment_detail::check_p("CMDA", options_.p);
  if (options_.teacher != "text") {
    throw Error("CMDA: the teacher modality must be \"text\" (the captions), got \"" +
                options_.teacher + "\"");
  }
  if (options_.clusters < 0) {
    throw Error("CMDA: clusters must be at least 1 (or 0 to choose it by BIC), got " +
                std::to_string(options_.clusters));
  }
  if (options_.samples < 0) throw Error("CMDA: samples must not be negative");
  if (!(options_.lambda >= 0)) throw Error("CMDA: lambda must not be negative");
  if (!(options_.space_lr > 0)) throw Error("CMDA: the space's learning rate must be positive");
  if (!(options_.tau > 0)) throw Error("CMDA: tau must be positive");
  if (options_.cluster_on != "teacher" && options_.cluster_on != "student") {
    throw Error("CMDA: cluster_on must be \"teacher\" or \"student\", got \"" +
                options_.cluster_on + "\"");
  }
}

std::string CmdaPolicy::describe() const {
  std::string s =
      "CMDA(teacher: \"" + options_.teacher + "\", clusters: " + std::to_string(options_.clusters);
  if (options_.p != 0.5) s += ", p: " + num(options_.p);
  if (options_.samples != 0) s += ", samples: " + std::to_string(options_.samples);
  if (options_.cluster_on != "teacher") s += ", cluster_on: \"" + options_.cluster_on + "\"";
  if (options_.joint) {
    s += ", joint: true, lambda: " + num(options_.lambda) + ", lr: " + num(options_.space_lr);
    if (options_.supervised) s += ", loss: \"supervised\"";
  }
  if (space_) s += ", space: " + space_->describe();
  return s + ")";
}

std::shared_ptr<const CmdaPolicy> CmdaPolicy::with_space(TwoTowerPtr space) const {
  return std::make_shared<const CmdaPolicy>(options_, std::move(space));
}

std::shared_ptr<const CmdaPolicy> CmdaPolicy::joint_with(
    TwoTowerPtr space, std::shared_ptr<const std::vector<std::string>> captions) const {
  auto p = std::make_shared<CmdaPolicy>(options_, std::move(space));
  p->captions_ = std::move(captions);
  p->optimizer_ = std::make_shared<torch::optim::SGD>(p->space_->parameters(),
                                                      torch::optim::SGDOptions(options_.space_lr));
  return p;
}

void CmdaPolicy::joint_step(const torch::Tensor& x, const torch::Tensor& y,
                            const std::vector<std::string>& captions) const {
  torch::AutoGradMode grad(true);
  TwoTowerModeGuard mode(*space_, true);
  std::vector<torch::Tensor> z{space_->encode_image(x.to(space_->device())),
                               space_->encode_text(captions)};
  if (options_.supervised && !y.defined()) {
    throw Error("CMDA(loss: \"supervised\") needs the batch's labels (eq. 8)");
  }
  auto terms = options_.supervised ? cmda_supervised_terms(z, y, options_.tau)
                                   : cmda_unsupervised_terms(z, options_.tau);
  // eq. 9: the space's share of L_f + λ·L_g (L_f does not depend on the space's parameters).
  auto loss = options_.lambda * terms.mean();
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
}

torch::Tensor CmdaPolicy::apply(const torch::Tensor&, at::Generator&) const {
  throw Error(
      "CMDA interpolates images with advice from their captions, and images alone carry no "
      "captions: use it on paired data, train(model, pairs, augment: cm)");
}

namespace {

void check_cmda_batch(const AugmentBatch& batch, int64_t n, bool has_space) {
  if (!batch.teacher.defined()) {
    throw Error(
        "CMDA needs the teacher modality (the captions) of every image, and this batch has images "
        "only: train on paired data, train(model, pairs, augment: cm), with CMDA as the policy "
        "itself (not inside >>, | or OneOf)");
  }
  if (!has_space) {
    throw Error(
        "CMDA has no latent space: give it one, CMDA(teacher: \"text\", space: m), or use it in "
        "train(model, pairs, augment: cm), which learns one from the pairs (eq. 7)");
  }
  if (batch.teacher.size(0) != n) {
    throw Error("CMDA: the batch has " + std::to_string(n) + " images but " +
                std::to_string(batch.teacher.size(0)) + " teacher samples");
  }
}

// Row i of t [N, K, ...] at a column drawn uniformly from its K: one of each image's captions.
torch::Tensor one_per_sample(const torch::Tensor& t, at::Generator& gen) {
  const int64_t n = t.size(0);
  auto k = torch::randint(t.size(1), {n}, gen, torch::TensorOptions().dtype(torch::kInt64));
  return t.index({torch::arange(n), k});
}

// Student latents ẑ_j = g^(s)(x̂_j) (Algorithm 1 line 9), unit rows.
torch::Tensor student_latents(TwoTower& space, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  TwoTowerModeGuard mode(space, false);
  return unit_rows(space.encode_image(x.to(space.device())).to(torch::kCPU, torch::kFloat32));
}

// Intra-modal relations: a mixture fitted to this batch (Algorithm 1 line 5).
Gmm batch_mixture(const torch::Tensor& points, const CmdaOptions& options, at::Generator& gen) {
  const int64_t n = points.size(0);
  if (options.clusters == 0)
    return select_gmm(points, std::min<int64_t>(6, n), options.gmm, gen).model;
  GmmOptions g = options.gmm;
  g.components = std::min(options.clusters, n);
  return fit_gmm(points, g, gen);
}

// The DCA weights [n, n] float64 of eq. 10–11 from teacher t and student s latents.
torch::Tensor batch_dca_weights(const torch::Tensor& t, const torch::Tensor& s,
                                const CmdaOptions& options, at::Generator& gen) {
  if (s.size(1) != t.size(1)) {
    throw Error("CMDA: the teacher latents have " + std::to_string(t.size(1)) +
                " dimensions and the space's image embeddings " + std::to_string(s.size(1)));
  }
  auto inter = inter_modal_weights(t, s, options.samples);
  const auto& points = options.cluster_on == "teacher" ? t : s;
  auto intra = intra_modal_weights(batch_mixture(points, options, gen).responsibilities(points));
  return dca_weights(inter, intra);
}

// Each sample, with chance p, becomes its interpolation x_new of eq. 11, with its soft labels
// mixed by the same weights.
AugmentBatch replace_selected(AugmentBatch batch, const torch::Tensor& x, const torch::Tensor& w,
                              double p, at::Generator& gen) {
  const int64_t n = x.size(0);
  auto mixed = interpolate_raw(x, w).clamp(0, 1);
  torch::Tensor selected =
      p >= 1 ? torch::ones({n}, torch::kBool)
             : torch::rand({n}, gen, torch::TensorOptions().dtype(torch::kFloat64)).lt(p);
  auto sel_x = selected.to(x.device()).view({-1, 1, 1, 1});
  auto out = torch::where(sel_x, mixed.to(x.scalar_type()), x);
  batch.x = batch.x.dim() == 3 ? out.squeeze(0) : out;
  if (batch.y.defined() || batch.soft_y.defined()) {
    AugmentBatch whole = batch;
    whole.x = x;
    torch::Tensor soft = augment_detail::soft_labels(whole);
    torch::Tensor soft_mixed = w.to(soft.device(), soft.scalar_type()).matmul(soft);
    batch.soft_y = torch::where(selected.to(soft.device()).view({-1, 1}), soft_mixed, soft);
  }
  return batch;
}

}  // namespace

torch::Tensor CmdaPolicy::joint_teacher_latents(const torch::Tensor& caption_ids,
                                                const torch::Tensor& x, const torch::Tensor& y,
                                                at::Generator& gen) const {
  if (!captions_ || !optimizer_ || caption_ids.is_floating_point() || caption_ids.dim() != 2) {
    throw Error(
        "CMDA(joint: true) learns its space with the classifier: use it directly in "
        "train(model, pairs, augment: cm)");
  }
  auto idx = one_per_sample(caption_ids.to(torch::kInt64), gen);
  std::vector<std::string> caps;
  auto iv = idx.accessor<int64_t, 1>();
  for (int64_t i = 0; i < idx.size(0); ++i) {
    caps.push_back((*captions_)[static_cast<size_t>(iv[i])]);
  }
  joint_step(x, y, caps);
  torch::NoGradGuard no_grad;
  TwoTowerModeGuard mode(*space_, false);
  return space_->encode_text(caps).to(torch::kCPU, torch::kFloat32);
}

torch::Tensor CmdaPolicy::teacher_latents(const AugmentBatch& batch, const torch::Tensor& x,
                                          at::Generator& gen) const {
  torch::Tensor t = batch.teacher.detach().to(torch::kCPU);
  if (options_.joint) {
    t = joint_teacher_latents(t, x, batch.y, gen);
  } else {
    t = t.to(torch::kFloat32);
    if (t.dim() == 3) t = one_per_sample(t, gen);
  }
  if (t.dim() != 2) throw Error("CMDA: teacher latents must be [N, d] or [N, K, d]");
  return unit_rows(t);
}

AugmentBatch CmdaPolicy::apply(AugmentBatch batch, at::Generator& gen) const {
  torch::Tensor x = augment_detail::as_batch(batch.x, "CMDA");
  check_cmda_batch(batch, x.size(0), space_ != nullptr);
  if (x.size(0) < 2 || options_.p <= 0) return batch;
  at::Generator cpu_gen = gen.device().is_cpu() ? gen : make_generator(next_seed(gen));
  const torch::Tensor t = teacher_latents(batch, x, cpu_gen);
  const torch::Tensor s = student_latents(*space_, x);
  const torch::Tensor w = batch_dca_weights(t, s, options_, cpu_gen);
  return replace_selected(std::move(batch), x, w, options_.p, cpu_gen);
}

}  // namespace perturb
