// Square attack (Andriushchenko et al. 2020, Algorithm 1 and Sec. 3.1-3.2), score-based, with
// AutoAttack's square.py schedule and margin loss.
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

using torch::indexing::Slice;

// Margin z_y − max_{j≠y} z_j per sample from the scores alone (no gradient); counts queries.
// With square.py's default loss "margin" this is both the loss and the success test (≤ 0).
torch::Tensor margin(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                     AttackStats* stats) {
  torch::NoGradGuard no_grad;
  if (stats) stats->queries += x.size(0);
  auto logits = model.forward(x).detach().clone();  // scores only; never written in place
  const auto own = logits.gather(1, y.unsqueeze(1)).squeeze(1);
  logits.scatter_(1, y.unsqueeze(1), -std::numeric_limits<float>::infinity());
  return own - logits.amax(1);
}

// ±1 with equal probability, shaped `shape`.
torch::Tensor random_sign(const std::vector<int64_t>& shape, at::Generator& gen,
                          const torch::Tensor& like) {
  auto t = torch::rand(shape, gen, torch::TensorOptions().device(gen.device()));
  return torch::sign(2 * t - 1).to(like.device(), like.scalar_type());
}

// Per-sample L2 norm shaped [N, 1, 1, 1].
torch::Tensor l2(const torch::Tensor& t) {
  return per_sample(sample_norms(t, "L2"), t);
}

// The L2 attack's building block (Sec. 3.2): concentric rectangles of weight 1/(k+1)², x rows
// by y columns, unit norm.
torch::Tensor eta_rectangles(int64_t x, int64_t y) {
  auto delta = torch::zeros({x, y});
  int64_t c0 = x / 2, c1 = y / 2;
  for (int64_t k = 0; k < std::max(x / 2 + 1, y / 2 + 1); ++k) {
    delta.index({Slice(std::max<int64_t>(c0, 0), std::min(c0 + 2 * k + 1, x)),
                 Slice(std::max<int64_t>(c1, 0), std::min(c1 + 2 * k + 1, y))}) +=
        1.0 / static_cast<double>((k + 1) * (k + 1));
    --c0;
    --c1;
  }
  return delta / delta.pow(2).sum().sqrt();
}

// Two rectangles of opposite sign, unit norm, transposed with probability 1/2.
torch::Tensor pseudo_gaussian(int64_t s, at::Generator& gen) {
  auto delta = torch::zeros({s, s});
  const int64_t half = s / 2;
  delta.index_put_({Slice(0, half)}, eta_rectangles(half, s));
  delta.index_put_({Slice(half, s)}, -eta_rectangles(s - half, s));
  delta = delta / delta.pow(2).sum().sqrt();
  if (draw_uniform(gen) > 0.5) delta = delta.t().contiguous();
  return delta;
}

class Square : public Attack {
 public:
  Square(ThreatPtr threat, SquareOptions options) : threat_(std::move(threat)), options_(options) {
    if (threat_->name() != "Linf" && threat_->name() != "L2") {
      throw Error("Square works in Linf and L2 threats, got " + threat_->name());
    }
    if (options_.queries < 1) throw Error("Square queries must be at least 1");
    if (options_.restarts < 1) throw Error("Square restarts must be at least 1");
    if (options_.p_init <= 0 || options_.p_init > 1) {
      throw Error("Square p_init must be in (0, 1], got " + format_number(options_.p_init));
    }
  }

  std::string name() const override { return "Square"; }
  std::string describe() const override {
    return "Square(" + threat_->describe() + ", queries: " + std::to_string(options_.queries) +
           ", p_init: " + format_number(options_.p_init) +
           ", restarts: " + std::to_string(options_.restarts) +
           (rescale_schedule_ ? "" : ", rescale_schedule: false") +
           (early_stop_ ? ", early_stop: true" : "") + ")";
  }
  ThreatPtr threat() const override { return threat_; }
  // Square takes a fooled sample out at once in any case (square.py's idx_to_fool: only
  // samples with margin > 0 are queried, and a restart runs only on those still robust), and
  // its result is its first adversarial point; early_stop is accepted and changes nothing.
  bool can_stop_early() const override { return true; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    ModeGuard eval(model, /*training=*/false);
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    if (x.dim() != 4) {
      throw Error("Square needs image inputs [N, C, H, W], got " + format_shape(x.sizes().vec()));
    }
    auto result = x.clone();
    // Samples already misclassified are left alone (AutoAttack attacks the correct ones only).
    auto todo_mask = margin(model, x, y, stats) > 0;
    for (int64_t r = 0; r < options_.restarts; ++r) {
      const auto todo = todo_mask.nonzero().reshape({-1});
      if (todo.numel() == 0) break;
      const auto xs = x.index_select(0, todo), ys = y.index_select(0, todo);
      auto [adv, margins] = threat_->name() == "Linf" ? run_linf(model, xs, ys, gen, stats)
                                                      : run_l2(model, xs, ys, gen, stats);
      result.index_put_({todo}, adv);
      todo_mask.index_put_({todo}, margins > 0);
    }
    return threat_->project(result, x);
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    SquareOptions options = options_;
    bool rescale = rescale_schedule_;
    bool early_stop = early_stop_;
    for (const auto& [key, value] : params) {
      if (key == "queries") options.queries = param_count("Square", key, value, 1);
      if (key == "p_init") options.p_init = param_number("Square", key, value);
      if (key == "restarts") options.restarts = param_count("Square", key, value, 1);
      if (key == "rescale_schedule") rescale = param_bool("Square", key, value);
      if (key == "early_stop") early_stop = param_bool("Square", key, value);
    }
    auto out = std::make_shared<Square>(
        forward_to_threat("Square",
                          {"queries", "p_init", "restarts", "rescale_schedule", "early_stop"},
                          threat_, params),
        options);
    out->rescale_schedule_ = rescale;
    out->early_stop_ = early_stop;
    return out;
  }

 private:
  // AutoAttack's p_selection. With rescale_schedule (square.py's default resc_schedule=True) the
  // iteration is mapped onto 10000; without it (as AutoAttack's cascade constructs Square,
  // resc_schedule=False) the iteration is used as is, so a 5000-query run halves p at iterations
  // 10, 50, 200, 500, 1000, 2000, 4000.
  double p_selection(int64_t it) const {
    const int64_t i = rescale_schedule_
                          ? static_cast<int64_t>(static_cast<double>(it) / options_.queries * 10000)
                          : it;
    const double p = options_.p_init;
    if (10 < i && i <= 50) return p / 2;
    if (50 < i && i <= 200) return p / 4;
    if (200 < i && i <= 500) return p / 8;
    if (500 < i && i <= 1000) return p / 16;
    if (1000 < i && i <= 2000) return p / 32;
    if (2000 < i && i <= 4000) return p / 64;
    if (4000 < i && i <= 6000) return p / 128;
    if (6000 < i && i <= 8000) return p / 256;
    if (8000 < i) return p / 512;
    return p;
  }

  Domain domain() const { return threat_domain(*threat_); }

  // The run's result (best point and margin per sample) and, compacted, the samples still
  // robust (margin > 0): their rows in the run, originals, labels, best points and margins.
  // Only those are queried (square.py's idx_to_fool); a sample leaves as soon as it is fooled,
  // with that first adversarial point as its result. Keeping them compacted spares the
  // per-query gathers and scatters of the whole batch.
  struct State {
    torch::Tensor best, margin;                      // every sample of the run
    torch::Tensor rows, x, y, cur_best, cur_margin;  // the samples still robust
  };
  State begin(const torch::Tensor& x, const torch::Tensor& y, torch::Tensor best,
              torch::Tensor margin) const {
    State st{
        std::move(best), std::move(margin), torch::arange(x.size(0), y.options()), x, y, {}, {}};
    st.cur_best = st.best;
    st.cur_margin = st.margin;
    if ((st.margin <= 0).any().item<bool>()) drop_fooled(st);
    return st;
  }
  // Writes the compacted samples back into the result and keeps those still robust.
  void drop_fooled(State& st) const {
    if (!st.cur_best.is_same(st.best)) {  // at the start they are one tensor
      st.best.index_copy_(0, st.rows, st.cur_best);
      st.margin.index_copy_(0, st.rows, st.cur_margin);
    }
    const auto keep = (st.cur_margin > 0).nonzero().reshape({-1});
    st.rows = st.rows.index_select(0, keep);
    st.x = st.x.index_select(0, keep);
    st.y = st.y.index_select(0, keep);
    st.cur_best = st.cur_best.index_select(0, keep);
    st.cur_margin = st.cur_margin.index_select(0, keep);
  }
  // Keeps, per sample still being attacked, the candidate if it lowers the margin (or fools).
  void accept(State& st, const torch::Tensor& x_new, const torch::Tensor& m_new) const {
    const auto better = (m_new < st.cur_margin) | (m_new <= 0);
    st.cur_margin = torch::where(better, m_new, st.cur_margin);
    st.cur_best = torch::where(per_sample(better, x_new), x_new, st.cur_best);
    if ((m_new <= 0).any().item<bool>()) drop_fooled(st);
  }
  std::pair<torch::Tensor, torch::Tensor> finish(State& st) const {
    if (st.rows.numel() > 0 && st.rows.numel() != st.best.size(0)) {
      st.best.index_copy_(0, st.rows, st.cur_best);
      st.margin.index_copy_(0, st.rows, st.cur_margin);
    } else if (st.rows.numel() > 0) {
      st.best = st.cur_best;
      st.margin = st.cur_margin;
    }
    return {st.best, st.margin};
  }

  std::pair<torch::Tensor, torch::Tensor> run_linf(Model& model, const torch::Tensor& x,
                                                   const torch::Tensor& y, at::Generator& gen,
                                                   AttackStats* stats) const {
    const double eps = threat_->eps();
    const auto d = domain();
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    // Initialisation (Sec. 3.1): vertical stripes of ±eps.
    const auto init = (x + eps * random_sign({n, c, 1, w}, gen, x)).clamp(d.lo, d.hi);
    State st = begin(x, y, init, margin(model, init, y, stats));
    const double features = static_cast<double>(c * h * w);
    for (int64_t it = 0; it < options_.queries - 1; ++it) {
      if (st.rows.numel() == 0) break;
      const auto &x_curr = st.x, &best_curr = st.cur_best;
      const int64_t s = std::max<int64_t>(
          std::llround(std::sqrt(p_selection(it) * features / static_cast<double>(c))), 1);
      const int64_t vh = draw_int(gen, 0, h - s), vw = draw_int(gen, 0, w - s);
      // One square for the batch, a sign per channel (AutoAttack: random_choice([c, 1, 1])).
      auto delta = torch::zeros({c, h, w}, x.options());
      delta.index_put_({Slice(), Slice(vh, vh + s), Slice(vw, vw + s)},
                       2.0 * eps * random_sign({c, 1, 1}, gen, x));
      auto x_new = torch::minimum(torch::maximum(best_curr + delta, x_curr - eps), x_curr + eps)
                       .clamp(d.lo, d.hi);
      accept(st, x_new, margin(model, x_new, st.y, stats));
    }
    return finish(st);
  }

  std::pair<torch::Tensor, torch::Tensor> run_l2(Model& model, const torch::Tensor& x,
                                                 const torch::Tensor& y, at::Generator& gen,
                                                 AttackStats* stats) const {
    const double eps = threat_->eps();
    const auto d = domain();
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    auto normalise = [](const torch::Tensor& t) { return t / (l2(t) + 1e-12); };
    // Initialisation (Sec. 3.2): a grid of pseudo-Gaussian squares of side h/5, random signs.
    auto init = torch::zeros_like(x);
    const int64_t s0 = std::max<int64_t>(h / 5, 1), start = (h - s0 * 5) / 2;
    // square.py loops h // s0 times from `start`, which overruns the image when h is not about
    // 5·s0 (e.g. 12 px); we stop at the last whole square instead.
    for (int64_t vh = start; vh + s0 <= h; vh += s0) {
      for (int64_t vw = start; vw + s0 <= w; vw += s0) {
        const auto g =
            pseudo_gaussian(s0, gen).to(x.device(), x.scalar_type()).view({1, 1, s0, s0});
        init.index({Slice(), Slice(), Slice(vh, vh + s0), Slice(vw, vw + s0)}) +=
            g * random_sign({n, c, 1, 1}, gen, x);
      }
    }
    const auto first = (x + normalise(init) * eps).clamp(d.lo, d.hi);
    State st = begin(x, y, first, margin(model, first, y, stats));
    const double features = static_cast<double>(c * h * w);
    for (int64_t it = 0; it < options_.queries - 1; ++it) {
      if (st.rows.numel() == 0) break;
      const auto &x_curr = st.x, &best_curr = st.cur_best;
      auto delta = best_curr - x_curr;
      int64_t s = std::max<int64_t>(
          std::llround(std::sqrt(p_selection(it) * features / static_cast<double>(c))), 3);
      if (s % 2 == 0) ++s;
      s = std::min(s, std::min(h, w));
      const int64_t vh = draw_int(gen, 0, h - s), vw = draw_int(gen, 0, w - s);
      const int64_t vh2 = draw_int(gen, 0, h - s), vw2 = draw_int(gen, 0, w - s);
      const auto win1 = std::vector<at::indexing::TensorIndex>{Slice(), Slice(), Slice(vh, vh + s),
                                                               Slice(vw, vw + s)};
      const auto win2 = std::vector<at::indexing::TensorIndex>{
          Slice(), Slice(), Slice(vh2, vh2 + s), Slice(vw2, vw2 + s)};
      auto mask = torch::zeros_like(x_curr);
      mask.index_put_(win1, 1.0);
      mask.index_put_(win2, 1.0);
      const auto norm_window1 = delta.index(win1).pow(2).sum({-2, -1}, true).sqrt();
      const auto norm_image = l2(delta);
      const auto norm_windows = l2(delta * mask);
      // New mass in window 1: a pseudo-Gaussian square plus the old content, rescaled so the
      // perturbation's norm reaches eps (Sec. 3.2); window 2's mass moves into it.
      auto fresh = pseudo_gaussian(s, gen).to(x.device(), x.scalar_type()).view({1, 1, s, s}) *
                   random_sign({st.rows.size(0), c, 1, 1}, gen, x);
      fresh = fresh + delta.index(win1) / (1e-12 + norm_window1);
      fresh = fresh / fresh.pow(2).sum({-2, -1}, true).sqrt() *
              ((eps * eps - norm_image.pow(2)).clamp_min(0) / static_cast<double>(c) +
               norm_windows.pow(2))
                  .sqrt();
      delta.index_put_(win2, 0.0);
      delta.index_put_(win1, fresh);
      auto x_new = (x_curr + normalise(delta) * eps).clamp(d.lo, d.hi);
      accept(st, x_new, margin(model, x_new, st.y, stats));
    }
    return finish(st);
  }

  ThreatPtr threat_;
  SquareOptions options_;
  // Only through .with(rescale_schedule: false) (std.autoattack sets it); SquareOptions keeps
  // the rescaled default.
  bool rescale_schedule_ = true;
  // Only through .with(early_stop: true); see can_stop_early().
  bool early_stop_ = false;
};

}  // namespace

AttackPtr make_square(ThreatPtr threat, SquareOptions options) {
  return std::make_shared<Square>(std::move(threat), options);
}

}  // namespace perturb
