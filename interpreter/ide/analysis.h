#pragma once
// The language analysis behind the editor tooling: `perturb lsp` (interpreter/lsp) and the
// Jupyter kernel's completion and inspection call these plain functions; nothing here knows
// JSON-RPC. A document is parsed and checked with the interpreter's own parser and checker (a
// CheckObserver records what each name resolves to); nothing is ever evaluated.
//
// Positions are byte offsets into the analysed text. ide/text.h converts them from and to LSP
// positions (UTF-16) and Jupyter's code-point cursor_pos.
//
// A caller that knows names from elsewhere (a notebook's earlier cells) passes them as
// KnownName, e.g. known_names_from(session.interpreter().globals()): the checker then accepts
// them, completion offers them, hover describes them.
//
// The features, each in its own header:
//   ide/completion.h  complete(path, text, offset, known)       names, keywords, members, `steps:`
//   ide/hover.h       hover(analysis, offset)                    signature and doc, a name's kind
//   ide/signature.h   signature_help(analysis, offset)           the open call's parameters
//   ide/symbols.h     definition, references, rename, document_symbols

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/check.h"
#include "interpreter/diagnostics.h"
#include "interpreter/ide/text.h"
#include "interpreter/parse.h"

namespace perturb::lang {
struct Env;
}

namespace perturb::lang::ide {

// A global the caller already has a value for.
struct KnownName {
  std::string name;
  Kinds kinds = kAnyKind;
  std::vector<std::string> fields;  // a record's keys or an object's fields, for `name.`
  std::vector<std::string> params;  // a script function's parameters, for `name(steps:`
  std::string description;          // for hover, e.g. "a threat: Linf(eps=0.3)"
};

// The names of an interpreter's global environment (builtin modules left out).
std::vector<KnownName> known_names_from(const Env& globals);

// A name bound in the document (or given as a KnownName).
struct Declaration {
  std::string name;
  BindingSite how = BindingSite::kLet;
  Kinds kinds = kAnyKind;
  size_t begin = 0, end = 0;  // the name where it is bound; begin == end for a KnownName
  size_t statement = 0;       // where the checker placed the binding: the name, an import
  size_t scope_begin = 0, scope_end = 0;   // where uses can see it
  const FunctionDecl* function = nullptr;  // `fn f(...)` or `let f = fn(...)`
  std::string module;                      // for an import: "std.presets"
  std::vector<std::string> module_path;    // {"std", "presets"}
  int known = -1;                          // an index into Analysis::known
  bool top_level = false;

  // "let", "threat", "fn", "parameter", "for", "import", "known".
  std::string keyword() const;
};

// A name written in the document, and what it refers to (at most one of the three).
struct Occurrence {
  size_t begin = 0, end = 0;
  int declaration = -1;  // an index into Analysis::declarations
  std::string builtin;   // a builtins table entry: "PGD", "zoo.small_cnn", "threat.project"
  // A member of an imported module (`presets.cifar_linf`): the import's declaration and the name.
  int module_declaration = -1;
  std::string member;
  // A field of a value of a known kind (`t.eps`).
  Kinds receiver_kind = 0;
  std::string field;
};

struct Analysis {
  std::string path;  // the document's file path ("" when it has none)
  std::string text;
  SourcePtr source;
  std::shared_ptr<ParseResult> parsed;  // owns the AST the declarations point into
  // The text parsed as given; otherwise declarations and occurrences come from the text with
  // the statement being typed blanked out (analyze_around), or are empty.
  bool complete = false;
  std::vector<Diagnostic> diagnostics;  // parse errors, else the checker's errors
  std::vector<Declaration> declarations;
  std::vector<Occurrence> occurrences;  // in text order
  std::vector<KnownName> known;

  // The occurrence or declaration name at `offset` (touching either end counts).
  const Occurrence* occurrence_at(size_t offset) const;
  int declaration_at(size_t offset) const;
  // The innermost binding of `name` visible at `offset`, or null.
  const Declaration* lookup(const std::string& name, size_t offset) const;
  // Every binding visible at `offset`, the innermost of each name.
  std::vector<const Declaration*> visible_at(size_t offset) const;
};

// Parses and checks `text` (a file at `path`, for imports beside it and for messages).
Analysis analyze(const std::string& path, const std::string& text,
                 const std::vector<KnownName>& known = {});

// For a question about `offset` while the text is being typed: analyze(text), and when that
// does not parse, the same text with the line at `offset` (then everything from the innermost
// bracket still open there) blanked out, so the rest of the document still answers. The
// diagnostics are always those of `text` as given.
Analysis analyze_around(const std::string& path, const std::string& text, size_t offset,
                        const std::vector<KnownName>& known = {});

// The top-level bindings of an importable module (`std.presets` or a file beside `importer`).
struct ModuleOutline {
  std::string name;  // "std.presets"
  std::string path;  // a file a client can open (see openable_module_path)
  std::string text;  // the module's source
  std::vector<Declaration> members;
  std::shared_ptr<ParseResult> parsed;
};
std::optional<ModuleOutline> outline_module(const std::vector<std::string>& module_path,
                                            const std::string& importer);

// A file path a client can open for a module found by find_module: a file as is; for the
// standard library (embedded in the binary, "<std>/NAME.ptb") the repository's stdlib/NAME.ptb
// when it sits beside the executable (build/perturb → stdlib/) and holds the same text, else a
// copy written once to $XDG_CACHE_HOME/perturb/stdlib-<hash>/NAME.ptb (~/.cache when unset).
std::string openable_module_path(const std::string& module_path, const std::string& text);

// Markdown for a builtin: the signature, the doc line, each parameter with its kinds, default,
// rules and doc, and the example.
std::string builtin_markdown(const Builtin& builtin);

}  // namespace perturb::lang::ide
