// Names of LANGUAGE.md that this build checks but does not run yet. Their signatures are real,
// so scripts using them pass `perturb check`; running one stops with a clear message naming
// the part of the project that brings it. Each moves to its own builtins_<area>.cpp when it lands.

#include "interpreter/builtins.h"

namespace perturb::lang {
namespace {

constexpr const char* kThreatLibrary = "planned with the threat-model and attack library";
constexpr const char* kTraining = "planned with augmentation, training recipes and schedules";

struct Planned {
  BuiltinTable& table;
  std::string group;
  std::string planned;
  void add(const std::string& name, std::vector<ParamSpec> params, Kinds returns,
           const std::string& doc, const std::string& example, bool open_named = false) {
    table.add({name,
               group,
               {std::move(params), false, open_named, returns},
               doc,
               example,
               nullptr,
               planned});
  }
};

const Kinds kNum = bits(Kind::kNumber);
const Kinds kThreat = bits(Kind::kThreat);
const Kinds kAttack = bits(Kind::kAttack);
const Kinds kPolicy = bits(Kind::kPolicy);
const Kinds kTask = bits(Kind::kTask);

void attacks(BuiltinTable& t) {
  Planned p{t, "attacks", kThreatLibrary};
  p.add("UAP", {required("threat", kThreat), optional("epochs", kNum, Value(5))}, kAttack,
        "One universal perturbation over a dataset.", "UAP(linf)");
}

}  // namespace

void register_planned_builtins(BuiltinTable& t) {
  attacks(t);
}

}  // namespace perturb::lang
