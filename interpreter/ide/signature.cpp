#include "interpreter/ide/signature.h"

#include <algorithm>

#include "interpreter/builtins/table.h"
#include "interpreter/kinds.h"

namespace perturb::lang::ide {
namespace {

// Skips a string literal starting at text[i] == '"'; returns the offset of its closing quote.
// The argument text [from, to) at bracket depth 0 begins with `name:` (not `name::`).
std::string leading_name(const std::string& text, size_t from, size_t to) {
  size_t i = from;
  while (i < to && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const size_t begin = i;
  if (i >= to || !is_identifier_start(text[i])) return "";
  while (i < to && is_identifier_char(text[i])) ++i;
  const size_t end = i;
  while (i < to && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i < to && text[i] == ':') return text.substr(begin, end - begin);
  return "";
}

SignatureInfo builtin_signature(const Builtin& b, bool has_receiver) {
  SignatureInfo info;
  info.label = signature_text(b);
  info.doc = builtin_markdown(b);
  info.has_receiver = has_receiver;
  // Each name follows "(" or ", " in signature_text; a default such as "2.5*eps/steps" may
  // mention other parameters' names, so a bare search could land inside one.
  size_t at = info.label.find('(');
  for (const auto& p : b.signature.params) {
    ParameterInfo param;
    param.name = p.name;
    param.doc = p.summary;
    size_t found = at == std::string::npos ? std::string::npos : info.label.find(p.name, at);
    auto starts_parameter = [&](size_t i) {
      const size_t end = i + p.name.size();
      const bool after_separator =
          info.label[i - 1] == '(' || (i >= 2 && info.label.compare(i - 2, 2, ", ") == 0);
      return after_separator && (end >= info.label.size() || !is_identifier_char(info.label[end]));
    };
    while (found != std::string::npos && !starts_parameter(found)) {
      found = info.label.find(p.name, found + 1);
    }
    if (found != std::string::npos) {
      param.label_begin = found;
      param.label_end = found + p.name.size();
      at = param.label_end;
    }
    info.parameters.push_back(param);
  }
  return info;
}

SignatureInfo names_signature(const std::string& name, const std::vector<std::string>& params,
                              const std::vector<bool>& optional, const std::string& doc) {
  SignatureInfo info;
  info.label = name + "(";
  info.doc = doc;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i) info.label += ", ";
    ParameterInfo param;
    param.name = params[i];
    param.label_begin = info.label.size();
    info.label += params[i];
    param.label_end = info.label.size();
    if (i < optional.size() && optional[i]) info.label += " = …";
    info.parameters.push_back(param);
  }
  info.label += ")";
  return info;
}

SignatureInfo function_signature(const FunctionDecl& decl, const std::string& doc) {
  std::vector<std::string> names;
  std::vector<bool> optional;
  for (const auto& p : decl.params) {
    names.push_back(p.name);
    optional.push_back(p.default_value != nullptr);
  }
  return names_signature(decl.name, names, optional, doc);
}

}  // namespace

std::optional<CallContext> open_call_at(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  std::vector<size_t> open;
  for (size_t i = 0; i < offset; ++i) {
    i = skip_string_or_comment(text, i, offset);
    if (i >= offset) break;
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') {
      open.push_back(i);
    } else if ((c == ')' || c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
  }
  if (open.empty() || text[open.back()] != '(') return std::nullopt;
  CallContext call;
  call.open_paren = open.back();
  size_t b = call.open_paren;
  while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t')) --b;
  const size_t name_end = b;
  while (b > 0 && (is_identifier_char(text[b - 1]) || text[b - 1] == '.')) --b;
  call.callee = text.substr(b, name_end - b);
  if (call.callee.empty() || !is_identifier_start(call.callee[0])) return std::nullopt;
  // The arguments at depth 0 between the `(` and the offset.
  size_t segment = call.open_paren + 1;
  int depth = 0;
  for (size_t i = segment; i < offset; ++i) {
    i = skip_string_or_comment(text, i, offset);
    if (i >= offset) break;
    const char c = text[i];
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      const std::string name = leading_name(text, segment, i);
      if (name.empty()) {
        ++call.positional;
      } else {
        call.named.push_back(name);
      }
      segment = i + 1;
    }
  }
  call.current_name = leading_name(text, segment, offset);
  return call;
}

std::optional<SignatureInfo> signature_of(const Analysis& analysis, const std::string& callee,
                                          size_t offset) {
  const auto dot = callee.rfind('.');
  if (dot == std::string::npos) {
    if (const Declaration* d = analysis.lookup(callee, offset)) {
      if (d->function) return function_signature(*d->function, "");
      if (d->known >= 0) {
        const KnownName& k = analysis.known[d->known];
        if (!k.params.empty() || k.kinds == bits(Kind::kFunction))
          return names_signature(k.name, k.params, {}, k.description);
      }
      return std::nullopt;
    }
    if (const Builtin* b = builtins().find(callee)) return builtin_signature(*b, false);
    return std::nullopt;
  }
  const std::string head = callee.substr(0, dot), tail = callee.substr(dot + 1);
  if (head.find('.') != std::string::npos) return std::nullopt;
  if (const Declaration* d = analysis.lookup(head, offset)) {
    if (d->how == BindingSite::kImport) {
      auto outline = outline_module(d->module_path, analysis.path);
      if (!outline) return std::nullopt;
      for (const auto& m : outline->members) {
        if (m.name == tail && m.function) {
          return function_signature(*m.function, "from " + outline->name);
        }
      }
      return std::nullopt;
    }
    if (is_single_kind(d->kinds)) {
      const Kind kind = static_cast<Kind>(d->kinds);
      if (const Builtin* b = builtins().find(std::string(kind_name(kind)) + "." + tail))
        return builtin_signature(*b, true);
    }
    return std::nullopt;
  }
  if (const Builtin* b = builtins().find(callee)) return builtin_signature(*b, false);
  return std::nullopt;
}

std::optional<SignatureInfo> signature_help(const Analysis& analysis, size_t offset) {
  auto call = open_call_at(analysis.text, offset);
  if (!call) return std::nullopt;
  auto info = signature_of(analysis, call->callee, offset);
  if (!info) return std::nullopt;
  const auto& params = info->parameters;
  if (!call->current_name.empty()) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].name == call->current_name) info->active_parameter = static_cast<int>(i);
    }
  } else {
    const size_t index = static_cast<size_t>(call->positional) + (info->has_receiver ? 1 : 0);
    if (index < params.size()) info->active_parameter = static_cast<int>(index);
  }
  return info;
}

}  // namespace perturb::lang::ide
