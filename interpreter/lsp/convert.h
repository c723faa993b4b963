#pragma once
// The language analysis's plain structs (interpreter/ide) as LSP JSON, and LSP JSON positions
// back: the only place that knows both.

#include "interpreter/ide/analysis.h"
#include "interpreter/ide/completion.h"
#include "interpreter/ide/signature.h"
#include "interpreter/ide/symbols.h"
#include "interpreter/lsp/jsonrpc.h"

namespace perturb::lang::lsp {

json to_json(const ide::LspRange& range);
// A Range object; throws json::exception (answered with -32602) when it is malformed.
ide::LspRange range_from_json(const json& range);

// The analysis's diagnostics; one from another file (an imported module) is placed at the
// document's start with that file's location in its message.
json diagnostics_to_json(const ide::Analysis& analysis, const ide::LineIndex& lines);
json completions_to_json(const ide::Completions& completions, const ide::LineIndex& lines);
json signature_to_json(const ide::SignatureInfo& signature);
json symbols_to_json(const std::vector<ide::DocumentSymbol>& symbols, const ide::LineIndex& lines);

}  // namespace perturb::lang::lsp
