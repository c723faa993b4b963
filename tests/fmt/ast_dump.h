#pragma once
// A parsed program as s-expressions without positions: two programs that dump alike mean the same.
// The formatter's tests (tests/fmt/fmt_roundtrip.cpp) and its fuzz target (fuzz/fuzz_format.cpp)
// compare a script's tree with its formatted text's tree this way.

#include <cstdio>
#include <string>
#include <vector>

#include "interpreter/ast.h"

namespace perturb::lang::ast_dump {

inline std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + "\"";
}

inline std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

inline std::string dump(const Expr* e);
inline std::string dump(const std::vector<StmtPtr>& body);

inline std::string dump(const FunctionDecl& fn) {
  std::string out = "(fn " + fn.name + " (";
  for (const Param& p : fn.params) {
    out += "(" + p.name + (p.default_value ? " " + dump(p.default_value.get()) : "") + ")";
  }
  return out + ") " + dump(fn.body) + ")";
}

inline std::string dump(const Expr* e) {
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

inline std::string dump(const Stmt& s) {
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

inline std::string dump(const std::vector<StmtPtr>& body) {
  std::string out = "{";
  for (const auto& s : body) out += "\n" + dump(*s);
  return out + "}";
}

}  // namespace perturb::lang::ast_dump
