// The Policy base, composition (sequence, one-of) and the helpers every op shares.
#include "runtime/augment/policy.h"

#include <cmath>
#include <cstdio>
#include <numeric>

#include "runtime/augment/augment_util.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"

namespace perturb {
namespace augment_detail {

std::string num_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string interval_text(const Interval& r) {
  return r.is_point() ? num_text(r.lo) : num_text(r.lo) + ".." + num_text(r.hi);
}

void check_p(const std::string& op, double p) {
  if (!(p >= 0 && p <= 1))
    throw Error(op + ": p must be a probability in [0, 1], got " + num_text(p));
}

void check_interval(const std::string& op, const std::string& param, const Interval& r, double lo,
                    double hi) {
  if (!(r.lo >= lo && r.hi <= hi && r.lo <= r.hi)) {
    throw Error(op + ": " + param + " must lie in [" + num_text(lo) + ", " + num_text(hi) +
                "], got " + interval_text(r));
  }
}

torch::Tensor as_batch(const torch::Tensor& x, const std::string& op) {
  if (!x.defined()) throw Error(op + ": expected images [N, C, H, W], got nothing");
  torch::Tensor b = x.dim() == 3 ? x.unsqueeze(0) : x;
  if (b.dim() != 4 || !b.is_floating_point()) {
    std::string shape = "[";
    for (int64_t d = 0; d < x.dim(); ++d) shape += (d ? ", " : "") + std::to_string(x.size(d));
    throw Error(op + ": expected float images [N, C, H, W] in [0, 1], got shape " + shape + "]");
  }
  return b;
}

torch::Tensor rand(at::IntArrayRef shape, at::Generator& gen) {
  return torch::rand(shape, gen,
                     torch::TensorOptions().dtype(torch::kFloat64).device(gen.device()));
}

torch::Tensor uniform(int64_t n, const Interval& r, at::Generator& gen) {
  torch::Tensor u = rand({n}, gen);
  return r.is_point() ? torch::full_like(u, r.lo) : r.lo + (r.hi - r.lo) * u;
}

at::Generator generator_on(at::Generator& gen, const torch::Device& device) {
  if (gen.device() == device) return gen;
  return make_generator(next_seed(gen), device);
}

torch::Tensor beta(int64_t n, double alpha, at::Generator& gen) {
  at::Generator cpu = generator_on(gen, torch::kCPU);
  torch::Tensor a = torch::full({2, n}, alpha, torch::kFloat64);
  torch::Tensor g = at::_standard_gamma(a, cpu);
  return g[0] / (g[0] + g[1]).clamp_min(1e-12);
}

std::string ProbOp::describe() const {
  std::string params = params_text();
  if (p_ != default_p_) params += std::string(params.empty() ? "" : ", ") + "p: " + num_text(p_);
  return name_ + "(" + params + ")";
}

torch::Tensor ProbOp::select(int64_t n, const torch::Device& device, at::Generator& gen) const {
  if (p_ >= 1) return {};
  torch::Tensor chosen = rand({n}, gen).lt(p_).nonzero().flatten();
  return chosen.to(device);
}

torch::Tensor ProbOp::apply(const torch::Tensor& input, at::Generator& gen) const {
  torch::Tensor x = as_batch(input, name_);
  torch::Tensor out;
  if (p_ <= 0 || x.size(0) == 0) {
    out = x;
  } else {
    torch::Tensor idx = select(x.size(0), x.device(), gen);
    if (!idx.defined()) {
      out = transform(x, gen);
    } else if (idx.numel() == 0) {
      out = x;
    } else {
      out = scatter_rows(x, idx, transform(x.index_select(0, idx), gen));
    }
  }
  return input.dim() == 3 ? out.squeeze(0) : out;
}

torch::Tensor scatter_rows(const torch::Tensor& x, const torch::Tensor& idx,
                           const torch::Tensor& values) {
  return x.index_copy(0, idx, values.to(x.dtype()));
}

torch::Tensor luminance(const torch::Tensor& x) {
  if (x.size(1) != 3) return x;
  return (0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2)).unsqueeze(1);
}

torch::Tensor blend(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& r) {
  torch::Tensor w = r.to(a.device(), a.scalar_type()).view({-1, 1, 1, 1});
  return (w * a + (1 - w) * b).clamp(0, 1);
}

torch::Tensor soft_labels(const AugmentBatch& batch) {
  if (batch.soft_y.defined()) return batch.soft_y;
  if (!batch.y.defined()) throw Error("mixing labels needs the labels y of the batch");
  int64_t classes = batch.classes;
  if (classes <= 0) classes = batch.y.numel() ? batch.y.max().item<int64_t>() + 1 : 1;
  return torch::one_hot(batch.y.to(torch::kLong), classes).to(batch.x.scalar_type());
}

}  // namespace augment_detail

using namespace augment_detail;

AugmentBatch Policy::apply(AugmentBatch batch, at::Generator& gen) const {
  batch.x = apply(batch.x, gen);
  return batch;
}

torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& soft_y) {
  if (logits.sizes() != soft_y.sizes()) {
    throw Error("soft_cross_entropy: logits and soft labels must have the same shape [N, classes]");
  }
  return -(soft_y.to(logits.dtype()) * torch::log_softmax(logits, 1)).sum(1).mean();
}

namespace {

class Sequence : public Policy {
 public:
  explicit Sequence(std::vector<PolicyPtr> steps) : steps_(std::move(steps)) {}
  std::string name() const override { return "Sequence"; }
  std::string describe() const override {
    std::string text;
    for (const auto& s : steps_) {
      std::string d = s->describe();
      if (dynamic_cast<const Sequence*>(s.get()) == nullptr && d.find(" | ") != std::string::npos)
        d = "(" + d + ")";
      text += (text.empty() ? "" : " >> ") + d;
    }
    return text;
  }
  AugmentBatch apply(AugmentBatch batch, at::Generator& gen) const override {
    for (const auto& s : steps_) batch = s->apply(std::move(batch), gen);
    return batch;
  }
  torch::Tensor apply(const torch::Tensor& x, at::Generator& gen) const override {
    torch::Tensor out = x;
    for (const auto& s : steps_) out = s->apply(out, gen);
    return out;
  }
  bool mixes_labels() const override {
    for (const auto& s : steps_)
      if (s->mixes_labels()) return true;
    return false;
  }

 private:
  std::vector<PolicyPtr> steps_;
};

class OneOf : public Policy {
 public:
  OneOf(std::vector<PolicyPtr> options, std::vector<double> weights, bool from_union = false)
      : options_(std::move(options)), weights_(std::move(weights)), from_union_(from_union) {}
  bool from_union() const { return from_union_; }
  const std::vector<PolicyPtr>& options() const { return options_; }
  std::string name() const override { return "OneOf"; }
  std::string describe() const override {
    bool equal = true;
    for (double w : weights_) equal = equal && w == weights_[0];
    if (equal) {
      std::string text;
      for (const auto& o : options_) {
        std::string d = o->describe();
        if (d.find(" >> ") != std::string::npos) d = "(" + d + ")";
        text += (text.empty() ? "" : " | ") + d;
      }
      return text;
    }
    std::string list, ws;
    for (size_t i = 0; i < options_.size(); ++i) {
      list += (i ? ", " : "") + options_[i]->describe();
      ws += (i ? ", " : "") + num_text(weights_[i]);
    }
    return "OneOf([" + list + "], weights: [" + ws + "])";
  }
  // Per sample, the index of the option that handles it.
  torch::Tensor choose(int64_t n, at::Generator& gen) const {
    torch::Tensor w = torch::tensor(weights_, torch::kFloat64).to(gen.device());
    return torch::multinomial(w, n, /*replacement=*/true, gen).to(torch::kCPU);
  }
  AugmentBatch apply(AugmentBatch batch, at::Generator& gen) const override {
    torch::Tensor x = as_batch(batch.x, "OneOf");
    const int64_t n = x.size(0);
    if (n == 0) return batch;
    torch::Tensor choice = choose(n, gen);
    std::vector<AugmentBatch> parts(options_.size());
    std::vector<torch::Tensor> indices(options_.size());
    bool soft = batch.soft_y.defined();
    for (size_t k = 0; k < options_.size(); ++k) {
      torch::Tensor idx = choice.eq(static_cast<int64_t>(k)).nonzero().flatten();
      if (idx.numel() == 0) continue;
      indices[k] = idx.to(x.device());
      AugmentBatch part;
      part.x = x.index_select(0, indices[k]);
      if (batch.y.defined()) part.y = batch.y.index_select(0, indices[k].to(batch.y.device()));
      if (batch.soft_y.defined()) part.soft_y = batch.soft_y.index_select(0, indices[k]);
      part.classes = batch.classes;
      parts[k] = options_[k]->apply(std::move(part), gen);
      soft = soft || parts[k].soft_y.defined();
    }
    torch::Tensor out_x = x.clone();
    torch::Tensor out_soft;
    if (soft) {
      AugmentBatch whole = batch;
      whole.x = x;
      out_soft = soft_labels(whole).clone();
    }
    for (size_t k = 0; k < options_.size(); ++k) {
      if (!indices[k].defined()) continue;
      out_x.index_copy_(0, indices[k], parts[k].x.to(out_x.dtype()));
      if (soft) {
        AugmentBatch& part = parts[k];
        if (!part.soft_y.defined()) {
          part.classes = out_soft.size(1);
        }
        out_soft.index_copy_(0, indices[k], soft_labels(part).to(out_soft.dtype()));
      }
    }
    batch.x = batch.x.dim() == 3 ? out_x.squeeze(0) : out_x;
    if (soft) batch.soft_y = out_soft;
    return batch;
  }
  torch::Tensor apply(const torch::Tensor& x, at::Generator& gen) const override {
    AugmentBatch batch;
    batch.x = x;
    return apply(std::move(batch), gen).x;
  }
  bool mixes_labels() const override {
    for (const auto& o : options_)
      if (o->mixes_labels()) return true;
    return false;
  }

 private:
  std::vector<PolicyPtr> options_;
  std::vector<double> weights_;
  bool from_union_ = false;
};

}  // namespace

PolicyPtr make_union(PolicyPtr a, PolicyPtr b) {
  if (!a || !b) throw Error("'|' needs two policies");
  std::vector<PolicyPtr> options;
  for (const PolicyPtr& side : {a, b}) {
    auto one_of = std::dynamic_pointer_cast<const OneOf>(side);
    if (one_of && one_of->from_union()) {
      options.insert(options.end(), one_of->options().begin(), one_of->options().end());
    } else {
      options.push_back(side);
    }
  }
  std::vector<double> weights(options.size(), 1.0);
  return std::make_shared<OneOf>(std::move(options), std::move(weights), true);
}

PolicyPtr make_sequence(std::vector<PolicyPtr> steps) {
  std::vector<PolicyPtr> flat;
  for (auto& s : steps) {
    if (!s) throw Error("a policy sequence needs policies, got nothing");
    flat.push_back(std::move(s));
  }
  if (flat.empty()) throw Error("a policy sequence needs at least one policy");
  if (flat.size() == 1) return flat[0];
  return std::make_shared<Sequence>(std::move(flat));
}

PolicyPtr make_one_of(std::vector<PolicyPtr> options, std::vector<double> weights) {
  if (options.empty()) throw Error("OneOf needs at least one policy");
  for (const auto& o : options)
    if (!o) throw Error("OneOf needs policies, got nothing");
  if (weights.empty()) weights.assign(options.size(), 1.0);
  if (weights.size() != options.size()) {
    throw Error("OneOf: " + std::to_string(options.size()) + " policies but " +
                std::to_string(weights.size()) + " weights");
  }
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w))
      throw Error("OneOf: weights must be finite and >= 0, got " + num_text(w));
    total += w;
  }
  if (total <= 0) throw Error("OneOf: at least one weight must be positive");
  return std::make_shared<OneOf>(std::move(options), std::move(weights));
}

}  // namespace perturb
