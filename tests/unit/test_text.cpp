// Text and captioned data: WordNet synonyms, the word and CLIP BPE tokenizers, EDA,
// fashion_captions and load_pairs.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/fashion_captions.h"
#include "runtime/data/json_read.h"
#include "runtime/data/pairs.h"
#include "runtime/text/eda.h"
#include "runtime/text/eda_ops.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/wordnet.h"
#include "test_util.h"

using namespace perturb;

namespace {

bool has(const std::vector<std::string>& list, const std::string& word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

}  // namespace

TEST_CASE("WordNet synonyms over senses and parts of speech", "[text]") {
  const WordNet& wn = WordNet::shared();
  const auto shirt = wn.synonyms("coat");
  INFO("coat: " << join_words(shirt));
  CHECK(has(shirt, "coating"));
  const auto dark = wn.synonyms("dark");
  const auto big = wn.synonyms("big");
  INFO("big: " << join_words(big));
  CHECK(has(big, "large"));
  INFO("dark: " << join_words(dark));
  CHECK(has(dark, "darkness"));
  CHECK(has(dark, "night"));
  CHECK(!has(dark, "dark"));
  CHECK(wn.contains("shirt"));
  CHECK(wn.contains("Shirts"));  // plural through the suffix rules
  CHECK(!wn.contains("qwzxv"));
  CHECK(wn.synonyms("qwzxv").empty());
  CHECK(wn.synonyms("the").empty());  // stop word
  CHECK(wn.synonyms("with").empty());
  // Inflected forms reach their base: "geese" (noun.exc) and "running" (rule).
  CHECK(has(wn.synonyms("geese"), "goose") == false);  // the base itself is left out
  CHECK(wn.synonyms("geese") == wn.synonyms("goose"));
  CHECK(has(wn.synonyms("sneakers"), "sneaker") == false);
  CHECK(has(wn.synonyms("sneakers"), "sneaker") == has(wn.synonyms("sneaker"), "sneaker"));
  for (const auto& list : {shirt, dark, big}) {
    std::set<std::string> unique(list.begin(), list.end());
    CHECK(unique.size() == list.size());
    for (const auto& w : list) {
      CHECK(w.find('_') == std::string::npos);
      CHECK(w.find(' ') == std::string::npos);
      CHECK(std::none_of(w.begin(), w.end(), [](char c) { return std::isupper(c); }));
    }
  }
  CHECK_THROWS_AS(WordNet("/nonexistent/wordnet"), IoError);
  CHECK_THROWS_WITH(WordNet("/nonexistent/wordnet"), Catch::Contains("wordnet-base"));
}

TEST_CASE("a damaged WordNet database is an IoError naming the file, never a crash", "[text]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("perturb-wordnet-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
  };
  for (const std::string pos : {"noun", "verb", "adj", "adv"}) {
    write("index." + pos, "");
    write("data." + pos, "");
    write(pos + ".exc", "");
  }
  // An index line whose counts are garbage, one whose offsets point past the data file, one cut
  // short, and a data line whose word count is not hexadecimal.
  write("index.noun",
        "coat n x9 2 @ ~ 2 1 0000001\n"
        "dark n 1 0 1 1 99999999999\n"
        "shirt n 1\n"
        "wide n 1 0 1 1 0000000000\n"
        "zero n 1 18446744073709551615 1 1 0\n");
  write("data.noun", "0000000000 06 n zz wide 0 000 | a damaged line\n");
  const WordNet wn(dir.string());
  CHECK_THROWS_WITH(wn.synonyms("coat"), Catch::Contains("index.noun is damaged: 'x9'"));
  CHECK(wn.synonyms("dark").empty());
  CHECK(wn.synonyms("shirt").empty());
  CHECK_THROWS_WITH(wn.synonyms("wide"), Catch::Contains("data.noun is damaged: 'zz'"));
  CHECK_THROWS_AS(wn.synonyms("wide"), IoError);
  CHECK(wn.synonyms("zero").empty());
  fs::remove_all(dir);
}

TEST_CASE("split_words lower-cases and strips punctuation at word ends", "[text]") {
  CHECK(split_words("  A dark, wide T-shirt!  ") ==
        std::vector<std::string>{"a", "dark", "wide", "t-shirt"});
  CHECK(split_words("... !!").empty());
  CHECK(join_words({"a", "b"}) == "a b");
}

TEST_CASE("word tokenizer: ids, masks, unknown words, truncation, round trip", "[text]") {
  const std::vector<std::string> corpus = {"a dark coat", "a light coat", "a wide bag"};
  auto plain = make_word_tokenizer(corpus, 6, 1, false);
  // <pad> <unk> <start> <end>, then by count: a(3) coat(2) bag dark light wide.
  CHECK(plain->vocab_size() == 4 + 6);
  CHECK(plain->describe() == "word_tokenizer(vocab: 10, length: 6)");
  auto batch = plain->encode({"A dark coat", "a purple bag!", "a a a a a a a a"});
  CHECK(batch.ids.sizes() == torch::IntArrayRef({3, 6}));
  CHECK(batch.ids[0].equal(torch::tensor({2, 4, 7, 5, 3, 0}, torch::kInt64)));
  CHECK(batch.mask[0].equal(torch::tensor({1, 1, 1, 1, 1, 0}, torch::kInt64)));
  CHECK(batch.ids[1][2].item<int64_t>() == 1);  // purple → <unk>
  CHECK(batch.ids[2].equal(torch::tensor({2, 4, 4, 4, 4, 3}, torch::kInt64)));
  CHECK(batch.mask[2].sum().item<int64_t>() == 6);

  auto back = deserialize_tokenizer(plain->serialize());
  CHECK(back->describe() == plain->describe());
  auto again = back->encode({"A dark coat", "a purple bag!"});
  CHECK(again.ids.equal(batch.ids.slice(0, 0, 2)));

  auto frequent = make_word_tokenizer(corpus, 6, 2, false);
  CHECK(frequent->vocab_size() == 4 + 2);

  auto with_synonyms = make_word_tokenizer(corpus, 6, 1, true);
  CHECK(with_synonyms->vocab_size() > plain->vocab_size());
  // "handbag" is a WordNet synonym of "bag": known, not <unk>.
  CHECK(with_synonyms->encode({"handbag"}).ids[0][1].item<int64_t>() != 1);
  CHECK(deserialize_tokenizer(with_synonyms->serialize())->vocab_size() ==
        with_synonyms->vocab_size());
  CHECK_THROWS_WITH(deserialize_tokenizer("nonsense\n"), Catch::Contains("not a saved tokenizer"));
  CHECK_THROWS_AS(make_word_tokenizer(corpus, 1, 1, false), Error);
}

TEST_CASE("fashion_captions: captions per image differ, deterministic, labels", "[text]") {
  if (!test::fashion_mnist_or_warn("test", 10)) return;
  auto data = fashion_captions("test", 5, 300, 0);
  data.check();
  CHECK(data.size() == 300);
  CHECK(data.name == "fashion_captions(test)");
  CHECK(data.labels.equal(fashion_mnist("test", 300).y));
  for (const auto& list : data.captions) {
    REQUIRE(list.size() == 5);
    CHECK(std::set<std::string>(list.begin(), list.end()).size() == 5);
  }
  auto same = fashion_captions("test", 5, 300, 0);
  CHECK(same.captions == data.captions);
  auto other = fashion_captions("test", 5, 300, 1);
  CHECK(other.captions != data.captions);
  // An image's captions do not depend on how many images are taken.
  auto fewer = fashion_captions("test", 5, 20, 0);
  for (size_t i = 0; i < 20; ++i) CHECK(fewer.captions[i] == data.captions[i]);
  // Same-class images are told apart by their attributes: many distinct captions per class.
  std::set<std::string> coats;
  int64_t coat_images = 0;
  for (int64_t i = 0; i < data.size(); ++i) {
    if (data.labels[i].item<int64_t>() != 4) continue;
    ++coat_images;
    coats.insert(data.captions[i].begin(), data.captions[i].end());
  }
  CHECK(coats.size() > static_cast<size_t>(coat_images) * 3);
  INFO(data.captions[0][0] << " | " << data.captions[0][1] << " | " << data.captions[0][2]);
  CHECK(data.describe() ==
        "fashion_captions(test): 300 images 1×28×28 with 1500 captions (5 per image), 10 classes");
  CHECK_THROWS_AS(fashion_captions("test", 0, 10, 0), Error);
  CHECK_THROWS_AS(fashion_captions("dev", 5, 10, 0), Error);
}

TEST_CASE("fashion_captions: words follow the measured properties", "[text]") {
  if (!test::fashion_mnist_or_warn("test", 10)) return;
  auto data = fashion_captions("test", 5, 1000, 3);
  torch::Tensor features = fashion_caption_features(data.images);
  auto mean_where = [&](int column, const std::vector<std::string>& words) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < data.size(); ++i) {
      bool said = false;
      for (const auto& caption : data.captions[i]) {
        for (const auto& w : split_words(caption)) said = said || has(words, w);
      }
      if (said) {
        sum += features[i][column].item<double>();
        ++count;
      }
    }
    REQUIRE(count > 20);
    return sum / static_cast<double>(count);
  };
  const double all_brightness = features.select(1, 0).mean().item<double>();
  const double dark = mean_where(0, {"dark", "dim", "shadowy"});
  const double light = mean_where(0, {"light", "pale", "bright"});
  INFO("dark " << dark << " light " << light << " all " << all_brightness);
  CHECK(dark < all_brightness);
  CHECK(light > all_brightness);
  CHECK(light - dark > 0.15);
  CHECK(mean_where(2, {"wide", "broad", "wide-cut"}) > mean_where(2, {"narrow", "slender"}) + 5);
  CHECK(mean_where(4, {"symmetric", "balanced", "even"}) >
        mean_where(4, {"lopsided", "asymmetric", "uneven"}) + 0.2);
  // Each level's words appear only for that level (no template word shares them).
  const double all_coverage = features.select(1, 1).mean().item<double>();
  CHECK(mean_where(1, {"bulky", "large", "heavy"}) > all_coverage + 0.1);
  CHECK(mean_where(1, {"small", "sparse", "slight"}) < all_coverage - 0.1);
  CHECK(mean_where(3, {"short", "low", "squat"}) < 24);
  // Every caption word is a WordNet word, apart from a few function words.
  const std::set<std::string> function_words = {"a",    "an",    "the",   "of",   "on",
                                                "in",   "is",    "are",   "this", "these",
                                                "that", "there", "which", "here", "and"};
  std::set<std::string> unknown;
  for (const auto& list : data.captions) {
    for (const auto& caption : list) {
      for (const auto& w : split_words(caption)) {
        if (!function_words.count(w) && !WordNet::shared().contains(w)) unknown.insert(w);
      }
    }
  }
  CHECK(join_words(std::vector<std::string>(unknown.begin(), unknown.end())) == "");
  CHECK(WordNet::shared().contains("running shoe"));
  // The class words: every trouser caption names trousers, pants or slacks.
  for (int64_t i = 0; i < data.size(); ++i) {
    if (data.labels[i].item<int64_t>() != 1) continue;
    for (const auto& caption : data.captions[i]) {
      const auto words = split_words(caption);
      CHECK((has(words, "trousers") || has(words, "pants") || has(words, "slacks")));
    }
  }
}

TEST_CASE("fashion_captions features on synthetic images", "[text]") {
  torch::Tensor x = torch::zeros({2, 1, 28, 28});
  x[0].slice(1, 4, 24).slice(2, 10, 18).fill_(0.5);  // 20 tall, 8 wide, centred: symmetric
  x[1].slice(1, 0, 28).slice(2, 0, 5).fill_(1.0);    // a left stripe: 28 tall, 5 wide, lopsided
  torch::Tensor f = fashion_caption_features(x);
  CHECK(f[0][0].item<float>() == Approx(0.5));
  CHECK(f[0][1].item<float>() == Approx(160.0 / 784.0));
  CHECK(f[0][2].item<float>() == 8);
  CHECK(f[0][3].item<float>() == 20);
  CHECK(f[0][4].item<float>() == Approx(1.0));
  CHECK(f[1][2].item<float>() == 5);
  CHECK(f[1][3].item<float>() == 28);
  CHECK(f[1][4].item<float>() == Approx(0.0));
}

TEST_CASE("EDA: each operation, alpha, determinism", "[text]") {
  const std::string text = "a dark wide coat on a black background";
  const auto words = split_words(text);
  auto sorted = [](std::vector<std::string> w) {
    std::sort(w.begin(), w.end());
    return w;
  };
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto gen = make_generator(seed);
    // Swap: same words, n = max(1, floor(0.3 * 8)) = 2 swaps move 2 to 4 positions.
    const auto swapped = split_words(eda_apply(text, EdaOp::kRandomSwap, 0.3, gen));
    CHECK(sorted(swapped) == sorted(words));
    CHECK(swapped != words);
    // Deletion: a sub-sequence of the words, at least one kept.
    const auto kept = split_words(eda_apply(text, EdaOp::kRandomDeletion, 0.3, gen));
    CHECK(!kept.empty());
    CHECK(kept.size() <= words.size());
    size_t j = 0;
    for (const auto& w : words) {
      if (j < kept.size() && kept[j] == w) ++j;
    }
    CHECK(j == kept.size());
    // Insertion: two more words, each a synonym of a word of the sentence.
    const auto inserted = split_words(eda_apply(text, EdaOp::kRandomInsertion, 0.3, gen));
    CHECK(inserted.size() == words.size() + 2);
    // Synonym replacement: same length, 1 or 2 distinct words replaced by synonyms of them.
    const auto replaced = split_words(eda_apply(text, EdaOp::kSynonymReplacement, 0.3, gen));
    REQUIRE(replaced.size() == words.size());
    size_t changed = 0;
    for (size_t i = 0; i < words.size(); ++i) {
      if (replaced[i] == words[i]) continue;
      ++changed;
      CHECK(has(WordNet::shared().synonyms(words[i]), replaced[i]));
      CHECK(words[i] != "a");  // stop words keep
    }
    CHECK(changed >= 1);
    CHECK(changed <= 2);
  }
  // Deletion rate follows alpha: about 30% of the words go on average.
  auto gen = make_generator(7);
  size_t total = 0;
  for (int k = 0; k < 400; ++k) {
    total += split_words(eda_apply(text, EdaOp::kRandomDeletion, 0.3, gen)).size();
  }
  CHECK(static_cast<double>(total) / 400.0 == Approx(8 * 0.7).margin(0.3));
  // One-word sentences are left alone by swap and deletion.
  auto g1 = make_generator(1);
  CHECK(eda_apply("coat", EdaOp::kRandomSwap, 0.3, g1) == "coat");
  CHECK(eda_apply("coat", EdaOp::kRandomDeletion, 0.9, g1) == "coat");
  // eda_augment: same seed same sentence; over seeds all four kinds of change appear.
  auto a = make_generator(3);
  auto b = make_generator(3);
  CHECK(eda_augment(text, 0.3, a) == eda_augment(text, 0.3, b));
  std::set<std::string> outputs;
  std::set<size_t> lengths;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto g = make_generator(seed);
    const auto out = eda_augment(text, 0.3, g);
    outputs.insert(out);
    lengths.insert(split_words(out).size());
  }
  CHECK(outputs.size() > 30);
  CHECK(lengths.count(8) == 1);   // swap or replacement
  CHECK(lengths.count(10) == 1);  // insertion
  CHECK(*lengths.begin() < 8);    // deletion
  auto g = make_generator(0);
  CHECK_THROWS_AS(eda_augment(text, 0.0, g), Error);
  CHECK_THROWS_AS(eda_augment(text, 1.5, g), Error);
}

namespace {

const std::string kPairsDir = std::string(PERTURB_SOURCE_DIR) + "/tests/fixtures/pairs";

void check_fixture(const PairedDataset& data) {
  data.check();
  REQUIRE(data.size() == 3);
  CHECK(data.images.sizes() == torch::IntArrayRef({3, 3, 8, 8}));
  // OpenCV reads BGR; the loader gives RGB: red.png is red in channel 0.
  CHECK(data.images[0][0].mean().item<float>() == Approx(1.0));
  CHECK(data.images[0][2].mean().item<float>() == Approx(0.0));
  CHECK(data.images[1][1].mean().item<float>() == Approx(1.0));
  CHECK(data.images[2][2][1][1].item<float>() == Approx(1.0));
  CHECK(data.images[2][0][0][0].item<float>() == Approx(1.0));  // the white corner
  CHECK(data.images[2][0][1][1].item<float>() == Approx(0.0));
  CHECK(data.captions[0] == std::vector<std::string>{"a red square", "a square, all red",
                                                     "crimson \u00e9t\u00e9 \U0001F600 block"});
  CHECK(data.captions[1] == std::vector<std::string>{"a green square", "grass-coloured tile"});
  CHECK(data.captions[2] == std::vector<std::string>{"a blue square with a white corner"});
  CHECK(!data.labels.defined());
}

}  // namespace

TEST_CASE("load_pairs reads Karpathy JSON, COCO JSON, CSV and Flickr30k layouts", "[text]") {
  const std::string images = kPairsDir + "/images";
  for (const char* file : {"karpathy.json", "coco.json", "captions.csv", "results.csv"}) {
    INFO(file);
    auto data = load_pairs(images, kPairsDir + "/" + file);
    check_fixture(data);
    CHECK(data.name == std::string("pairs(") + file + ")");
  }
  PairsOptions train;
  train.split = "train";
  auto karpathy_train = load_pairs(images, kPairsDir + "/karpathy.json", train);
  CHECK(karpathy_train.size() == 2);
  CHECK(karpathy_train.captions[1].front() == "a blue square with a white corner");
  PairsOptions small;
  small.size = 4;
  small.grayscale = true;
  small.limit = 2;
  auto gray = load_pairs(images, kPairsDir + "/captions.csv", small);
  CHECK(gray.images.sizes() == torch::IntArrayRef({2, 1, 4, 4}));
  // Grayscale of pure red and pure green (OpenCV's 0.299 R + 0.587 G + 0.114 B).
  CHECK(gray.images[0].mean().item<float>() == Approx(0.299).margin(0.01));
  CHECK(gray.images[1].mean().item<float>() == Approx(0.587).margin(0.01));
  PairsOptions resize;
  resize.size = 6;
  auto mixed = load_pairs(images, kPairsDir + "/mixed_sizes.csv", resize);
  CHECK(mixed.images.sizes() == torch::IntArrayRef({2, 3, 6, 6}));
  CHECK(mixed.images[1].mean().item<float>() == Approx(128.0 / 255).margin(0.01));
}

TEST_CASE("load_pairs errors name the file, the line and the image", "[text]") {
  const std::string images = kPairsDir + "/images";
  CHECK_THROWS_AS(load_pairs(images, kPairsDir + "/missing_image.csv"), IoError);
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/missing_image.csv"),
                    Catch::Contains("missing_image.csv:3: image 'nope.png' not found in"));
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/bad_row.csv"),
                    Catch::Contains("bad_row.csv:3: expected 2 fields"));
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/bad_header.csv"),
                    Catch::Contains("bad_header.csv:1: the header must name an image column"));
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/mixed_sizes.csv"),
                    Catch::Contains("mixed_sizes.csv:3: image 'wide.png' is 12×6 but the first "
                                    "image is 8×8; give size: to resize all images"));
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/broken.json"),
                    Catch::Contains("broken.json:1:65: invalid JSON: ") &&
                        Catch::Contains("control character U+000A (LF) must be escaped"));
  CHECK_THROWS_AS(load_pairs(images, kPairsDir + "/no_such_file.csv"), IoError);
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/no_such_file.csv"),
                    Catch::Contains("no_such_file.csv"));
  CHECK_THROWS_AS(load_pairs(kPairsDir + "/no_such_folder", kPairsDir + "/captions.csv"), IoError);
  PairsOptions split;
  split.split = "train";
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/coco.json", split),
                    Catch::Contains("needs a Karpathy-style JSON"));
  split.split = "val";
  CHECK_THROWS_WITH(load_pairs(images, kPairsDir + "/karpathy.json", split),
                    Catch::Contains("no captioned images in split \"val\""));
}

TEST_CASE("JSON reader: escapes, nesting, errors with line and column", "[text]") {
  auto v =
      parse_json(R"({"a": [1, -2.5e1, true, null], "s": "q\"\\\/\n\u00e9\ud83d\ude00"})", "t.json");
  REQUIRE(v.is_object());
  CHECK(v["a"].size() == 4);
  CHECK(v["a"][1].get<double>() == -25.0);
  CHECK(v["s"].get<std::string>() == "q\"\\/\n\u00e9\U0001F600");
  CHECK(v.begin().key() == "a");  // members in file order
  // The column of the offending byte, on its line (nlohmann gives a byte offset).
  CHECK_THROWS_WITH(parse_json("{\n  \"a\" 1}", "t.json"),
                    Catch::StartsWith("t.json:2:7: invalid JSON: ") && Catch::Contains("':'"));
  CHECK_THROWS_WITH(parse_json("[1,\n 2,\n  x]", "t.json"), Catch::StartsWith("t.json:3:3:"));
  CHECK_THROWS_WITH(parse_json("[1, 2", "t.json"), Catch::StartsWith("t.json:1:"));
  CHECK_THROWS_WITH(parse_json("", "t.json"), Catch::StartsWith("t.json:1:1:"));
  CHECK_THROWS_AS(parse_json("\"\\ud83d\"", "t.json"), Error);  // a lone surrogate
  CHECK_THROWS_WITH(parse_json("{} x", "t.json"), Catch::StartsWith("t.json:1:4:"));
}

TEST_CASE("JSON reader: strict UTF-8 inside strings", "[text]") {
  CHECK(parse_json("[\"\xC3\xA9\xF0\x9F\x98\x80\"]", "t.json")[0].get<std::string>() ==
        "\u00e9\U0001F600");
  // A lone continuation byte, a truncated sequence, an overlong '/' and a UTF-16 surrogate
  // written as UTF-8: each an error at the bad byte, naming the file.
  CHECK_THROWS_WITH(parse_json("{\"k\":\n \"ab\x80\"}", "u.json"),
                    Catch::StartsWith("u.json:2:5: invalid JSON: ") && Catch::Contains("UTF-8"));
  CHECK_THROWS_WITH(parse_json("\"\xC3\"", "u.json"), Catch::StartsWith("u.json:1:3:"));
  CHECK_THROWS_WITH(parse_json("\"\xC0\xAF\"", "u.json"), Catch::StartsWith("u.json:1:2:"));
  CHECK_THROWS_WITH(parse_json("\"\xED\xA0\x80\"", "u.json"), Catch::StartsWith("u.json:1:3:"));
  // nlohmann's own prefix and its echo of the bytes read are left out of the message.
  CHECK_THROWS_WITH(parse_json("[\"a\xFF\"]", "u.json"), !Catch::Contains("last read") &&
                                                             !Catch::Contains("json.exception") &&
                                                             !Catch::Contains("\xFF"));
}

TEST_CASE("CLIP BPE tokenizer agrees with the Python oracle", "[text]") {
  const std::string dir = std::string(PERTURB_SOURCE_DIR) + "/tests/conformance/text";
  std::ifstream in(dir + "/bpe_expected.json");
  REQUIRE(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const Json expected = parse_json(buffer.str(), "bpe_expected.json");
  std::vector<std::string> sentences;
  for (const auto& s : expected.at("sentences")) sentences.push_back(s.get<std::string>());
  for (const char* file : {"/bpe_small.txt", "/bpe_small.txt.gz"}) {
    INFO(file);
    auto plain = load_clip_bpe(dir + file);
    CHECK(plain->vocab_size() == expected.at("vocab_size").get<int64_t>());
    auto saved = deserialize_tokenizer(plain->serialize());
    for (auto [key, length] : {std::pair<const char*, int64_t>{"length77", 77}, {"length12", 12}}) {
      auto tokenizer = length == 77 ? plain : load_clip_bpe(dir + file, length);
      for (const auto& t : {tokenizer, deserialize_tokenizer(tokenizer->serialize())}) {
        const TokenBatch batch = t->encode(sentences);
        REQUIRE(batch.ids.sizes() ==
                torch::IntArrayRef({static_cast<int64_t>(sentences.size()), length}));
        const auto& rows = expected.at(key);
        for (size_t i = 0; i < sentences.size(); ++i) {
          INFO(key << " sentence " << i << ": " << sentences[i]);
          const auto n = static_cast<int64_t>(rows[i].size());
          std::vector<int64_t> want;
          for (const auto& id : rows[i]) want.push_back(id.get<int64_t>());
          torch::Tensor got = batch.ids[i].slice(0, 0, n);
          CHECK(std::vector<int64_t>(got.data_ptr<int64_t>(), got.data_ptr<int64_t>() + n) == want);
          CHECK(batch.mask[i].sum().item<int64_t>() == n);
          CHECK(batch.ids[i].slice(0, n).abs().sum().item<int64_t>() == 0);
        }
      }
    }
    CHECK(saved->describe() == plain->describe());
  }
  CHECK_THROWS_AS(load_clip_bpe(dir + "/no_such_vocab.txt.gz"), IoError);
  CHECK_THROWS_WITH(load_clip_bpe(dir + "/no_such_vocab.txt.gz"),
                    Catch::Contains("no_such_vocab.txt.gz"));
  CHECK_THROWS_WITH(load_clip_bpe(dir + "/bpe_expected.json"),
                    Catch::Contains("is not a CLIP BPE vocabulary"));
}
