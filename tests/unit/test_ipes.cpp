// IPES-GAN (thesis ch. 3): the two-camera split, the networks' shapes, each loss of eq. 3.19
// finite and the reconstruction falling over a few steps, determinism per seed, and that the
// trainer takes the target's images alone.
#include <catch2/catch.hpp>

#include <type_traits>

#include "runtime/augment/generated.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/fashion_domains.h"
#include "runtime/model/ipes_gan.h"
#include "runtime/train/ipes_train.h"

using namespace perturb;

namespace {

// A tiny source: items as bright squares at a class-dependent place on black; labels 0..2.
Dataset toy_source(int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  Dataset d;
  d.x = torch::rand({n, 1, 12, 12}, gen) * 0.05;
  d.y = torch::arange(n, torch::kInt64) % 3;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = d.y[i].item<int64_t>() * 3;
    d.x[i].slice(1, c, c + 5).slice(2, 3, 9).fill_(0.9);
  }
  d.name = "toy";
  return d;
}

torch::Tensor toy_target(int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  return target_camera(toy_source(n, seed + 1).x, gen);
}

IpesTrainOptions tiny_options() {
  IpesTrainOptions o;
  o.epochs = 1;
  o.batch = 8;
  o.std_epochs = 1;
  o.quiet = true;
  o.lr = 1e-3;
  return o;
}

}  // namespace

TEST_CASE("fashion_domains: different items, the target camera's look, seeded", "[ipes]") {
  const DomainPair a = fashion_domains("test", 40, 3);
  const DomainPair b = fashion_domains("test", 40, 3);
  const DomainPair c = fashion_domains("test", 40, 4);
  REQUIRE(a.source.size() == 40);
  REQUIRE(a.target.size() == 40);
  CHECK(a.source.x.sizes() == a.target.x.sizes());
  CHECK(torch::equal(a.target.x, b.target.x));
  CHECK_FALSE(torch::equal(a.target.x, c.target.x));
  CHECK(torch::equal(a.source.x, c.source.x));  // the seed draws the target camera only
  // Dark studio backdrop vs a lit wall: the corners tell the cameras apart.
  auto corner = [](const torch::Tensor& x) {
    return x.slice(2, 0, 3).slice(3, 0, 3).mean().item<double>();
  };
  CHECK(corner(a.source.x) < 0.05);
  CHECK(corner(a.target.x) > 0.25);
  CHECK(a.target.x.min().item<double>() >= 0);
  CHECK(a.target.x.max().item<double>() <= 1);
  CHECK_THROWS_AS(fashion_domains("val", 4, 0), Error);
}

TEST_CASE("IPES-GAN: the encoders and decoders keep their shapes", "[ipes]") {
  IpesNetOptions o;
  o.classes = 3;
  o.size = 12;
  IpesGan gan(o, 0);
  const auto x = torch::rand({5, 1, 12, 12});
  const auto pose = pose_map(x);
  CHECK(pose.sizes() == std::vector<int64_t>{5, 2, 12, 12});
  const EnvFeatures env = gan.environment(IpesDomain::kSource, x, pose);
  CHECK(env.pose.sizes() == std::vector<int64_t>{5, o.pose_width, 3, 3});
  CHECK(env.style.sizes() == std::vector<int64_t>{5, o.style_dim});
  CHECK(env.camera.sizes() == std::vector<int64_t>{5, 2});
  const IdFeatures id = gan.identity(x);
  CHECK(id.features.sizes() == std::vector<int64_t>{5, 128});
  CHECK(id.logits.sizes() == std::vector<int64_t>{5, 3});
  const auto out = gan.decode(IpesDomain::kTarget, env, id.features);
  CHECK(out.sizes() == x.sizes());
  CHECK(out.min().item<double>() >= 0);
  CHECK(out.max().item<double>() <= 1);
  CHECK(gan.discriminate(x).sizes() == std::vector<int64_t>{5, 1, 3, 3});
  // generate needs a pool to draw environments from, and images of the right size.
  auto gen = make_generator(0);
  CHECK_THROWS_AS(gan.generate(x, IpesDomain::kTarget, gen), Error);
  gan.target_pool = torch::rand({7, 1, 12, 12});
  CHECK(gan.generate(x, IpesDomain::kTarget, gen).sizes() == x.sizes());
  CHECK_THROWS_WITH(gan.generate(torch::rand({2, 1, 10, 10}), IpesDomain::kTarget, gen),
                    Catch::Contains("N×1×12×12"));
}

TEST_CASE("IPES-GAN: every loss of eq. 3.19 is finite and the reconstructions fall", "[ipes]") {
  const Dataset source = toy_source(16, 0);
  const auto target = toy_target(16, 5);
  IpesNetOptions net;
  net.classes = 3;
  net.size = 12;
  auto gan = std::make_shared<IpesGan>(net, 0);
  IpesTrainOptions o = tiny_options();
  IpesTrainer trainer(gan, train_standard_cnn(source, 3, 1, 0), o);
  IpesLosses first, last;
  for (int step = 0; step < 25; ++step) {
    // w2 = w4 = 3: the late losses take part too.
    const IpesLosses l = trainer.step(source.x, source.y, target, 3, 3);
    for (const auto& [name, value] : l.named()) {
      INFO(name << " at step " << step);
      REQUIRE(std::isfinite(value));
      REQUIRE(value >= 0);
    }
    if (step == 0) first = l;
    last = l;
  }
  CHECK(last.self < first.self);
  CHECK(last.cyc < first.cyc);
  CHECK(last.ce < first.ce);
  CHECK(last.cam < first.cam);
}

TEST_CASE("IPES-GAN: the late weights ramp after the warm-up", "[ipes]") {
  IpesTrainOptions o;  // warm-up 40%, ramp 12%, to 3
  CHECK(ipes_late_weight(0, 100, o) == 0);
  CHECK(ipes_late_weight(40, 100, o) == 0);
  CHECK(ipes_late_weight(46, 100, o) == Approx(1.5));
  CHECK(ipes_late_weight(52, 100, o) == Approx(3));
  CHECK(ipes_late_weight(99, 100, o) == Approx(3));
}

TEST_CASE("train_ipes: same seed, same GAN; the target's labels never reach it", "[ipes]") {
  // The trainer's signature takes the target's images: no labels can reach it.
  static_assert(std::is_same_v<decltype(&train_ipes),
                               std::shared_ptr<IpesGan> (*)(const Dataset&, const torch::Tensor&,
                                                            const IpesTrainOptions&)>);
  const Dataset source = toy_source(16, 0);
  const auto target = toy_target(16, 5);
  const auto a = train_ipes(source, target, tiny_options());
  const auto b = train_ipes(source, target, tiny_options());
  auto g1 = make_generator(9), g2 = make_generator(9);
  const auto x = source.x.slice(0, 0, 4);
  CHECK(torch::equal(a->generate(x, IpesDomain::kTarget, g1),
                     b->generate(x, IpesDomain::kTarget, g2)));
  IpesTrainOptions other = tiny_options();
  other.seed = 1;
  const auto c = train_ipes(source, target, other);
  auto g3 = make_generator(9), g4 = make_generator(9);
  CHECK_FALSE(torch::equal(a->generate(x, IpesDomain::kTarget, g3),
                           c->generate(x, IpesDomain::kTarget, g4)));
  CHECK(a->last_losses.size() == 10);
  CHECK_THROWS_WITH(train_ipes(source, torch::rand({4, 3, 12, 12}), tiny_options()),
                    Catch::Contains("the target as grey square images"));
}

TEST_CASE("Generated: switches the chosen images, keeps the labels", "[ipes]") {
  const Dataset source = toy_source(16, 0);
  const auto gan = train_ipes(source, toy_target(16, 5), tiny_options());
  const PolicyPtr all = make_generated(gan, "target", 1.0);
  CHECK(all->describe() == "Generated(to: \"target\")");
  auto gen = make_generator(0);
  AugmentBatch batch{source.x.slice(0, 0, 6), source.y.slice(0, 0, 6)};
  const AugmentBatch out = all->apply(batch, gen);
  CHECK(torch::equal(out.y, batch.y));
  CHECK(out.x.sizes() == batch.x.sizes());
  CHECK_FALSE(torch::allclose(out.x, batch.x));
  const PolicyPtr none = make_generated(gan, "target", 0.0);
  CHECK(torch::equal(none->apply(batch.x, gen), batch.x));
  CHECK_THROWS_WITH(make_generated(gan, "sideways", 1.0), Catch::Contains("\"target\" or"));
}
