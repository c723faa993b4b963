// The words the AST's operators and declarations are written with, for diagnostics.

#include "interpreter/ast.h"

namespace perturb::lang {

const char* unary_op_text(UnaryOp op) {
  switch (op) {
    case UnaryOp::kNegate:
      return "-";
    case UnaryOp::kPlus:
      return "+";
    case UnaryOp::kNot:
      return "not";
  }
  return "?";
}

const char* binary_op_text(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "**";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kThen:
      return ">>";
    case BinaryOp::kUnion:
      return "|";
    case BinaryOp::kIntersect:
      return "&";
    case BinaryOp::kRange:
      return "..";
  }
  return "?";
}

const char* decl_kind_text(DeclKind kind) {
  switch (kind) {
    case DeclKind::kThreat:
      return "threat";
    case DeclKind::kAttack:
      return "attack";
    case DeclKind::kPolicy:
      return "policy";
    case DeclKind::kSchedule:
      return "schedule";
  }
  return "?";
}

}  // namespace perturb::lang
