// The text attack (eq. 4), BERT-Attack style with WordNet candidates.
#include "runtime/attack/multimodal/word_attack.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "runtime/core/error.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/wordnet.h"

namespace perturb {
namespace {

// Strings per encode_text call: candidates of many captions go through the text tower together.
constexpr size_t kEncodeChunk = 512;

// Unit-normalised Ψ of every text, without gradient, kEncodeChunk at a time.
torch::Tensor encode_unit(TwoTower& model, const std::vector<std::string>& texts,
                          AttackStats* stats) {
  if (stats) stats->queries += static_cast<int64_t>(texts.size());
  return embed_texts(model, texts, static_cast<int64_t>(kEncodeChunk)).cpu();
}

std::vector<std::string> without(const std::vector<std::string>& words, size_t i) {
  std::vector<std::string> out;
  out.reserve(words.size());
  for (size_t j = 0; j < words.size(); ++j) {
    if (j != i) out.push_back(words[j]);
  }
  return out;
}

// One caption's progress through the greedy search.
struct CaptionState {
  std::vector<std::string> words;
  std::vector<size_t> order;  // positions by importance, most important first
  size_t next = 0;            // index into order
  int64_t replaced = 0;
  double score = 0;  // of the current words
  bool changed = false;
};

}  // namespace

bool is_stop_word(const std::string& word) {
  static const std::set<std::string> kStop = {
      "a",    "an",    "the",   "of",   "in",    "on",   "at",   "to",   "for",  "with",  "and",
      "or",   "but",   "is",    "are",  "was",   "were", "be",   "been", "it",   "its",   "this",
      "that", "these", "those", "by",   "from",  "as",   "has",  "have", "had",  "there", "their",
      "his",  "her",   "he",    "she",  "they",  "them", "we",   "you",  "i",    "my",    "our",
      "your", "into",  "onto",  "over", "under", "very", "some", "any",  "each", "which", "who",
      "what", "while", "than",  "then", "so",    "not",  "no",   "do",   "does", "up",    "out"};
  return kStop.count(word) > 0;
}

int64_t words_changed(const std::string& original, const std::string& attacked) {
  const auto a = split_words(original);
  const auto b = split_words(attacked);
  if (a.size() != b.size()) return -1;
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

std::vector<std::string> substitute_words(TwoTower& model, const std::vector<std::string>& captions,
                                          const WordSubThreat& threat, const torch::Tensor& guides,
                                          AttackStats* stats, const SynonymFn& synonyms_in) {
  if (threat.words < 0) {
    throw Error("WordSub's words must not be negative, got " + std::to_string(threat.words));
  }
  if (threat.candidates < 1) {
    throw Error("WordSub's candidates must be at least 1, got " +
                std::to_string(threat.candidates));
  }
  const size_t n = captions.size();
  if (n == 0 || threat.words == 0) return captions;
  SynonymFn synonyms = synonyms_in;
  if (!synonyms) {
    const WordNet* wordnet = &WordNet::shared();
    synonyms = [wordnet](const std::string& w) { return wordnet->synonyms(w); };
  }
  torch::NoGradGuard no_grad;
  // g: the guide of each caption (eq. 4: its own clean embedding).
  torch::Tensor g = guides.defined() ? guides.detach().cpu().to(torch::kFloat32)
                                     : encode_unit(model, captions, stats);
  if (g.dim() != 2 || g.size(0) != static_cast<int64_t>(n)) {
    throw Error("the text attack needs one guide embedding per caption: " + std::to_string(n) +
                " captions, guides " + std::to_string(g.dim() == 2 ? g.size(0) : -1));
  }
  g = torch::nn::functional::normalize(g, torch::nn::functional::NormalizeFuncOptions().dim(1));

  std::vector<CaptionState> state(n);
  // Word importance: the score of each caption with one word deleted, all in one pass.
  std::vector<std::string> deleted;
  std::vector<std::pair<size_t, size_t>> deleted_owner;  // (caption, position)
  std::vector<std::string> current;
  for (size_t c = 0; c < n; ++c) {
    state[c].words = split_words(captions[c]);
    current.push_back(join_words(state[c].words));
    for (size_t i = 0; i < state[c].words.size(); ++i) {
      if (is_stop_word(state[c].words[i])) continue;
      deleted.push_back(join_words(without(state[c].words, i)));
      deleted_owner.emplace_back(c, i);
    }
  }
  // Scores of the captions as the attack edits them (join_words of their words).
  torch::Tensor base = encode_unit(model, current, stats);
  torch::Tensor base_score = -(base * g).sum(1);
  for (size_t c = 0; c < n; ++c) state[c].score = base_score[c].item<double>();
  std::vector<std::vector<double>> importance(n);
  for (size_t c = 0; c < n; ++c) importance[c].assign(state[c].words.size(), 0.0);
  if (!deleted.empty()) {
    torch::Tensor emb = encode_unit(model, deleted, stats);
    std::vector<int64_t> owners;
    for (const auto& [c, i] : deleted_owner) owners.push_back(static_cast<int64_t>(c));
    torch::Tensor scores = -(emb * g.index_select(0, torch::tensor(owners))).sum(1);
    auto s = scores.accessor<float, 1>();
    for (size_t k = 0; k < deleted_owner.size(); ++k) {
      importance[deleted_owner[k].first][deleted_owner[k].second] = s[static_cast<int64_t>(k)];
    }
  }
  for (size_t c = 0; c < n; ++c) {
    for (size_t i = 0; i < state[c].words.size(); ++i) {
      if (!is_stop_word(state[c].words[i])) state[c].order.push_back(i);
    }
    std::stable_sort(state[c].order.begin(), state[c].order.end(),
                     [&](size_t a, size_t b) { return importance[c][a] > importance[c][b]; });
  }

  // Greedy rounds: each caption with budget left proposes its next word's candidates.
  while (true) {
    std::vector<std::string> texts;
    std::vector<size_t> owner;                         // caption of each candidate text
    std::vector<std::pair<size_t, std::string>> edit;  // (position, word) of each candidate
    for (size_t c = 0; c < n; ++c) {
      CaptionState& s = state[c];
      while (s.replaced < threat.words && s.next < s.order.size()) {
        const size_t pos = s.order[s.next++];
        std::vector<std::string> options = synonyms(s.words[pos]);
        std::vector<std::string> kept;
        for (const auto& o : options) {
          if (static_cast<int64_t>(kept.size()) >= threat.candidates) break;
          if (o.empty() || o == s.words[pos]) continue;
          if (o.find_first_of(" \t\n_") != std::string::npos) continue;  // single words only
          kept.push_back(o);
        }
        if (kept.empty()) continue;
        for (const auto& o : kept) {
          std::vector<std::string> w = s.words;
          w[pos] = o;
          texts.push_back(join_words(w));
          owner.push_back(c);
          edit.emplace_back(pos, o);
        }
        break;
      }
    }
    if (texts.empty()) break;
    std::vector<int64_t> owners(owner.begin(), owner.end());
    torch::Tensor scores =
        -(encode_unit(model, texts, stats) * g.index_select(0, torch::tensor(owners))).sum(1);
    auto sc = scores.accessor<float, 1>();
    // Best candidate per caption (the first on ties).
    std::vector<int64_t> best(n, -1);
    for (size_t k = 0; k < texts.size(); ++k) {
      const size_t c = owner[k];
      if (best[c] < 0 || sc[static_cast<int64_t>(k)] > sc[best[c]]) {
        best[c] = static_cast<int64_t>(k);
      }
    }
    for (size_t c = 0; c < n; ++c) {
      if (best[c] < 0) continue;
      const double value = sc[best[c]];
      if (value > state[c].score) {
        state[c].words[edit[best[c]].first] = edit[best[c]].second;
        state[c].score = value;
        state[c].replaced += 1;
        state[c].changed = true;
      }
    }
  }
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t c = 0; c < n; ++c) {
    out.push_back(state[c].changed ? join_words(state[c].words) : captions[c]);
  }
  return out;
}

namespace {

class WordAttack : public MultimodalAttack {
 public:
  WordAttack(PairThreat threat, SynonymFn synonyms)
      : threat_(std::move(threat)), synonyms_(std::move(synonyms)) {
    if (!threat_.text) {
      throw Error("WordAttack needs a text threat (WordSub(...) or Pair(text: ...)), got " +
                  threat_.describe());
    }
  }
  std::string name() const override { return "WordAttack"; }
  std::string describe() const override { return "WordAttack(" + threat_.text->describe() + ")"; }
  PairThreat threat() const override { return {nullptr, threat_.text}; }

  PairedDataset run(TwoTower& model, const PairedDataset& batch, at::Generator& /*gen*/,
                    AttackStats* stats) const override {
    batch.check();
    TwoTowerModeGuard eval(model, false);
    const auto attacked =
        substitute_words(model, batch.all_captions(), *threat_.text, {}, stats, synonyms_);
    PairedDataset out = batch.with_captions(attacked);
    return out;
  }

 private:
  PairThreat threat_;
  SynonymFn synonyms_;
};

}  // namespace

MultimodalAttackPtr make_word_attack(PairThreat threat, SynonymFn synonyms) {
  return std::make_shared<WordAttack>(std::move(threat), std::move(synonyms));
}

}  // namespace perturb
