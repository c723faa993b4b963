#include "interpreter/lsp/convert.h"

#include <cstdio>

namespace perturb::lang::lsp {
namespace {

json position_json(const ide::LspPosition& p) {
  return {{"line", p.line}, {"character", p.character}};
}

ide::LspPosition position_from_json(const json& p) {
  const auto line = p.at("line").get<int64_t>();
  const auto character = p.at("character").get<int64_t>();
  auto clamp = [](int64_t v) {
    return static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(v, 1'000'000'000)));
  };
  return {clamp(line), clamp(character)};
}

// LSP CompletionItemKind numbers.
int completion_kind(ide::CompletionKind kind) {
  switch (kind) {
    case ide::CompletionKind::kKeyword:
      return 14;
    case ide::CompletionKind::kFunction:
      return 3;
    case ide::CompletionKind::kVariable:
      return 6;
    case ide::CompletionKind::kModule:
      return 9;
    case ide::CompletionKind::kField:
      return 5;
    case ide::CompletionKind::kMethod:
      return 2;
    case ide::CompletionKind::kArgument:
      return 10;  // Property: a named argument is written `name: value`
  }
  return 1;
}

// LSP SymbolKind numbers.
int symbol_kind(ide::SymbolKind kind) {
  switch (kind) {
    case ide::SymbolKind::kFunction:
      return 12;
    case ide::SymbolKind::kVariable:
      return 13;
    case ide::SymbolKind::kModule:
      return 2;
    case ide::SymbolKind::kObject:
      return 19;
  }
  return 13;
}

// UTF-16 code units in text[0, bytes): signature labels count in them.
int utf16_length(const std::string& text, size_t bytes) {
  return ide::LineIndex(text.substr(0, bytes)).position_of(bytes).character;
}

}  // namespace

json to_json(const ide::LspRange& range) {
  return {{"start", position_json(range.start)}, {"end", position_json(range.end)}};
}

ide::LspRange range_from_json(const json& range) {
  return {position_from_json(range.at("start")), position_from_json(range.at("end"))};
}

json diagnostics_to_json(const ide::Analysis& analysis, const ide::LineIndex& lines) {
  json out = json::array();
  for (const auto& d : analysis.diagnostics) {
    std::string message = d.message;
    ide::LspRange range;
    if (d.span.file == analysis.source) {
      range = lines.range_of(d.span);
    } else if (d.span.file) {
      message = "in " + d.span.file->name + ":" + std::to_string(d.span.line) + ":" +
                std::to_string(d.span.column) + ": " + message;
    }
    for (const auto& note : d.notes) message += "\n" + note;
    out.push_back(
        {{"range", to_json(range)}, {"severity", 1}, {"source", "perturb"}, {"message", message}});
  }
  return out;
}

json completions_to_json(const ide::Completions& completions, const ide::LineIndex& lines) {
  json items = json::array();
  const json range = to_json(lines.range_of(completions.replace_begin, completions.replace_end));
  for (size_t i = 0; i < completions.items.size(); ++i) {
    const auto& item = completions.items[i];
    char sort[24];
    std::snprintf(sort, sizeof sort, "%05zu", i);
    json entry = {{"label", item.label},
                  {"kind", completion_kind(item.kind)},
                  {"sortText", sort},
                  {"filterText", item.insert_text},
                  {"textEdit", {{"range", range}, {"newText", item.insert_text}}}};
    if (!item.detail.empty()) entry["detail"] = item.detail;
    if (!item.documentation.empty())
      entry["documentation"] = {{"kind", "markdown"}, {"value", item.documentation}};
    items.push_back(std::move(entry));
  }
  return {{"isIncomplete", false}, {"items", items}};
}

json signature_to_json(const ide::SignatureInfo& signature) {
  json params = json::array();
  for (const auto& p : signature.parameters) {
    json param = {{"label",
                   {utf16_length(signature.label, p.label_begin),
                    utf16_length(signature.label, p.label_end)}}};
    if (!p.doc.empty()) param["documentation"] = p.doc;
    params.push_back(std::move(param));
  }
  json info = {{"label", signature.label},
               {"documentation", {{"kind", "markdown"}, {"value", signature.doc}}},
               {"parameters", params}};
  json help = {{"signatures", json::array({info})}, {"activeSignature", 0}};
  if (signature.active_parameter >= 0) help["activeParameter"] = signature.active_parameter;
  return help;
}

json symbols_to_json(const std::vector<ide::DocumentSymbol>& symbols, const ide::LineIndex& lines) {
  json out = json::array();
  for (const auto& s : symbols) {
    json entry = {{"name", s.name},
                  {"detail", s.detail},
                  {"kind", symbol_kind(s.kind)},
                  {"range", to_json(lines.range_of(s.begin, s.end))},
                  {"selectionRange", to_json(lines.range_of(s.name_begin, s.name_end))}};
    if (!s.children.empty()) entry["children"] = symbols_to_json(s.children, lines);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace perturb::lang::lsp
