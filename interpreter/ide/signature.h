#pragma once
// Signature help: the innermost call still open at a position, its callee's parameters and the
// one being written. Completion reads the same call context for `steps:`.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/ide/analysis.h"

namespace perturb::lang::ide {

// The innermost call whose `(` is open before an offset, read from the text alone (the text
// being typed rarely parses).
struct CallContext {
  std::string callee;              // as written before `(`: "PGD", "zoo.small_cnn", "t.project"
  size_t open_paren = 0;           // offset of the `(`
  int positional = 0;              // positional arguments before the one being written
  std::vector<std::string> named;  // named arguments already given
  std::string current_name;        // the name of the argument being written, when `name:`
};
std::optional<CallContext> open_call_at(const std::string& text, size_t offset);

struct ParameterInfo {
  std::string name;
  size_t label_begin = 0, label_end = 0;  // where its name is in the signature's label (bytes)
  std::string doc;
};

struct SignatureInfo {
  std::string label;  // "PGD(threat: threat, steps: number = 10, ...) -> attack"
  std::string doc;    // markdown
  std::vector<ParameterInfo> parameters;
  bool has_receiver = false;  // a method: the first parameter is the value before the dot
  int active_parameter = -1;  // the parameter being written; -1 when none fits
};

// The signature of what `callee` (as CallContext writes it) names at `offset`: a builtin, a
// method of a value of known kind, a module member, a script function or a known name.
std::optional<SignatureInfo> signature_of(const Analysis& analysis, const std::string& callee,
                                          size_t offset);

// Signature help at `offset` of analysis.text (use analyze_around for text being typed).
std::optional<SignatureInfo> signature_help(const Analysis& analysis, size_t offset);

}  // namespace perturb::lang::ide
