#pragma once
// Handles for image–text values: captioned data, two-tower models, the text and product threats
// and the attacks on image–text models.
#include "interpreter/value.h"
#include "runtime/attack/multimodal/attack.h"
#include "runtime/data/pairs.h"
#include "runtime/model/two_tower.h"

namespace perturb::lang {

struct CallArgs;

class PairsObject : public Object {
 public:
  explicit PairsObject(PairedDataset data) : data(std::move(data)) {}
  Kind kind() const override { return Kind::kPairs; }
  std::string describe() const override { return "pairs " + data.describe(); }
  std::optional<Value> field(const std::string& name) const override;
  PairedDataset data;
};

// A two-tower model is a model (`m.save(path)`, `print(m)`); the classifier builtins reject it
// by name.
class TwoTowerObject : public Object {
 public:
  explicit TwoTowerObject(TwoTowerPtr model) : model(std::move(model)) {}
  Kind kind() const override { return Kind::kModel; }
  std::string describe() const override { return "model " + model->describe(); }
  TwoTowerPtr model;
};

// WordSub(...) and Pair(image:, text:) are threats: they print and are declared with `threat`,
// but only the image–text attacks take them.
class PairThreatObject : public Object {
 public:
  explicit PairThreatObject(PairThreat threat) : threat(std::move(threat)) {}
  Kind kind() const override { return Kind::kThreat; }
  std::string describe() const override { return threat.describe(); }
  std::optional<Value> field(const std::string& name) const override;
  PairThreat threat;
};

class MultimodalAttackObject : public Object {
 public:
  MultimodalAttackObject(MultimodalAttackPtr attack, std::string name)
      : attack(std::move(attack)), name(std::move(name)) {}
  Kind kind() const override { return Kind::kAttack; }
  std::string describe() const override { return attack->describe(); }
  std::optional<Value> field(const std::string& field_name) const override;
  MultimodalAttackPtr attack;
  std::string name;
};

// The argument as a two-tower model; anything else (an image classifier included) is an error
// at the argument naming what was given.
TwoTowerPtr two_tower_arg(const CallArgs& args, const std::string& name);
// The argument as captioned images; anything else is an error naming what was given.
const PairedDataset& pairs_arg(const CallArgs& args, const std::string& name);

}  // namespace perturb::lang
