#pragma once
// The owned syntax tree. Built from ANTLR's parse tree in parse.cpp only; everything after the
// parser (checker, evaluator, REPL) works on these nodes. Every node has a Span.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/source.h"

namespace perturb::lang {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

enum class ExprKind {
  kNumber,
  kString,
  kBool,
  kNone,
  kName,
  kList,
  kRecord,
  kLambda,
  kUnary,
  kBinary,
  kCall,
  kField,
  kIndex,
};

struct Expr {
  explicit Expr(ExprKind kind, Span span) : kind(kind), span(std::move(span)) {}
  virtual ~Expr() = default;
  const ExprKind kind;
  Span span;
};

struct NumberExpr : Expr {
  NumberExpr(Span s, double value) : Expr(ExprKind::kNumber, std::move(s)), value(value) {}
  double value;
};

struct StringExpr : Expr {
  StringExpr(Span s, std::string value)
      : Expr(ExprKind::kString, std::move(s)), value(std::move(value)) {}
  std::string value;
};

struct BoolExpr : Expr {
  BoolExpr(Span s, bool value) : Expr(ExprKind::kBool, std::move(s)), value(value) {}
  bool value;
};

struct NoneExpr : Expr {
  explicit NoneExpr(Span s) : Expr(ExprKind::kNone, std::move(s)) {}
};

struct NameExpr : Expr {
  NameExpr(Span s, std::string name) : Expr(ExprKind::kName, std::move(s)), name(std::move(name)) {}
  std::string name;
};

struct ListExpr : Expr {
  explicit ListExpr(Span s) : Expr(ExprKind::kList, std::move(s)) {}
  std::vector<ExprPtr> items;
};

struct RecordField {
  std::string key;
  Span key_span;
  ExprPtr value;
};

struct RecordExpr : Expr {
  explicit RecordExpr(Span s) : Expr(ExprKind::kRecord, std::move(s)) {}
  std::vector<RecordField> fields;
};

struct Param {
  std::string name;
  Span span;
  ExprPtr default_value;  // null when the parameter is required
};

// A function body and its parameters; shared by `fn name(...)` and `fn(...)` literals.
struct FunctionDecl {
  std::string name;  // "<fn>" for literals
  Span span;
  std::vector<Param> params;
  std::vector<StmtPtr> body;
};

struct LambdaExpr : Expr {
  LambdaExpr(Span s, std::shared_ptr<FunctionDecl> decl)
      : Expr(ExprKind::kLambda, std::move(s)), decl(std::move(decl)) {}
  std::shared_ptr<FunctionDecl> decl;
};

enum class UnaryOp { kNegate, kPlus, kNot };

// "-", "+", "not": how the operator is written, for messages.
const char* unary_op_text(UnaryOp op);

struct UnaryExpr : Expr {
  UnaryExpr(Span s, UnaryOp op, ExprPtr operand)
      : Expr(ExprKind::kUnary, std::move(s)), op(op), operand(std::move(operand)) {}
  UnaryOp op;
  ExprPtr operand;
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kThen,       // a >> b: a, then b (threats and policies)
  kUnion,      // a | b: the adversary's pick (threats) or a random pick (policies)
  kIntersect,  // a & b
  kRange,      // a..b
};

// The operator as a script writes it ("**", "and"), for diagnostics.
const char* binary_op_text(BinaryOp op);

struct BinaryExpr : Expr {
  BinaryExpr(Span s, BinaryOp op, ExprPtr left, ExprPtr right)
      : Expr(ExprKind::kBinary, std::move(s)),
        op(op),
        left(std::move(left)),
        right(std::move(right)) {}
  BinaryOp op;
  ExprPtr left, right;
};

struct Argument {
  std::string name;  // empty for positional arguments
  Span span;
  ExprPtr value;
};

struct CallExpr : Expr {
  CallExpr(Span s, ExprPtr callee)
      : Expr(ExprKind::kCall, std::move(s)), callee(std::move(callee)) {}
  ExprPtr callee;
  std::vector<Argument> args;
};

struct FieldExpr : Expr {
  FieldExpr(Span s, ExprPtr object, std::string field, Span field_span)
      : Expr(ExprKind::kField, std::move(s)),
        object(std::move(object)),
        field(std::move(field)),
        field_span(std::move(field_span)) {}
  ExprPtr object;
  std::string field;
  Span field_span;
};

// One position inside x[...]: an index, or a slice lo:hi with either end optional.
struct Subscript {
  bool is_slice = false;
  ExprPtr index;   // when !is_slice
  ExprPtr lo, hi;  // when is_slice; may be null
};

struct IndexExpr : Expr {
  IndexExpr(Span s, ExprPtr object)
      : Expr(ExprKind::kIndex, std::move(s)), object(std::move(object)) {}
  ExprPtr object;
  std::vector<Subscript> subscripts;
};

enum class StmtKind {
  kLet,
  kDecl,
  kAssign,
  kFn,
  kImport,
  kReturn,
  kBreak,
  kContinue,
  kFor,
  kWhile,
  kIf,
  kExpr,
};

struct Stmt {
  Stmt(StmtKind kind, Span span) : kind(kind), span(std::move(span)) {}
  virtual ~Stmt() = default;
  const StmtKind kind;
  Span span;
};

struct LetStmt : Stmt {
  LetStmt(Span s, std::string name, ExprPtr value)
      : Stmt(StmtKind::kLet, std::move(s)), name(std::move(name)), value(std::move(value)) {}
  std::string name;
  ExprPtr value;
};

// `threat|attack|policy|schedule NAME = expr`: a binding whose value must be of that kind.
enum class DeclKind { kThreat, kAttack, kPolicy, kSchedule };
const char* decl_kind_text(DeclKind kind);

struct DeclStmt : Stmt {
  DeclStmt(Span s, DeclKind decl, std::string name, ExprPtr value)
      : Stmt(StmtKind::kDecl, std::move(s)),
        decl(decl),
        name(std::move(name)),
        value(std::move(value)) {}
  DeclKind decl;
  std::string name;
  ExprPtr value;
};

struct AssignStmt : Stmt {
  AssignStmt(Span s, std::string name, ExprPtr value)
      : Stmt(StmtKind::kAssign, std::move(s)), name(std::move(name)), value(std::move(value)) {}
  std::string name;
  ExprPtr value;
};

struct FnStmt : Stmt {
  FnStmt(Span s, std::shared_ptr<FunctionDecl> decl)
      : Stmt(StmtKind::kFn, std::move(s)), decl(std::move(decl)) {}
  std::shared_ptr<FunctionDecl> decl;
};

struct ImportStmt : Stmt {
  ImportStmt(Span s, std::vector<std::string> path, std::string alias)
      : Stmt(StmtKind::kImport, std::move(s)), path(std::move(path)), alias(std::move(alias)) {}
  std::vector<std::string> path;  // {"std", "presets"}
  std::string alias;              // the bound name: the last path part unless `as` is given
};

struct ReturnStmt : Stmt {
  ReturnStmt(Span s, ExprPtr value)
      : Stmt(StmtKind::kReturn, std::move(s)), value(std::move(value)) {}
  ExprPtr value;  // may be null
};

struct BreakStmt : Stmt {
  explicit BreakStmt(Span s) : Stmt(StmtKind::kBreak, std::move(s)) {}
};

struct ContinueStmt : Stmt {
  explicit ContinueStmt(Span s) : Stmt(StmtKind::kContinue, std::move(s)) {}
};

struct ForStmt : Stmt {
  ForStmt(Span s, std::string var, ExprPtr iterable)
      : Stmt(StmtKind::kFor, std::move(s)), var(std::move(var)), iterable(std::move(iterable)) {}
  std::string var;
  ExprPtr iterable;
  std::vector<StmtPtr> body;
};

struct WhileStmt : Stmt {
  WhileStmt(Span s, ExprPtr condition)
      : Stmt(StmtKind::kWhile, std::move(s)), condition(std::move(condition)) {}
  ExprPtr condition;
  std::vector<StmtPtr> body;
};

struct IfStmt : Stmt {
  IfStmt(Span s, ExprPtr condition)
      : Stmt(StmtKind::kIf, std::move(s)), condition(std::move(condition)) {}
  ExprPtr condition;
  std::vector<StmtPtr> then_body;
  std::vector<StmtPtr> else_body;  // an `else if` is a single IfStmt here
  bool has_else = false;
};

struct ExprStmt : Stmt {
  ExprStmt(Span s, ExprPtr expr) : Stmt(StmtKind::kExpr, std::move(s)), expr(std::move(expr)) {}
  ExprPtr expr;
};

struct Program {
  SourcePtr source;
  std::vector<StmtPtr> statements;
};

}  // namespace perturb::lang
