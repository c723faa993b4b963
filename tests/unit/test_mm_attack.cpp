// Text and multimodal attacks on image–text models (runtime/attack/multimodal/word_attack,
// co_attack, sga, itr_table) on a fixed tiny two-tower: a linear image encoder and a bag-of-words
// text encoder whose word vectors are drawn from a hash of the word.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "runtime/attack/multimodal/co_attack.h"
#include "runtime/attack/multimodal/sga.h"
#include "runtime/attack/multimodal/word_attack.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/eval/itr_table.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/wordnet.h"
#include "runtime/threat/threat.h"
#include "two_tower_fixture.h"

namespace perturb {
namespace {

const std::map<std::string, std::vector<std::string>>& fixture_synonyms() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"dark", {"black", "dim", "shadowy", "sombre"}},
      {"coat", {"jacket", "overcoat", "parka"}},
      {"long", {"lengthy", "extended"}},
      {"sleeves", {"arms", "cuffs"}},
      {"bright", {"light", "vivid", "brilliant"}},
      {"shoe", {"boot", "sneaker", "trainer"}},
      {"small", {"little", "tiny", "compact"}},
      {"bag", {"handbag", "purse", "satchel"}},
      {"wide", {"broad", "large"}},
      {"shirt", {"top", "blouse", "tee"}},
  };
  return table;
}

std::vector<std::string> fixture_lookup(const std::string& word) {
  auto it = fixture_synonyms().find(word);
  return it == fixture_synonyms().end() ? std::vector<std::string>{} : it->second;
}

PairedDataset fixture_pairs() {
  auto gen = make_generator(5);
  PairedDataset data;
  data.images = torch::rand({4, 1, 4, 4}, gen);
  data.captions = {{"a dark coat with long sleeves", "the dark coat"},
                   {"a bright small shoe"},
                   {"a small bag", "a wide bag with long sleeves"},
                   {"a wide bright shirt"}};
  data.name = "fixture";
  return data;
}

// ‖ψ̂(a) − ψ̂(b)‖ per pair of captions.
torch::Tensor text_distance(TwoTower& model, const std::vector<std::string>& a,
                            const std::vector<std::string>& b) {
  return (embed_texts(model, a, 64) - embed_texts(model, b, 64)).norm(2, 1);
}

// cos(Φ(I_i), Ψ(T)) over every caption T of every image i, averaged.
double own_similarity(TwoTower& model, const PairedDataset& data) {
  torch::Tensor images = embed_images(model, data.images, 64);
  torch::Tensor texts = embed_texts(model, data.all_captions(), 64);
  auto owners = data.caption_owners();
  double total = 0;
  for (size_t k = 0; k < owners.size(); ++k) {
    total += images[owners[k]].dot(texts[static_cast<int64_t>(k)]).item<double>();
  }
  return total / static_cast<double>(owners.size());
}

PairThreat pair_threat(double eps, int64_t words) {
  return {make_linf(eps), WordSubThreat{words, 20}};
}

}  // namespace

TEST_CASE("WordAttack replaces at most `words` words, only by synonyms", "[mm_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = fixture_pairs();
  for (int64_t words : {1, 2}) {
    auto attack = make_word_attack({nullptr, WordSubThreat{words, 20}}, fixture_lookup);
    auto gen = make_generator(0);
    AttackStats stats;
    PairedDataset out = attack->run(model, data, gen, &stats);
    CHECK(torch::equal(out.images, data.images));
    CHECK(stats.queries > 0);
    const auto before = data.all_captions();
    const auto after = out.all_captions();
    REQUIRE(before.size() == after.size());
    int64_t changed_captions = 0;
    for (size_t c = 0; c < before.size(); ++c) {
      const auto a = split_words(before[c]);
      const auto b = split_words(after[c]);
      REQUIRE(a.size() == b.size());
      int64_t changed = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i] == b[i]) continue;
        ++changed;
        const auto options = fixture_lookup(a[i]);
        CHECK(std::find(options.begin(), options.end(), b[i]) != options.end());
        CHECK_FALSE(is_stop_word(a[i]));
      }
      CHECK(changed <= words);
      CHECK(words_changed(before[c], after[c]) == changed);
      changed_captions += changed > 0;
    }
    CHECK(changed_captions == static_cast<int64_t>(before.size()));  // every caption has a synonym
  }
  CHECK(model.training());  // the mode is restored
}

TEST_CASE("WordAttack moves the caption embedding more than a random substitution", "[mm_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = fixture_pairs();
  const auto captions = data.all_captions();
  const auto attacked =
      substitute_words(model, captions, WordSubThreat{1, 20}, {}, nullptr, fixture_lookup);
  const double attack_distance = text_distance(model, captions, attacked).mean().item<double>();
  // Random one-word substitutions: a random substitutable word, a random synonym, many draws.
  auto gen = make_generator(3);
  double random_total = 0;
  const int draws = 20;
  for (int d = 0; d < draws; ++d) {
    std::vector<std::string> random;
    for (const auto& caption : captions) {
      auto words = split_words(caption);
      std::vector<size_t> positions;
      for (size_t i = 0; i < words.size(); ++i) {
        if (!fixture_lookup(words[i]).empty()) positions.push_back(i);
      }
      const auto pick = [&](int64_t n) { return torch::randint(n, {1}, gen).item<int64_t>(); };
      const size_t pos = positions[pick(static_cast<int64_t>(positions.size()))];
      const auto options = fixture_lookup(words[pos]);
      words[pos] = options[pick(static_cast<int64_t>(options.size()))];
      random.push_back(join_words(words));
    }
    random_total += text_distance(model, captions, random).mean().item<double>();
  }
  CHECK(attack_distance > random_total / draws + 0.05);
  // Two words move it at least as far as one.
  const auto two =
      substitute_words(model, captions, WordSubThreat{2, 20}, {}, nullptr, fixture_lookup);
  CHECK(text_distance(model, captions, two).mean().item<double>() >= attack_distance - 1e-6);
  // words: 0 changes nothing; an empty candidate budget is an error.
  CHECK(substitute_words(model, captions, WordSubThreat{0, 20}, {}, nullptr, fixture_lookup) ==
        captions);
  CHECK_THROWS_AS(
      substitute_words(model, captions, WordSubThreat{1, 0}, {}, nullptr, fixture_lookup), Error);
}

TEST_CASE("WordAttack with WordNet substitutes WordNet synonyms", "[mm_attack]") {
  BagOfWordsTwoTower model;
  const std::vector<std::string> captions = {"a dark coat with long sleeves",
                                             "a bright small shoe"};
  const auto attacked = substitute_words(model, captions, WordSubThreat{1, 20});
  for (size_t c = 0; c < captions.size(); ++c) {
    const auto a = split_words(captions[c]);
    const auto b = split_words(attacked[c]);
    REQUIRE(a.size() == b.size());
    int changed = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] == b[i]) continue;
      ++changed;
      const auto options = WordNet::shared().synonyms(a[i]);
      CHECK(std::find(options.begin(), options.end(), b[i]) != options.end());
    }
    CHECK(changed == 1);
  }
}

TEST_CASE("Co-Attack stays in the ball and lowers similarity more than clean or text only",
          "[mm_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = fixture_pairs();
  auto co = make_co_attack(pair_threat(0.1, 1), {}, fixture_lookup);
  auto text_only = make_word_attack({nullptr, WordSubThreat{1, 20}}, fixture_lookup);
  auto gen = make_generator(0);
  AttackStats stats;
  PairedDataset out = co->run(model, data, gen, &stats);
  CHECK(stats.gradient_evals == 10 * data.size());
  CHECK((out.images - data.images).abs().max().item<double>() <= 0.1 + 1e-6);
  CHECK(out.images.min().item<double>() >= 0);
  CHECK(out.images.max().item<double>() <= 1);
  PairedDataset text = text_only->run(model, data, gen);
  CHECK(out.captions == text.captions);  // the text step is the WordAttack
  const double clean = own_similarity(model, data);
  const double text_sim = own_similarity(model, text);
  const double co_sim = own_similarity(model, out);
  CHECK(co_sim < clean - 0.05);
  CHECK(co_sim < text_sim - 0.05);
  CHECK(model.training());
  CHECK(co->describe() ==
        "CoAttack(Pair(image: Linf(eps: 0.1, domain: [0, 1]), text: WordSub(words: 1, "
        "candidates: 20)), steps: 10, step: 0.025)");
  CHECK_THROWS_AS(make_co_attack({make_linf(0.1), std::nullopt}), Error);
  CHECK_THROWS_AS(make_co_attack({nullptr, WordSubThreat{}}), Error);
  CHECK_THROWS_AS(make_word_attack({make_linf(0.1), std::nullopt}), Error);
}

TEST_CASE("SGA stays in the ball and lowers similarity more than clean or text only",
          "[mm_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = fixture_pairs();
  auto gen = make_generator(0);
  torch::Tensor copies = sga_scaled_copies(data.images, {0.5, 0.75, 1.25, 1.5}, 0.05, gen);
  CHECK(copies.sizes() == torch::IntArrayRef({20, 1, 4, 4}));
  CHECK(torch::equal(copies.slice(0, 0, 4), data.images));
  auto sga = make_sga(pair_threat(0.1, 1), {}, fixture_lookup);
  AttackStats stats;
  PairedDataset out = sga->run(model, data, gen, &stats);
  CHECK(stats.gradient_evals == 2 * 10 * 5 * data.size());  // two image steps, 5 copies each
  CHECK((out.images - data.images).abs().max().item<double>() <= 0.1 + 1e-6);
  CHECK(out.images.min().item<double>() >= 0);
  CHECK(out.images.max().item<double>() <= 1);
  const auto before = data.all_captions();
  const auto after = out.all_captions();
  for (size_t c = 0; c < before.size(); ++c) CHECK(words_changed(before[c], after[c]) <= 1);
  auto text_only = make_word_attack({nullptr, WordSubThreat{1, 20}}, fixture_lookup);
  const double clean = own_similarity(model, data);
  const double text_sim = own_similarity(model, text_only->run(model, data, gen));
  const double sga_sim = own_similarity(model, out);
  CHECK(sga_sim < clean - 0.05);
  CHECK(sga_sim < text_sim - 0.05);
  CHECK(sga->describe() ==
        "SGA(Pair(image: Linf(eps: 0.1, domain: [0, 1]), text: WordSub(words: 1, candidates: "
        "20)), steps: 10, step: 0.025, scales: [0.5, 0.75, 1.25, 1.5])");
  SgaOptions bad;
  bad.scales = {0.5, 0};
  CHECK_THROWS_AS(make_sga(pair_threat(0.1, 1), bad), Error);
}

TEST_CASE("Co-Attack and SGA are seeded", "[mm_attack]") {
  BagOfWordsTwoTower model;
  PairedDataset data = fixture_pairs();
  for (const auto& attack : {make_co_attack(pair_threat(0.05, 1), {}, fixture_lookup),
                             make_sga(pair_threat(0.05, 1), {}, fixture_lookup)}) {
    auto a = make_generator(9);
    auto b = make_generator(9);
    PairedDataset x = attack->run(model, data, a);
    PairedDataset y = attack->run(model, data, b);
    CHECK(torch::equal(x.images, y.images));
    CHECK(x.captions == y.captions);
  }
}

TEST_CASE("the retrieval table has the paper's Table 1 layout", "[mm_attack]") {
  ItrTable table;
  table.data = "fixture: 4 images";
  table.ks = {1, 5};
  table.rows = {"Clean", "CoAttack"};
  ItrResult clean;
  clean.ks = {1, 5};
  clean.text_recall = {0.5, 1.0};
  clean.image_recall = {0.25, 0.75};
  ItrResult attacked = clean;
  attacked.text_recall = {0.125, 0.5};
  attacked.image_recall = {0.0, 0.375};
  attacked.attack = "CoAttack(...)";
  attacked.seconds = 1.5;
  attacked.stats.gradient_evals = 40;
  attacked.stats.queries = 12;
  table.results = {clean, attacked};
  CHECK(table.table() ==
        "Retrieval: fixture: 4 images\n"
        "          TR            IR\n"
        "Attack    R@1    R@5    R@1    R@5\n"
        "Clean     50.0   100.0  25.0   75.0\n"
        "CoAttack  12.5   50.0   0.0    37.5\n"
        "CoAttack: CoAttack(...) (1.5 s, 40 gradient evals, 12 queries)");
  CHECK(table.row("coattack").text_recall[0] == 0.125);
  CHECK_THROWS_WITH(table.row("SGA"), "the table has no row 'SGA'; it has Clean, CoAttack");
}

}  // namespace perturb
