// For each script given: formatting keeps its meaning (the formatted text parses to the same
// tree, compared as s-expressions without positions), keeps every comment in order, and is
// idempotent (formatting the result changes nothing). Prints what failed; exits 1 if anything did.
//
// usage: fmt_roundtrip FILE.ptb...

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "interpreter/format.h"
#include "interpreter/large_stack.h"
#include "interpreter/parse.h"

namespace perturb::lang {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + "\"";
}

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

std::string dump(const Expr* e);
std::string dump(const std::vector<StmtPtr>& body);

std::string dump(const FunctionDecl& fn) {
  std::string out = "(fn " + fn.name + " (";
  for (const Param& p : fn.params) {
    out += "(" + p.name + (p.default_value ? " " + dump(p.default_value.get()) : "") + ")";
  }
  return out + ") " + dump(fn.body) + ")";
}

std::string dump(const Expr* e) {
  if (!e) return "nil";
  switch (e->kind) {
    case ExprKind::kNumber:
      return number(static_cast<const NumberExpr*>(e)->value);
    case ExprKind::kString:
      return quoted(static_cast<const StringExpr*>(e)->value);
    case ExprKind::kBool:
      return static_cast<const BoolExpr*>(e)->value ? "true" : "false";
    case ExprKind::kNone:
      return "none";
    case ExprKind::kName:
      return static_cast<const NameExpr*>(e)->name;
    case ExprKind::kList: {
      std::string out = "(list";
      for (const auto& item : static_cast<const ListExpr*>(e)->items) out += " " + dump(item.get());
      return out + ")";
    }
    case ExprKind::kRecord: {
      std::string out = "(record";
      for (const auto& f : static_cast<const RecordExpr*>(e)->fields) {
        out += " (" + quoted(f.key) + " " + dump(f.value.get()) + ")";
      }
      return out + ")";
    }
    case ExprKind::kLambda:
      return dump(*static_cast<const LambdaExpr*>(e)->decl);
    case ExprKind::kUnary: {
      const auto* u = static_cast<const UnaryExpr*>(e);
      return std::string("(") + unary_op_text(u->op) + " " + dump(u->operand.get()) + ")";
    }
    case ExprKind::kBinary: {
      const auto* b = static_cast<const BinaryExpr*>(e);
      return std::string("(") + binary_op_text(b->op) + " " + dump(b->left.get()) + " " +
             dump(b->right.get()) + ")";
    }
    case ExprKind::kCall: {
      const auto* c = static_cast<const CallExpr*>(e);
      std::string out = "(call " + dump(c->callee.get());
      for (const Argument& a : c->args) {
        out += a.name.empty() ? " " + dump(a.value.get())
                              : " (" + a.name + ": " + dump(a.value.get()) + ")";
      }
      return out + ")";
    }
    case ExprKind::kField: {
      const auto* f = static_cast<const FieldExpr*>(e);
      return "(. " + dump(f->object.get()) + " " + f->field + ")";
    }
    case ExprKind::kIndex: {
      const auto* i = static_cast<const IndexExpr*>(e);
      std::string out = "(index " + dump(i->object.get());
      for (const Subscript& s : i->subscripts) {
        out += s.is_slice ? " (slice " + dump(s.lo.get()) + " " + dump(s.hi.get()) + ")"
                          : " " + dump(s.index.get());
      }
      return out + ")";
    }
  }
  return "?";
}

std::string dump(const Stmt& s) {
  switch (s.kind) {
    case StmtKind::kLet: {
      const auto& l = static_cast<const LetStmt&>(s);
      return "(let " + l.name + " " + dump(l.value.get()) + ")";
    }
    case StmtKind::kDecl: {
      const auto& d = static_cast<const DeclStmt&>(s);
      return std::string("(") + decl_kind_text(d.decl) + " " + d.name + " " + dump(d.value.get()) +
             ")";
    }
    case StmtKind::kAssign: {
      const auto& a = static_cast<const AssignStmt&>(s);
      return "(= " + a.name + " " + dump(a.value.get()) + ")";
    }
    case StmtKind::kFn:
      return dump(*static_cast<const FnStmt&>(s).decl);
    case StmtKind::kImport: {
      const auto& i = static_cast<const ImportStmt&>(s);
      std::string out = "(import";
      for (const auto& part : i.path) out += " " + part;
      return out + " as " + i.alias + ")";
    }
    case StmtKind::kReturn:
      return "(return " + dump(static_cast<const ReturnStmt&>(s).value.get()) + ")";
    case StmtKind::kBreak:
      return "(break)";
    case StmtKind::kContinue:
      return "(continue)";
    case StmtKind::kFor: {
      const auto& f = static_cast<const ForStmt&>(s);
      return "(for " + f.var + " " + dump(f.iterable.get()) + " " + dump(f.body) + ")";
    }
    case StmtKind::kWhile: {
      const auto& w = static_cast<const WhileStmt&>(s);
      return "(while " + dump(w.condition.get()) + " " + dump(w.body) + ")";
    }
    case StmtKind::kIf: {
      const auto& i = static_cast<const IfStmt&>(s);
      return "(if " + dump(i.condition.get()) + " " + dump(i.then_body) +
             (i.has_else ? " " + dump(i.else_body) : "") + ")";
    }
    case StmtKind::kExpr:
      return dump(static_cast<const ExprStmt&>(s).expr.get());
  }
  return "?";
}

std::string dump(const std::vector<StmtPtr>& body) {
  std::string out = "{";
  for (const auto& s : body) out += "\n" + dump(*s);
  return out + "}";
}

std::string comments_of(const ParseResult& parsed) {
  std::string out;
  for (const Comment& c : parsed.comments) {
    std::string text = c.text;
    text.erase(text.find_last_not_of(" \t\f\r") + 1);
    out += text + "\n";
  }
  return out;
}

// Where two texts first differ, as a line number and both lines.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(sa, la));
    const bool more_b = static_cast<bool>(std::getline(sb, lb));
    if (!more_a && !more_b) break;
    if (!more_a) la = "(end)";
    if (!more_b) lb = "(end)";
    if (la != lb) return "line " + std::to_string(line) + ":\n  - " + la + "\n  + " + lb + "\n";
  }
  return "(no line differs)\n";
}

bool check(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cout << path << ": cannot read\n";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto original = std::make_shared<SourceFile>(path, text.str());
  ParseResult before = parse(original);
  FormatResult formatted = format_source(original);
  if (before.errors.has_errors() || formatted.errors.has_errors()) {
    std::cout << path << ": does not parse\n" << formatted.errors.render_all();
    return false;
  }
  auto again = std::make_shared<SourceFile>(path + " (formatted)", formatted.text);
  ParseResult after = parse(again);
  if (after.errors.has_errors()) {
    std::cout << path << ": the formatted text does not parse\n" << after.errors.render_all();
    return false;
  }
  bool ok = true;
  const std::string tree_before = dump(before.program.statements);
  const std::string tree_after = dump(after.program.statements);
  if (tree_before != tree_after) {
    std::cout << path << ": formatting changed the tree, first at "
              << first_difference(tree_before, tree_after);
    ok = false;
  }
  if (comments_of(before) != comments_of(after)) {
    std::cout << path << ": formatting lost or reordered comments, first at "
              << first_difference(comments_of(before), comments_of(after));
    ok = false;
  }
  FormatResult twice = format_source(again);
  if (twice.text != formatted.text) {
    std::cout << path << ": formatting is not idempotent, first at "
              << first_difference(formatted.text, twice.text);
    ok = false;
  }
  return ok;
}

}  // namespace
}  // namespace perturb::lang

int main(int argc, char** argv) {
  return perturb::lang::run_on_large_stack([&] {
    int failures = 0;
    for (int i = 1; i < argc; ++i) failures += !perturb::lang::check(argv[i]);
    std::cout << argc - 1 - failures << " of " << argc - 1 << " scripts keep their meaning, "
              << "their comments, and format idempotently\n";
    return failures == 0 ? 0 : 1;
  });
}
