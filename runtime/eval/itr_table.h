// The retrieval robustness report: TR and IR Recall@K clean and under each attack, laid out like
// Table 1 of the multimodal-adversarial-training paper (rows: Clean and each attack; columns
// TR R@1 R@5, IR R@1 R@5).
#pragma once
#include <string>
#include <vector>

#include "runtime/attack/multimodal/attack.h"
#include "runtime/eval/itr.h"

namespace perturb {

struct NamedMultimodalAttack {
  std::string name;  // the row label ("CoAttack")
  MultimodalAttackPtr attack;
};

struct ItrTable {
  std::string data;                // the data's describe()
  std::vector<int64_t> ks;         // the R@K columns of each direction
  std::vector<std::string> rows;   // "Clean", then each attack's name
  std::vector<ItrResult> results;  // one per row

  // The paper's layout, recalls in percent with one decimal:
  //            TR            IR
  //   Attack   R@1    R@5    R@1    R@5
  //   Clean    41.2   80.1   30.5   71.2
  // followed by one line per attack with its full description and cost.
  std::string table() const;
  // {"data":..,"ks":[1,5],"rows":[{"row":"Clean","attack":"","tr":{"r1":..,"r5":..},"ir":{..},
  //  "images":..,"captions":..,"seconds":..,"gradient_evals":..,"queries":..}]}, recalls as
  // fractions (itr_table_save.cpp).
  std::string json() const;
  // One CSV line per row: row, tr_r1, tr_r5, ..., ir_r1, ..., images, captions, seconds,
  // gradient_evals, queries, attack (itr_table_save.cpp).
  std::string csv() const;
  // The row of `name` (case-insensitive; "clean" for the first); Error naming the rows otherwise.
  const ItrResult& row(const std::string& name) const;
};

// Clean retrieval, then each attack's: evaluate_itr per row, each attack drawing from its own
// make_generator(seed) so a row does not depend on the rows before it.
ItrTable itr_table(TwoTower& model, const PairedDataset& data,
                   const std::vector<NamedMultimodalAttack>& attacks,
                   const std::vector<int64_t>& ks, int64_t batch, uint64_t seed);

}  // namespace perturb
