// Cross-modality re-ID: the two-modality loader on the fixture layouts, the Fashion-MNIST
// stand-in's determinism, the two-branch network's weight sharing and save/load, the retrieval
// directions, and CMPS: inside its budget, and lowering Rank-1 and mAP of a trained network in
// both directions where a random perturbation of the same norm does less.
#include <catch2/catch.hpp>

#include "runtime/attack/cmps.h"
#include "runtime/attack/fixed_perturbation.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/paired_modalities.h"
#include "runtime/eval/cross_modal_retrieval.h"
#include "runtime/model/features.h"
#include "runtime/model/zoo_reid.h"
#include "runtime/threat/physical.h"
#include "runtime/train/cross_modal_train.h"
#include "test_util.h"

using namespace perturb;

namespace {

const std::string kFixtures = std::string(PERTURB_SOURCE_DIR) + "/tests/fixtures/paired_modalities";

// A network trained 3 epochs on 1200 stand-in items (the same one for every test that needs it).
std::shared_ptr<ReidModel> trained_net() {
  static std::shared_ptr<ReidModel> net = [] {
    ReidOptions options;
    options.embedding = 32;
    auto model = make_reid_model(options, 0);
    CrossModalTrainOptions train;
    train.epochs = 3;
    train.batch = 32;
    train.lr = 0.003;
    train.quiet = true;
    train_cross_modal(*model, fashion_modalities("train", 1200, 0), train);
    return model;
  }();
  return net;
}

}  // namespace

TEST_CASE("paired_modalities reads the RegDB and SYSU-MM01 layouts", "[crossmodal]") {
  PairedModalitiesOptions options;
  const auto regdb = paired_modalities(kFixtures + "/regdb", options);
  // Identities 01 and 02 are in both; 03 (visible only) and 04 (thermal only) are left out.
  CHECK(regdb.visible.classes == std::vector<std::string>{"01", "02"});
  CHECK(regdb.infrared.classes == regdb.visible.classes);
  CHECK(regdb.visible.size() == 4);
  CHECK(regdb.infrared.size() == 4);
  CHECK(regdb.visible.y.equal(torch::tensor({0, 0, 1, 1}, torch::kLong)));
  CHECK(regdb.infrared.y.equal(torch::tensor({0, 0, 1, 1}, torch::kLong)));
  CHECK(regdb.infrared.x.sizes() == torch::IntArrayRef({4, 3, 8, 8}));
  // Infrared files are grey: replicated to three equal channels.
  CHECK(regdb.infrared.x.select(1, 0).equal(regdb.infrared.x.select(1, 2)));
  CHECK_FALSE(regdb.visible.x.select(1, 0).equal(regdb.visible.x.select(1, 2)));

  const auto sysu = paired_modalities(kFixtures + "/sysu", options);
  CHECK(sysu.identities() == 2);     // 0003 is only in cam1
  CHECK(sysu.visible.size() == 3);   // cam1: 0001, 0002; cam2: 0001
  CHECK(sysu.infrared.size() == 3);  // cam3: 0001, 0002; cam6: 0002
  CHECK(sysu.infrared.y.equal(torch::tensor({0, 1, 1}, torch::kLong)));
  options.limit = 2;
  CHECK(paired_modalities(kFixtures + "/sysu", options).visible.size() == 2);
  options.limit = -1;
  options.size = 4;
  CHECK(paired_modalities(kFixtures + "/regdb", options).visible.x.size(3) == 4);
}

TEST_CASE("paired_modalities errors name the folder and what is missing", "[crossmodal]") {
  CHECK_THROWS_WITH(paired_modalities(kFixtures + "/nowhere"), Catch::Contains("is not a folder"));
  CHECK_THROWS_WITH(paired_modalities(kFixtures + "/empty"),
                    Catch::Contains("has no modality folders") && Catch::Contains("cam1/"));
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("Visible/01"));
  CHECK_THROWS_WITH(paired_modalities(dir.root().string()),
                    Catch::Contains("no Thermal or Infrared"));
  std::filesystem::create_directories(dir.path("Thermal/02"));
  // Identity folders without images: image_folder's own error.
  CHECK_THROWS_WITH(paired_modalities(dir.root().string()), Catch::Contains("01"));
}

TEST_CASE("the Fashion-MNIST stand-in is fixed by its seed", "[crossmodal]") {
  const auto a = fashion_modalities("test", 200, 3);
  const auto b = fashion_modalities("test", 200, 3);
  const auto c = fashion_modalities("test", 200, 4);
  CHECK(a.visible.x.equal(b.visible.x));
  CHECK(a.infrared.x.equal(b.infrared.x));
  CHECK_FALSE(a.visible.x.equal(c.visible.x));
  // Every item goes to one camera; each class is split between the two.
  CHECK(a.visible.size() + a.infrared.size() == 200);
  CHECK(std::abs(a.visible.size() - a.infrared.size()) <= 10);
  CHECK(a.visible.x.sizes() == torch::IntArrayRef({a.visible.size(), 3, 28, 28}));
  CHECK(a.infrared.x.select(1, 0).equal(a.infrared.x.select(1, 1)));
  CHECK(a.visible.x.min().item<float>() >= 0);
  CHECK(a.infrared.x.max().item<float>() <= 1);
  const auto grey = to_grayscale3(a.visible.x);
  CHECK(grey.select(1, 0).equal(grey.select(1, 2)));
}

TEST_CASE("the two branches share their weights and save together", "[crossmodal]") {
  auto net = make_reid_model({}, 1);
  auto visible = net->branch("visible");
  auto infrared = net->branch("infrared");
  net->set_training(false);
  const auto x = torch::rand({2, 3, 28, 28}, make_generator(0));
  torch::NoGradGuard no_grad;
  // Different stems: different outputs for the same input.
  CHECK_FALSE(visible->forward(x).allclose(infrared->forward(x)));
  // The trunk is one: a change through one branch is seen by the other.
  auto before = infrared->forward(x).clone();
  for (auto& p : visible->parameters()) p.add_(0.01);
  CHECK_FALSE(infrared->forward(x).allclose(before));
  CHECK(infrared->features()->forward(x).size(1) == 128);
  CHECK(make_feature_model(infrared)->forward(x).equal(infrared->features()->forward(x)));
  // A one-stream network: both branches are the same function.
  ReidOptions shared;
  shared.shared_stem = true;
  auto one = make_reid_model(shared, 1);
  one->set_training(false);
  CHECK(one->branch("visible")->forward(x).equal(one->branch("infrared")->forward(x)));
  // Save/load keeps the weights, the branch and the output.
  test::TempDir dir;
  infrared->features()->save(dir.path("net.pt"));
  auto loaded = load_model(dir.path("net.pt"), torch::kCPU);
  loaded->set_training(false);
  CHECK(loaded->describe() == infrared->features()->describe());
  CHECK(loaded->forward(x).allclose(infrared->features()->forward(x)));
  CHECK_THROWS_WITH(net->branch("thermal"), Catch::Contains("\"visible\" and \"infrared\""));
}

TEST_CASE("cross-modal retrieval queries one modality against the other", "[crossmodal]") {
  const auto data = fashion_modalities("test", 120, 0);
  RetrievalOptions options;
  options.ks = {1, 5};
  options.metric = "cosine";
  const auto r = evaluate_cross_modal(trained_net(), data, options);
  CHECK(r.visible_to_infrared.queries == data.visible.size());
  CHECK(r.infrared_to_visible.queries == data.infrared.size());
  // A trained network beats chance (1/10 at rank 1) in both directions.
  CHECK(r.visible_to_infrared.recall[0] > 0.25);
  CHECK(r.infrared_to_visible.recall[0] > 0.25);
}

TEST_CASE("CMPS stays in its budget and degrades both directions", "[crossmodal]") {
  auto net = trained_net();
  const auto fit_data = fashion_modalities("train", 300, 1);
  const auto test_data = fashion_modalities("test", 200, 2);
  const double eps = 0.1;
  CmpsOptions options;
  options.epochs = 3;
  auto gen = make_generator(0);
  auto visible = branch_embedding(net, "visible");
  auto infrared = branch_embedding(net, "infrared");
  const auto cmps = std::make_shared<Cmps>(make_linf(eps), options)
                        ->fit(*visible, *infrared, fit_data.visible, fit_data.infrared, gen);
  const auto eta = cmps->perturbation();
  CHECK(eta.abs().max().item<double>() <= eps + 1e-6);
  CHECK(eta.abs().max().item<double>() > eps / 2);

  RetrievalOptions ro;
  ro.ks = {1};
  ro.metric = "cosine";
  const auto clean = evaluate_cross_modal(net, test_data, ro);
  const auto attacked = evaluate_cross_modal(net, test_data, ro, cmps.get(), &gen);
  const auto noise = make_fixed_perturbation(
      make_linf(eps), eps * torch::randn({1, 3, 28, 28}, make_generator(5)).sign());
  const auto noisy = evaluate_cross_modal(net, test_data, ro, noise.get(), &gen);
  for (auto dir :
       {&CrossModalRetrieval::visible_to_infrared, &CrossModalRetrieval::infrared_to_visible}) {
    INFO("clean " << (clean.*dir).describe() << "; CMPS " << (attacked.*dir).describe()
                  << "; noise " << (noisy.*dir).describe());
    CHECK((attacked.*dir).recall[0] < (clean.*dir).recall[0] - 0.1);
    CHECK((attacked.*dir).map < (clean.*dir).map - 0.05);
    CHECK((attacked.*dir).map < (noisy.*dir).map);
  }

  // An L2 budget: ‖η‖₂ ≤ ε.
  CmpsOptions quick;
  quick.epochs = 1;
  const auto l2 = std::make_shared<Cmps>(make_l2(1.0), quick)
                      ->fit(*visible, *infrared, fit_data.visible, fit_data.infrared, gen);
  CHECK(l2->perturbation().norm().item<double>() <= 1.0 + 1e-5);
}

TEST_CASE("CMPS is reproducible and its errors are in the user's terms", "[crossmodal]") {
  ModelPtr net = make_reid_model({}, 2);  // reproducibility needs no training
  const auto data = fashion_modalities("train", 100, 1);
  auto visible = branch_embedding(net, "visible");
  auto infrared = branch_embedding(net, "infrared");
  CmpsOptions options;
  options.epochs = 1;
  const Cmps cmps(make_linf(0.05), options);
  auto g1 = make_generator(7), g2 = make_generator(7);
  CHECK(cmps.fit(*visible, *infrared, data.visible, data.infrared, g1)
            ->perturbation()
            .equal(cmps.fit(*visible, *infrared, data.visible, data.infrared, g2)->perturbation()));

  CHECK_THROWS_WITH(Cmps(make_l1(1.0), {}), Catch::Contains("needs a Linf or L2 threat"));
  CHECK_THROWS_WITH(Cmps(make_rotation({-10, 10}), {}), Catch::Contains("physical threat"));
  CmpsOptions bad;
  bad.grayscale = 2;
  CHECK_THROWS_WITH(Cmps(make_linf(0.1), bad), Catch::Contains("grayscale is a probability"));
  bad = {};
  bad.modalities = "thermal";
  CHECK_THROWS_WITH(Cmps(make_linf(0.1), bad), Catch::Contains("\"both\", \"visible\""));
  CHECK_THROWS_WITH(cmps.perturbation(), Catch::Contains("not been fitted"));
  auto gen = make_generator(0);
  CHECK_THROWS_WITH(cmps.run(*visible, data.visible.x, data.visible.y, gen),
                    Catch::Contains("fit it on two-modality data"));
}
