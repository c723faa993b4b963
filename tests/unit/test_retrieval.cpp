// Retrieval metrics (Recall@K, CMC, mAP) against hand-computed cases; feature models; feature
// attacks (thesis ch. 4, eq. 4.3) push queries away from their gallery match.
#include <catch2/catch.hpp>

#include "runtime/attack/attack.h"
#include "runtime/attack/attacks.h"
#include "runtime/attack/feature.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/retrieval.h"
#include "runtime/model/features.h"
#include "runtime/model/zoo.h"
#include "runtime/threat/physical.h"
#include "test_util.h"

using namespace perturb;
using Catch::Matchers::Contains;

namespace {

torch::Tensor labels(std::vector<int64_t> v) {
  return torch::tensor(v, torch::kInt64);
}

torch::Tensor distances(std::vector<std::vector<double>> rows) {
  std::vector<torch::Tensor> out;
  for (auto& r : rows) out.push_back(torch::tensor(r, torch::kFloat64));
  return torch::stack(out);
}

}  // namespace

TEST_CASE("retrieval metrics match a hand-ranked example", "[retrieval]") {
  // Query 0 (label 0): ranks g1(1) g3(1) g0(0) g2(0): matches at ranks 3, 4.
  //   AP = (1/3 + 2/4) / 2 = 5/12; first match at rank 3.
  // Query 1 (label 1): ranks g0(0) g1(1) g2(0) g3(1): matches at ranks 2, 4.
  //   AP = (1/2 + 2/4) / 2 = 1/2; first match at rank 2.
  const auto d = distances({{0.5, 0.1, 0.9, 0.3}, {0.2, 0.4, 0.6, 0.8}});
  const auto r = retrieval_from_distances(d, labels({0, 1}), labels({0, 1, 0, 1}), {1, 2, 3});
  REQUIRE(r.cmc.size() == 3);
  CHECK(r.cmc[0] == Approx(0.0));
  CHECK(r.cmc[1] == Approx(0.5));
  CHECK(r.cmc[2] == Approx(1.0));
  CHECK(r.recall == std::vector<double>{r.cmc[0], r.cmc[1], r.cmc[2]});
  CHECK(r.map == Approx((5.0 / 12 + 0.5) / 2));
  CHECK(r.queries == 2);
  CHECK(r.unmatched == 0);
}

TEST_CASE("retrieval ties keep gallery order", "[retrieval]") {
  // Equal distances: the earlier gallery image ranks first (stable sort).
  const auto d = distances({{0.3, 0.3}});
  const auto miss_first = retrieval_from_distances(d, labels({0}), labels({1, 0}), {1, 2});
  CHECK(miss_first.recall[0] == Approx(0.0));
  CHECK(miss_first.recall[1] == Approx(1.0));
  CHECK(miss_first.map == Approx(0.5));
  const auto hit_first = retrieval_from_distances(d, labels({0}), labels({0, 1}), {1});
  CHECK(hit_first.recall[0] == Approx(1.0));
  CHECK(hit_first.map == Approx(1.0));
}

TEST_CASE("queries without a gallery match are left out and counted", "[retrieval]") {
  // Query 1 has label 7, which no gallery image has.
  const auto d = distances({{0.1, 0.2}, {0.1, 0.2}});
  const auto r = retrieval_from_distances(d, labels({0, 7}), labels({0, 1}), {1});
  CHECK(r.queries == 1);
  CHECK(r.unmatched == 1);
  CHECK(r.recall[0] == Approx(1.0));
  CHECK(r.map == Approx(1.0));
  CHECK_THROWS_WITH(retrieval_from_distances(d, labels({5, 7}), labels({0, 1}), {1}),
                    Contains("no query has a match"));
}

TEST_CASE("a K beyond the gallery reads the last rank; bad K and metric are errors",
          "[retrieval]") {
  const auto d = distances({{0.9, 0.1}});
  const auto r = retrieval_from_distances(d, labels({0}), labels({0, 1}), {1, 5});
  CHECK(r.recall[0] == Approx(0.0));
  CHECK(r.recall[1] == Approx(1.0));
  CHECK(r.cmc.size() == 5);
  CHECK_THROWS_WITH(retrieval_from_distances(d, labels({0}), labels({0, 1}), {0}),
                    Contains("at least 1"));
  RetrievalOptions options;
  options.metric = "manhattan";
  CHECK_THROWS_WITH(options.check(), Contains("\"euclidean\" or \"cosine\""));
}

TEST_CASE("leave-one-out retrieval never retrieves the query itself", "[retrieval]") {
  // Embeddings on a line: 0 and 1 (label 0), 10 (label 1), 11 (label 1).
  const auto e = torch::tensor({0.0, 1.0, 10.0, 11.0}, torch::kFloat64).unsqueeze(1);
  RetrievalOptions options;
  options.ks = {1};
  const auto r = retrieval_metrics(e, labels({0, 0, 1, 1}), e, labels({0, 0, 1, 1}), options,
                                   /*exclude_self=*/true);
  CHECK(r.recall[0] == Approx(1.0));
  CHECK(r.map == Approx(1.0));
  // Without exclusion each query would find itself; with a lone identity it has no match.
  const auto lone = retrieval_metrics(e, labels({0, 0, 1, 2}), e, labels({0, 0, 1, 2}), options,
                                      /*exclude_self=*/true);
  CHECK(lone.unmatched == 2);
}

TEST_CASE("embedding distances: Euclidean as cdist, cosine as 1 - cos", "[retrieval]") {
  auto gen = make_generator(3);
  const auto q = torch::randn({5, 7}, gen, torch::kFloat64);
  const auto g = torch::randn({6, 7}, gen, torch::kFloat64);
  CHECK(torch::allclose(embedding_distances(q, g, "euclidean"), torch::cdist(q, g), 1e-9, 1e-9));
  const auto cos = torch::nn::functional::cosine_similarity(
      q.unsqueeze(1), g.unsqueeze(0), torch::nn::functional::CosineSimilarityFuncOptions().dim(2));
  CHECK(torch::allclose(embedding_distances(q, g, "cosine"), 1 - cos, 1e-9, 1e-9));
  CHECK_THROWS_WITH(embedding_distances(q, torch::zeros({2, 3}), "euclidean"),
                    Contains("same size d"));
}

TEST_CASE("features() cuts the zoo classifier head and shares the weights", "[retrieval]") {
  ZooOptions o;
  const auto net = make_zoo_model("small_cnn", o, /*seed=*/1);
  const auto f = make_feature_model(net);
  const auto x = torch::rand({3, 1, 28, 28});
  torch::NoGradGuard no_grad;
  CHECK(f->forward(x).sizes() == std::vector<int64_t>{3, 128});
  CHECK(f->describe() == "features(" + net->describe() + ")");
  CHECK(f->parameters().size() == net->parameters().size());
  // The features feed the last layer: logits = W·features + b.
  const auto params = net->parameters();
  const auto logits =
      torch::nn::functional::linear(f->forward(x), params[params.size() - 2], params.back());
  CHECK(torch::allclose(logits, net->forward(x), 1e-5, 1e-5));
  CHECK_THROWS_WITH(f->forward(torch::rand({3, 1, 12, 12})), Contains("expects inputs"));
  test::TempDir dir;
  CHECK_THROWS_WITH(f->save(dir.path("f.pt")), Contains("shares its weights"));
}

namespace {

// A near-duplicate retrieval task on a seeded random embedding network: each gallery image is
// its own identity and each query a slightly noisy copy of one, so clean Recall@1 is 1. The
// gallery images differ by at most 0.1 per pixel, within reach of an eps = 0.1 Linf attack.
struct NearDuplicates {
  ModelPtr model;
  torch::Tensor gallery_x, gallery_y, query_x, query_y;
};

NearDuplicates near_duplicates() {
  ZooOptions o;
  o.height = o.width = 12;
  NearDuplicates t;
  t.model = make_feature_model(make_zoo_model("mlp", o, /*seed=*/4));
  const auto data = test::random_dataset(12, 1, 12, 10, /*seed=*/5);
  auto gen = make_generator(6);
  t.gallery_x = 0.45 + 0.1 * data.x;
  t.gallery_y = torch::arange(12, torch::kInt64);
  t.query_x = (t.gallery_x + 0.002 * torch::randn(data.x.sizes(), gen)).clamp(0, 1);
  t.query_y = t.gallery_y.clone();
  return t;
}

// ‖f(query) − f(its gallery image)‖₂ averaged over the queries.
double match_distance(Model& model, const torch::Tensor& q, const NearDuplicates& t) {
  const auto e = embed(model, q);
  const auto g = embed(model, t.gallery_x);
  return feature_distance(e, g).mean().item<double>();
}

}  // namespace

TEST_CASE("feature attacks push queries away from their gallery match", "[retrieval]") {
  const auto t = near_duplicates();
  RetrievalOptions options;
  options.ks = {1};
  const auto clean =
      evaluate_retrieval(*t.model, t.query_x, t.query_y, t.gallery_x, t.gallery_y, options);
  REQUIRE(clean.recall[0] == Approx(1.0));
  const double clean_distance = match_distance(*t.model, t.query_x, t);

  GradientOptions feature;
  feature.objective = "feature";
  feature.gallery = std::make_shared<FeatureGallery>(FeatureGallery{t.gallery_x, t.gallery_y});
  const auto threat = make_linf(0.1);
  PgdOptions pgd_options;
  pgd_options.steps = 10;
  pgd_options.gradient = feature;
  const auto pgd = make_pgd(threat, pgd_options);
  auto gen = make_generator(7);
  AttackStats stats;
  const auto x_adv = pgd->run(*t.model, t.query_x, t.query_y, gen, &stats);
  CHECK(threat->contains(x_adv, t.query_x).all().item<bool>());
  CHECK(stats.gradient_evals == 12 * 10);
  const double adv_distance = match_distance(*t.model, x_adv, t);
  CHECK(adv_distance > 2 * clean_distance);
  const auto attacked = evaluate_retrieval(*t.model, t.query_x, t.query_y, t.gallery_x, t.gallery_y,
                                           options, pgd.get(), &gen);
  CHECK(attacked.recall[0] < clean.recall[0]);
  CHECK(attacked.map < clean.map);

  // A random PGD start does worse than the attack: the distance comes from the gradient.
  PgdOptions random_only = pgd_options;
  random_only.steps = 0;
  const auto x_random = make_pgd(threat, random_only)->run(*t.model, t.query_x, t.query_y, gen);
  CHECK(adv_distance > match_distance(*t.model, x_random, t));

  // Without a gallery, from a random start: away from the clean query's own embedding.
  PgdOptions own = pgd_options;
  own.gradient.gallery = nullptr;
  const auto x_own = make_pgd(threat, own)->run(*t.model, t.query_x, t.query_y, gen);
  CHECK(match_distance(*t.model, x_own, t) > 2 * clean_distance);

  // FGSM and APGD take the objective too.
  const auto x_fgsm = make_fgsm(threat, feature)->run(*t.model, t.query_x, t.query_y, gen);
  CHECK(match_distance(*t.model, x_fgsm, t) > 2 * clean_distance);
  ApgdOptions apgd_options;
  apgd_options.steps = 10;
  apgd_options.gradient = feature;
  const auto x_apgd = make_apgd(threat, apgd_options)->run(*t.model, t.query_x, t.query_y, gen);
  CHECK(threat->contains(x_apgd, t.query_x).all().item<bool>());
  CHECK(match_distance(*t.model, x_apgd, t) > 2 * clean_distance);
}

TEST_CASE("feature attacks search physical threats and pull towards a target", "[retrieval]") {
  const auto t = near_duplicates();
  const double clean_distance = match_distance(*t.model, t.query_x, t);
  GradientOptions feature;
  feature.objective = "feature";
  feature.gallery = std::make_shared<FeatureGallery>(FeatureGallery{t.gallery_x, t.gallery_y});
  PgdOptions options;
  options.steps = 5;
  options.gradient = feature;
  auto gen = make_generator(8);
  const auto bright = make_pgd(make_brightness({0.5, 1.5}), options);
  const auto x_bright = bright->run(*t.model, t.query_x, t.query_y, gen);
  CHECK(match_distance(*t.model, x_bright, t) > clean_distance);

  // Targeted: every query towards identity 3 (its gallery image), from the clean query.
  options.gradient.target = {TargetSpec::Mode::kLabel, 3};
  options.random_start = false;
  options.steps = 10;
  options.step = 0.002;  // small sign steps: the images differ by about 0.05 per pixel
  const auto x_target = make_pgd(make_linf(0.1), options)->run(*t.model, t.query_x, t.query_y, gen);
  const auto g = embed(*t.model, t.gallery_x);
  auto to_three = [&](const torch::Tensor& x) {
    return feature_distance(embed(*t.model, x), g[3].unsqueeze(0).expand({12, -1}))
        .mean()
        .item<double>();
  };
  CHECK(to_three(x_target) < to_three(t.query_x));
  options.gradient.target = {TargetSpec::Mode::kLabel, 99};
  CHECK_THROWS_WITH(make_pgd(make_linf(0.1), options)->run(*t.model, t.query_x, t.query_y, gen),
                    Contains("has no image in the gallery"));
}

TEST_CASE("feature objective errors are in the user's terms", "[retrieval]") {
  GradientOptions feature;
  feature.objective = "feature";
  CHECK_THROWS_WITH(make_fgsm(make_linf(0.1), feature), Contains("zero gradient"));
  GradientOptions bad = feature;
  bad.loss = "dlr";
  CHECK_THROWS_WITH(make_fgsm(make_linf(0.1), bad), Contains("takes no loss"));
  GradientOptions unknown;
  unknown.objective = "pixels";
  CHECK_THROWS_WITH(make_fgsm(make_linf(0.1), unknown), Contains("\"class\" or \"feature\""));
}

TEST_CASE("leave-one-out retrieval under attack ranks the attacked queries against the clean set",
          "[retrieval]") {
  // Each identity twice: a gallery image and its noisy copy; leave-one-out finds the twin.
  const auto t = near_duplicates();
  const auto x = torch::cat({t.gallery_x, t.query_x});
  const auto y = torch::cat({t.gallery_y, t.query_y});
  RetrievalOptions options;
  options.ks = {1};
  const auto clean = evaluate_retrieval(*t.model, x, y, {}, {}, options);
  REQUIRE(clean.recall[0] == Approx(1.0));
  CHECK(clean.queries == 24);
  GradientOptions own;
  own.objective = "feature";  // no gallery: away from each query's own clean embedding
  PgdOptions pgd_options;
  pgd_options.gradient = own;
  const auto pgd = make_pgd(make_linf(0.1), pgd_options);
  auto gen = make_generator(9);
  const auto attacked = evaluate_retrieval(*t.model, x, y, {}, {}, options, pgd.get(), &gen);
  CHECK(attacked.queries == 24);
  CHECK(attacked.recall[0] < 0.5);
  CHECK_THROWS_WITH(evaluate_retrieval(*t.model, x, y, {}, {}, options, pgd.get(), nullptr),
                    Contains("needs a generator"));
}
