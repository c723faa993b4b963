// CMDA (cross-modal-data-augmentation paper): the Gaussian mixture and AIC/BIC, the contrastive
// losses eq. 7/8 against hand-computed values, DCA weights (eq. 10–11), the policy, and the
// anomaly-detection metrics (AUROC, AUPR) and Mahalanobis detector.
#include <catch2/catch.hpp>

#include <cmath>

#include "runtime/augment/cmda.h"
#include "runtime/augment/gmm.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/anomaly.h"

using namespace perturb;

namespace {

// n points around `mean` with standard deviation `sd` in each of its dimensions.
torch::Tensor blob(int64_t n, std::vector<double> mean, double sd, at::Generator& gen) {
  auto m = torch::tensor(mean, torch::kFloat64);
  return torch::randn({n, m.size(0)}, gen, torch::kFloat64) * sd + m;
}

// Two classes of 8×8 images (bright top half or bright bottom half, with noise) and captions
// that say which; three captions per image.
PairedDataset toy_pairs(int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  PairedDataset d;
  d.images = torch::rand({n, 1, 8, 8}, gen) * 0.3;
  d.labels = torch::arange(n, torch::kInt64) % 2;
  for (int64_t i = 0; i < n; ++i) {
    const bool top = i % 2 == 0;
    d.images[i].slice(1, top ? 0 : 4, top ? 4 : 8) += 0.6;
    if (top) {
      d.captions.push_back({"a bright top", "light on the top half", "the upper part is bright"});
    } else {
      d.captions.push_back(
          {"a bright bottom", "light on the bottom half", "the lower part is bright"});
    }
  }
  d.name = "toy";
  return d;
}

// Eq. 7 transcribed loop by loop.
double eq7_reference(const std::vector<torch::Tensor>& z, int64_t i, double tau) {
  auto sim = [&](int p, int64_t a, int q, int64_t b) {
    return torch::cosine_similarity(z[p][a], z[q][b], 0).item<double>();
  };
  const int K = static_cast<int>(z.size());
  const int64_t m = z[0].size(0);
  double num = 0, den = 0;
  for (int p = 0; p < K; ++p) {
    for (int q = 0; q < K; ++q) {
      if (p == q) continue;
      num += std::exp(sim(p, i, q, i) / tau);
      for (int64_t l = 0; l < m; ++l) {
        if (l != i) den += std::exp(sim(p, i, q, l) / tau);
      }
    }
  }
  return -std::log(num / den);
}

// Eq. 8 transcribed loop by loop.
double eq8_reference(const std::vector<torch::Tensor>& z, const std::vector<int64_t>& y, int64_t i,
                     double tau) {
  auto e = [&](int p, int64_t a, int q, int64_t b) {
    return std::exp(torch::cosine_similarity(z[p][a], z[q][b], 0).item<double>() / tau);
  };
  const int K = static_cast<int>(z.size());
  const int64_t m = z[0].size(0);
  int64_t count = 0;
  for (auto v : y) count += v == y[i];
  double den = 0;
  for (int p = 0; p < K; ++p)
    for (int q = 0; q < K; ++q)
      if (p != q)
        for (int64_t l = 0; l < m; ++l)
          if (l != i) den += e(p, i, q, l);
  double sum = 0;
  for (int64_t j = 0; j < m; ++j) {
    if (y[j] != y[i]) continue;
    double num = 0;
    for (int p = 0; p < K; ++p)
      for (int q = 0; q < K; ++q)
        if (p != q) num += e(p, i, q, j);
    sum += std::log(num / den);
  }
  return -sum / static_cast<double>(std::max<int64_t>(count - 1, 1));
}

}  // namespace

TEST_CASE("GMM recovers two well-separated Gaussians", "[cmda]") {
  auto gen = make_generator(3);
  auto x = torch::cat({blob(300, {-5, -5}, 1.0, gen), blob(100, {5, 4}, 0.5, gen)});
  auto fit_gen = make_generator(0);
  GmmOptions o;
  Gmm g = fit_gmm(x, o, fit_gen);
  REQUIRE(g.converged);
  REQUIRE(g.iterations <= 100);
  // Order the components by their first mean coordinate.
  const int a = g.means[0][0].item<double>() < g.means[1][0].item<double>() ? 0 : 1;
  const int b = 1 - a;
  CHECK(g.weights[a].item<double>() == Approx(0.75).margin(0.01));
  CHECK(g.weights[b].item<double>() == Approx(0.25).margin(0.01));
  CHECK(g.means[a][0].item<double>() == Approx(-5).margin(0.2));
  CHECK(g.means[a][1].item<double>() == Approx(-5).margin(0.2));
  CHECK(g.means[b][0].item<double>() == Approx(5).margin(0.15));
  CHECK(g.means[b][1].item<double>() == Approx(4).margin(0.15));
  CHECK(g.variances[a][0].item<double>() == Approx(1.0).margin(0.25));
  CHECK(g.variances[b][1].item<double>() == Approx(0.25).margin(0.08));
  // Responsibilities are posteriors; the clusters are recovered point by point.
  auto r = g.responsibilities(x);
  CHECK(r.sum(1).allclose(torch::ones({400}, torch::kFloat64)));
  auto pred = g.predict(x);
  CHECK(pred.slice(0, 0, 300).eq(a).all().item<bool>());
  CHECK(pred.slice(0, 300).eq(b).all().item<bool>());
  // AIC/BIC follow their definitions: 2 components × 2 dims × (mean + variance) + 1 weight.
  CHECK(g.parameter_count() == 9);
  CHECK(g.aic() == Approx(-2 * g.log_likelihood + 18));
  CHECK(g.bic() == Approx(-2 * g.log_likelihood + 9 * std::log(400.0)));
  CHECK(g.log_likelihood == Approx(g.total_log_likelihood(x)));
}

TEST_CASE("AIC and BIC choose the number of Gaussians", "[cmda]") {
  auto gen = make_generator(5);
  auto three = torch::cat({blob(120, {0, 0, 0}, 0.5, gen), blob(120, {6, 0, 0}, 0.5, gen),
                           blob(120, {0, 6, 3}, 0.5, gen)});
  auto sel_gen = make_generator(1);
  GmmSelection s = select_gmm(three, 6, GmmOptions{}, sel_gen);
  CHECK(s.best == 3);
  REQUIRE(s.bic.size() == 6);
  CHECK(s.bic[2] < s.bic[0]);
  CHECK(s.bic[2] < s.bic[1]);
  CHECK(s.aic[2] < s.aic[1]);
  CHECK(s.model.components() == 3);

  auto one = blob(200, {1, 2}, 1.0, gen);
  auto sel_gen2 = make_generator(1);
  CHECK(select_gmm(one, 4, GmmOptions{}, sel_gen2).best == 1);
}

TEST_CASE("GMM: same seed, same mixture; bad input is an error", "[cmda]") {
  auto gen = make_generator(9);
  auto x = torch::cat({blob(50, {0, 0}, 1, gen), blob(50, {3, 3}, 1, gen)});
  auto g1 = make_generator(4), g2 = make_generator(4);
  Gmm a = fit_gmm(x, GmmOptions{}, g1), b = fit_gmm(x, GmmOptions{}, g2);
  CHECK(a.means.equal(b.means));
  CHECK(a.variances.equal(b.variances));
  CHECK(a.log_likelihood == b.log_likelihood);
  GmmOptions too_many;
  too_many.components = 5;
  auto g3 = make_generator(0);
  CHECK_THROWS_AS(fit_gmm(x.slice(0, 0, 3), too_many, g3), Error);
  CHECK_THROWS_AS(fit_gmm(torch::zeros({4}), GmmOptions{}, g3), Error);
}

TEST_CASE("eq. 7 and eq. 8 equal their hand-computed values", "[cmda]") {
  // Two orthonormal samples, identical in both modalities, τ = 1: the numerator holds e¹ twice
  // (p,q = 1,2 and 2,1), the denominator e⁰ twice, so ℓ_i = −log(2e / 2) = −1.
  auto eye = torch::eye(2, torch::kFloat64);
  auto l7 = cmda_unsupervised_terms({eye, eye}, 1.0);
  CHECK(l7[0].item<double>() == Approx(-1.0));
  CHECK(l7[1].item<double>() == Approx(-1.0));
  // Eq. 8 with one class: j = i gives log(2e/2) = 1, j ≠ i gives log(2/2) = 0; m_y − 1 = 1.
  auto l8 = cmda_supervised_terms({eye, eye}, torch::tensor({0, 0}), 1.0);
  CHECK(l8[0].item<double>() == Approx(-1.0));

  // Random latents of three modalities against the loop-by-loop transcription.
  auto gen = make_generator(2);
  std::vector<torch::Tensor> z{torch::randn({5, 4}, gen, torch::kFloat64),
                               torch::randn({5, 4}, gen, torch::kFloat64) * 3,
                               torch::randn({5, 4}, gen, torch::kFloat64)};
  const double tau = 0.5;
  auto t7 = cmda_unsupervised_terms(z, tau);
  std::vector<int64_t> y{0, 1, 0, 2, 0};
  auto t8 = cmda_supervised_terms(z, torch::tensor(y), tau);
  for (int64_t i = 0; i < 5; ++i) {
    CHECK(t7[i].item<double>() == Approx(eq7_reference(z, i, tau)).epsilon(1e-9));
    CHECK(t8[i].item<double>() == Approx(eq8_reference(z, y, i, tau)).epsilon(1e-9));
  }
  // Every label different: eq. 8 is eq. 7.
  auto distinct = cmda_supervised_terms(z, torch::arange(5), tau);
  CHECK(distinct.allclose(t7));
  CHECK_THROWS_AS(cmda_unsupervised_terms({z[0]}, tau), Error);
  CHECK_THROWS_AS(cmda_unsupervised_terms({z[0], z[1].slice(0, 0, 3)}, tau), Error);
}

TEST_CASE("DCA weights: eq. 10 normalised over the batch, eq. 11 from the responsibilities",
          "[cmda]") {
  // eq. 10: dots 1, 0.5, −1 (→ 0) normalised.
  auto inter = inter_modal_weights(torch::tensor({{1.0, 0.0}}),
                                   torch::tensor({{1.0, 0.0}, {0.5, 0.5}, {-1.0, 0.0}}));
  CHECK(inter[0][0].item<double>() == Approx(2.0 / 3));
  CHECK(inter[0][1].item<double>() == Approx(1.0 / 3));
  CHECK(inter[0][2].item<double>() == 0);
  // m' = 1 keeps the largest only.
  auto top = inter_modal_weights(torch::tensor({{1.0, 0.0}}),
                                 torch::tensor({{1.0, 0.0}, {0.5, 0.5}, {-1.0, 0.0}}), 1);
  CHECK(top[0][0].item<double>() == 1);
  // eq. 11: w_ij = r_i(c_j) + r_i(c_i), clusters c = (0, 1, 0).
  auto r = torch::tensor({{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}}, torch::kFloat64);
  auto intra = intra_modal_weights(r);
  auto expected =
      torch::tensor({{1.8, 1.0, 1.8}, {1.0, 1.6, 1.0}, {1.2, 1.0, 1.2}}, torch::kFloat64);
  CHECK(intra.allclose(expected));
  // The product, rows normalised; a convex combination in raw space.
  auto gen = make_generator(1);
  auto t = torch::randn({3, 4}, gen, torch::kFloat64);
  auto s = t + 0.1 * torch::randn({3, 4}, gen, torch::kFloat64);
  auto in = inter_modal_weights(t, s);
  CHECK(in.sum(1).allclose(torch::ones({3}, torch::kFloat64)));
  CHECK(in.ge(0).all().item<bool>());
  auto w = dca_weights(in, intra);
  CHECK(w.sum(1).allclose(torch::ones({3}, torch::kFloat64)));
  auto raw = in * intra;
  CHECK(w.allclose(raw / raw.sum(1, true)));
  auto x = torch::rand({3, 1, 5, 5}, gen);
  auto xn = interpolate_raw(x, w);
  CHECK(xn.sizes() == x.sizes());
  auto lo = std::get<0>(x.min(0)), hi = std::get<0>(x.max(0));
  CHECK((xn >= lo - 1e-6).all().item<bool>());
  CHECK((xn <= hi + 1e-6).all().item<bool>());
  auto manual =
      w[1][0].item<double>() * x[0] + w[1][1].item<double>() * x[1] + w[1][2].item<double>() * x[2];
  CHECK(xn[1].allclose(manual.to(torch::kFloat32), 1e-5, 1e-6));
}

TEST_CASE("the eq. 7 space trains, and the CMDA policy interpolates paired batches", "[cmda]") {
  PairedDataset data = toy_pairs(64, 1);
  SpaceOptions so;
  so.dim = 8;
  so.hidden = 32;
  auto space = make_cmda_space(data, so);
  SpaceTrainOptions to;
  to.epochs = 30;
  to.batch = 16;
  to.lr = 3e-3;
  to.quiet = true;
  auto epochs = train_common_space(*space, data, to);
  REQUIRE(epochs.size() == 30);
  CHECK(epochs.back().loss < epochs.front().loss);
  // In the learnt space each image is nearer its own class's captions.
  auto img = embed_images(*space, data.images, 64);
  auto txt = caption_latents(*space, data);
  CHECK(txt.sizes() == std::vector<int64_t>{64, 3, 8});
  auto sim = img.matmul(txt.select(1, 0).t());  // [images, captions]
  auto same = data.labels.unsqueeze(0).eq(data.labels.unsqueeze(1));
  CHECK(sim.masked_select(same).mean().item<double>() >
        sim.masked_select(~same).mean().item<double>() + 0.2);

  CmdaOptions o;
  o.p = 1;
  CmdaPolicy policy(o, space);
  AugmentBatch batch;
  batch.x = data.images.slice(0, 0, 16);
  batch.y = data.labels.slice(0, 0, 16);
  batch.classes = 2;
  batch.teacher = txt.slice(0, 0, 16);
  auto g1 = make_generator(7), g2 = make_generator(7);
  auto out = policy.apply(batch, g1);
  auto again = policy.apply(batch, g2);
  CHECK(out.x.equal(again.x));
  CHECK(out.x.sizes() == batch.x.sizes());
  CHECK((out.x >= 0).all().item<bool>());
  CHECK((out.x <= 1).all().item<bool>());
  CHECK(!out.x.equal(batch.x));
  REQUIRE(out.soft_y.defined());
  CHECK(out.soft_y.sum(1).allclose(torch::ones({16})));
  // The teacher's advice keeps a sample's label mostly its own class.
  auto own = out.soft_y.gather(1, batch.y.unsqueeze(1)).squeeze(1);
  CHECK(own.mean().item<double>() > 0.7);
  // p: 0 is the identity; no teacher, no space or images alone are errors.
  CmdaOptions off;
  off.p = 0;
  CHECK(CmdaPolicy(off, space).apply(batch, g1).x.equal(batch.x));
  AugmentBatch images_only{batch.x, batch.y};
  CHECK_THROWS_WITH(policy.apply(images_only, g1), Catch::Contains("teacher modality"));
  CHECK_THROWS_WITH(CmdaPolicy(o, nullptr).apply(batch, g1), Catch::Contains("latent space"));
  CHECK_THROWS_WITH(policy.apply(batch.x, g1), Catch::Contains("paired data"));
  CHECK(policy.describe().rfind("CMDA(teacher: \"text\", clusters: 2, p: 1", 0) == 0);
  // clusters: 0 picks M by BIC on the batch and still gives a convex combination.
  CmdaOptions bic = o;
  bic.clusters = 0;
  auto auto_m = CmdaPolicy(bic, space).apply(batch, g1);
  CHECK(auto_m.soft_y.sum(1).allclose(torch::ones({16})));
}

TEST_CASE("AUROC and AUPR equal hand-computed values, ties included", "[cmda]") {
  // sklearn: roc_auc_score([0,0,1,1], [.1,.4,.35,.8]) = 0.75,
  //          average_precision_score(...) = 0.8333.
  auto s = torch::tensor({0.1, 0.4, 0.35, 0.8});
  auto y = torch::tensor({0, 0, 1, 1});
  CHECK(auroc(s, y) == Approx(0.75));
  CHECK(aupr(s, y) == Approx(5.0 / 6));
  // Ties: positives .5 and .9, negatives .5 and .5 → (2 wins + 2 half ties) / 4 = 0.75; AP: at
  // .9 recall ½ precision 1, at .5 recall 1 precision ½ → ½ + ¼.
  auto st = torch::tensor({0.5, 0.5, 0.5, 0.9});
  auto yt = torch::tensor({0, 1, 0, 1});
  CHECK(auroc(st, yt) == Approx(0.75));
  CHECK(aupr(st, yt) == Approx(0.75));
  // All tied: 0.5 and the positive rate.
  CHECK(auroc(torch::zeros({4}), yt) == Approx(0.5));
  CHECK(aupr(torch::zeros({4}), yt) == Approx(0.5));
  CHECK(auroc(-s, y) == Approx(0.25));
  CHECK_THROWS_AS(auroc(s, torch::zeros({4})), Error);
  CHECK_THROWS_AS(aupr(s, torch::tensor({0, 1})), Error);
}

TEST_CASE("the Mahalanobis detector scores far points as abnormal", "[cmda]") {
  auto gen = make_generator(11);
  // Normal: two classes in 5-D; abnormal: a third blob. Without normalisation.
  auto normal =
      torch::cat({blob(100, {0, 0, 0, 0, 0}, 1, gen), blob(100, {10, 0, 0, 0, 0}, 1, gen)});
  auto labels = torch::cat({torch::zeros({100}, torch::kInt64), torch::ones({100}, torch::kInt64)});
  auto test = torch::cat({blob(50, {0, 0, 0, 0, 0}, 1, gen), blob(50, {10, 0, 0, 0, 0}, 1, gen),
                          blob(50, {5, 0, 0, 0, 0}, 0.3, gen)});
  auto truth = torch::cat({torch::zeros({100}), torch::ones({50})});
  MahalanobisOptions o;
  o.normalize = false;
  MahalanobisDetector classwise(normal, labels, o);
  CHECK(classwise.clusters() == 2);
  auto scores = classwise.score(test);
  CHECK(auroc(scores, truth) > 0.99);
  // One cluster: its mean sits between the classes, right where the abnormal blob is.
  MahalanobisDetector single(normal, torch::Tensor(), o);
  CHECK(single.clusters() == 1);
  CHECK(auroc(single.score(test), truth) < 0.5);
  // Score of a point at a class mean with an identity-like covariance is ~0.
  auto at_mean = classwise.score(torch::zeros({1, 5}, torch::kFloat64));
  CHECK(at_mean.item<double>() < 0.2);
}

TEST_CASE("joint CMDA (eq. 9) trains the space with λ·L_g on every batch", "[cmda]") {
  PairedDataset data = toy_pairs(32, 2);
  SpaceOptions so;
  so.dim = 8;
  so.hidden = 32;
  auto space = make_cmda_space(data, so);
  CmdaOptions o;
  o.joint = true;
  o.lambda = 1.0;
  o.space_lr = 0.5;
  o.p = 1;
  auto table = std::make_shared<const std::vector<std::string>>(data.all_captions());
  auto policy = CmdaPolicy(o, space).joint_with(space, table);
  auto idx = caption_indices(data);
  CHECK(idx.sizes() == std::vector<int64_t>{32, 3});
  CHECK(idx[1][2].item<int64_t>() == 5);
  auto loss = [&] {
    torch::NoGradGuard no_grad;
    std::vector<std::string> first;
    for (const auto& c : data.captions) first.push_back(c[0]);
    return cmda_unsupervised_terms({space->encode_image(data.images), space->encode_text(first)},
                                   0.1)
        .mean()
        .item<double>();
  };
  const double before = loss();
  AugmentBatch batch{data.images, data.labels, {}, 2, idx};
  auto gen = make_generator(0);
  for (int step = 0; step < 40; ++step) {
    auto out = policy->apply(batch, gen);
    REQUIRE(out.soft_y.sum(1).allclose(torch::ones({32})));
  }
  CHECK(loss() < before - 0.1);
  // Latents instead of indices, or a joint policy that was never bound: a clear error.
  AugmentBatch latents{data.images, data.labels, {}, 2, caption_latents(*space, data)};
  CHECK_THROWS_WITH(policy->apply(latents, gen), Catch::Contains("joint"));
  CHECK_THROWS_WITH(CmdaPolicy(o, space).apply(batch, gen), Catch::Contains("joint"));
}
