// Builds the owned AST from ANTLR's parse tree. Contexts are turned into nodes in one pass;
// syntax errors go through a listener that words them for people, never to the console.

#include "interpreter/parse.h"

#include <antlr4-runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "PerturbLexer.h"
#include "PerturbParser.h"
#include "interpreter/utf8.h"

namespace perturb::lang {
namespace {

using P = PerturbParser;

Span token_span(const SourcePtr& source, antlr4::Token* token) {
  Span span;
  span.file = source;
  span.line = static_cast<int>(token->getLine());
  span.column = static_cast<int>(token->getCharPositionInLine()) + 1;
  std::string text = token->getType() == antlr4::Token::EOF ? "" : token->getText();
  span.length = std::max<int>(1, static_cast<int>(text.size()));
  return span;
}

// The span of a whole rule: from its first token to its last when both are on one line.
Span rule_span(const SourcePtr& source, antlr4::ParserRuleContext* ctx) {
  Span span = token_span(source, ctx->getStart());
  antlr4::Token* stop = ctx->getStop();
  if (stop && stop->getLine() == ctx->getStart()->getLine() &&
      stop->getStopIndex() >= ctx->getStart()->getStartIndex()) {
    span.length = static_cast<int>(stop->getStopIndex() - ctx->getStart()->getStartIndex() + 1);
  }
  return span;
}

// Keywords are the literal-named tokens between LET and NONE in the grammar's list.
bool is_keyword(antlr4::Token* token) {
  return token->getType() >= P::LET && token->getType() <= P::NONE;
}

std::string describe_token(antlr4::Token* token) {
  switch (token->getType()) {
    case antlr4::Token::EOF:
      return "end of input";
    case P::NEWLINE:
      return "end of line";
    case P::NUMBER:
      return "number " + token->getText();
    case P::STRING:
      return "string " + token->getText();
    case P::IDENT:
      return "name '" + token->getText() + "'";
    default:
      return "'" + token->getText() + "'";
  }
}

// What the parser wanted, in words: keeps the list short by naming token groups.
std::string describe_expected(antlr4::Parser* parser) {
  antlr4::misc::IntervalSet expected = parser->getExpectedTokens();
  std::vector<std::string> words;
  bool expression = expected.contains(static_cast<size_t>(P::IDENT)) &&
                    expected.contains(static_cast<size_t>(P::NUMBER));
  if (expression) words.push_back("an expression");
  const std::set<ssize_t> kExpressionStarts = {P::IDENT,  P::NUMBER, P::STRING, P::TRUE,
                                               P::FALSE,  P::NONE,   P::FN,     P::LPAREN,
                                               P::LBRACK, P::LBRACE, P::NOT};
  for (ssize_t type : expected.toList()) {
    std::string name = parser->getVocabulary().getDisplayName(type);
    if (expression && (kExpressionStarts.count(type) || name == "'-'" || name == "'+'")) continue;
    // Separators and the end of input are never the fix a person is looking for.
    if (type == P::NEWLINE || name == "';'" || type == static_cast<ssize_t>(antlr4::Token::EOF))
      continue;
    if (type == P::IDENT) {
      words.push_back("a name");
    } else if (name.size() > 2 && name.front() == '\'') {
      words.push_back(name);
    } else {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      words.push_back("'" + lower + "'");
    }
  }
  if (words.empty()) return "";
  if (words.size() > 6) words.resize(6);
  std::string text = words[0];
  for (size_t i = 1; i < words.size(); ++i)
    text += (i + 1 == words.size() ? " or " : ", ") + words[i];
  return text;
}

class ErrorListener : public antlr4::BaseErrorListener {
 public:
  ErrorListener(SourcePtr source, ParseResult& result)
      : source_(std::move(source)), result_(result) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t column, const std::string& antlr_message, std::exception_ptr) override {
    Span span{source_, static_cast<int>(line), static_cast<int>(column) + 1, 1};
    if (offending) span = token_span(source_, offending);
    if (span.line == last_line_) return;  // one error per line: the rest are usually echoes
    last_line_ = span.line;
    if (offending && offending->getType() == antlr4::Token::EOF) result_.incomplete = true;
    result_.errors.error(span, word(recognizer, offending, antlr_message));
  }

 private:
  std::string word(antlr4::Recognizer* recognizer, antlr4::Token* offending,
                   const std::string& antlr_message) {
    if (!offending) return "unexpected character: " + antlr_message;
    if (offending->getType() == P::UNTERMINATED_STRING) {
      return "unterminated string: a string must end with \" on the same line";
    }
    if (offending->getType() == P::UNEXPECTED_CHAR) {
      return "unexpected character '" + offending->getText() + "'";
    }
    std::string message = "unexpected " + describe_token(offending);
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    std::string expected = parser ? describe_expected(parser) : "";
    if (!expected.empty()) message += "; expected " + expected;
    if (is_keyword(offending) && parser &&
        parser->getExpectedTokens().contains(static_cast<size_t>(P::IDENT))) {
      message += " ('" + offending->getText() + "' is a keyword and cannot be a name)";
    }
    return message;
  }

  SourcePtr source_;
  ParseResult& result_;
  int last_line_ = -1;
};

class Builder {
 public:
  Builder(SourcePtr source, ParseResult& result)
      : source_(std::move(source)), errors_(result.errors), extents_(result.extents) {}

  std::vector<StmtPtr> statements(const std::vector<P::StatementContext*>& contexts) {
    std::vector<StmtPtr> out;
    for (auto* ctx : contexts) {
      if (auto stmt = statement(ctx)) {
        record(stmt.get(), ctx);
        out.push_back(std::move(stmt));
      }
    }
    return out;
  }

 private:
  Span span(antlr4::ParserRuleContext* ctx) const { return rule_span(source_, ctx); }
  Span span(antlr4::Token* token) const { return token_span(source_, token); }
  Span span(antlr4::tree::TerminalNode* node) const {
    return token_span(source_, node->getSymbol());
  }

  // Remembers where the syntax of `node` begins and ends (ParseResult::extents).
  void record(const void* node, antlr4::ParserRuleContext* ctx) {
    antlr4::Token* last = ctx->getStop() ? ctx->getStop() : ctx->getStart();
    extents_[node] = Extent{span(ctx->getStart()), span(last)};
  }

  StmtPtr statement(P::StatementContext* ctx) {
    if (auto* c = dynamic_cast<P::LetStmtContext*>(ctx)) {
      return std::make_unique<LetStmt>(span(c->IDENT()), c->IDENT()->getText(), expr(c->expr()));
    }
    if (auto* c = dynamic_cast<P::DeclStmtContext*>(ctx)) return decl(c);
    if (auto* c = dynamic_cast<P::AssignStmtContext*>(ctx)) {
      return std::make_unique<AssignStmt>(span(c->IDENT()), c->IDENT()->getText(), expr(c->expr()));
    }
    if (auto* c = dynamic_cast<P::FnStmtContext*>(ctx)) {
      auto fn = function(c->IDENT()->getText(), span(c->IDENT()), c->params(), c->block());
      return std::make_unique<FnStmt>(span(c->IDENT()), std::move(fn));
    }
    if (auto* c = dynamic_cast<P::ImportStmtContext*>(ctx)) return import(c);
    if (auto* c = dynamic_cast<P::ReturnStmtContext*>(ctx)) {
      return std::make_unique<ReturnStmt>(span(c), c->expr() ? expr(c->expr()) : nullptr);
    }
    if (auto* c = dynamic_cast<P::BreakStmtContext*>(ctx))
      return std::make_unique<BreakStmt>(span(c));
    if (auto* c = dynamic_cast<P::ContinueStmtContext*>(ctx)) {
      return std::make_unique<ContinueStmt>(span(c));
    }
    if (auto* c = dynamic_cast<P::ForStmtContext*>(ctx)) {
      auto stmt =
          std::make_unique<ForStmt>(span(c->IDENT()), c->IDENT()->getText(), expr(c->expr()));
      block(c->block(), stmt->body);
      return stmt;
    }
    if (auto* c = dynamic_cast<P::WhileStmtContext*>(ctx)) {
      auto stmt = std::make_unique<WhileStmt>(span(c->getStart()), expr(c->expr()));
      block(c->block(), stmt->body);
      return stmt;
    }
    if (auto* c = dynamic_cast<P::IfStmtContext*>(ctx)) return if_chain(c->ifChain());
    if (auto* c = dynamic_cast<P::ExprStmtContext*>(ctx)) {
      return std::make_unique<ExprStmt>(span(c), expr(c->expr()));
    }
    return nullptr;  // only after a syntax error, which is already reported
  }

  StmtPtr decl(P::DeclStmtContext* c) {
    DeclKind kind = DeclKind::kThreat;
    switch (c->kind->getType()) {
      case P::ATTACK:
        kind = DeclKind::kAttack;
        break;
      case P::POLICY:
        kind = DeclKind::kPolicy;
        break;
      case P::SCHEDULE:
        kind = DeclKind::kSchedule;
        break;
      default:
        break;
    }
    return std::make_unique<DeclStmt>(span(c->IDENT()), kind, c->IDENT()->getText(),
                                      expr(c->expr()));
  }

  StmtPtr import(P::ImportStmtContext* c) {
    std::vector<std::string> path;
    auto names = c->IDENT();
    size_t parts = c->AS() ? names.size() - 1 : names.size();
    for (size_t i = 0; i < parts; ++i) path.push_back(names[i]->getText());
    std::string alias = c->AS() ? names.back()->getText() : path.back();
    return std::make_unique<ImportStmt>(span(c), std::move(path), std::move(alias));
  }

  StmtPtr if_chain(P::IfChainContext* c) {
    auto stmt = std::make_unique<IfStmt>(span(c->getStart()), expr(c->expr()));
    block(c->block(0), stmt->then_body);
    if (c->ELSE()) {
      stmt->has_else = true;
      if (c->ifChain()) {
        stmt->else_body.push_back(if_chain(c->ifChain()));
        record(stmt->else_body.back().get(), c->ifChain());
      } else {
        block(c->block(1), stmt->else_body);
      }
    }
    return stmt;
  }

  void block(P::BlockContext* c, std::vector<StmtPtr>& into) {
    if (!c) return;
    into = statements(c->statement());
    record(&into, c);
  }

  std::shared_ptr<FunctionDecl> function(std::string name, Span at, P::ParamsContext* params,
                                         P::BlockContext* body) {
    auto fn = std::make_shared<FunctionDecl>();
    fn->name = std::move(name);
    fn->span = std::move(at);
    if (params) {
      for (auto* p : params->param()) {
        fn->params.push_back(
            {p->IDENT()->getText(), span(p->IDENT()), p->expr() ? expr(p->expr()) : nullptr});
      }
    }
    block(body, fn->body);
    return fn;
  }

  ExprPtr expr(P::ExprContext* ctx) {
    if (!ctx) return std::make_unique<NoneExpr>(Span{source_, 0, 0, 1});
    ExprPtr node = build(ctx);
    record(node.get(), ctx);
    return node;
  }

  ExprPtr build(P::ExprContext* ctx) {
    if (auto* c = dynamic_cast<P::PrimaryExprContext*>(ctx)) return primary(c->primary());
    if (auto* c = dynamic_cast<P::CallExprContext*>(ctx)) return call(c);
    if (auto* c = dynamic_cast<P::IndexExprContext*>(ctx)) return index(c);
    if (auto* c = dynamic_cast<P::FieldExprContext*>(ctx)) {
      return std::make_unique<FieldExpr>(span(c), expr(c->expr()), c->IDENT()->getText(),
                                         span(c->IDENT()));
    }
    if (auto* c = dynamic_cast<P::UnaryExprContext*>(ctx)) {
      UnaryOp op = c->op->getText() == "-" ? UnaryOp::kNegate : UnaryOp::kPlus;
      return std::make_unique<UnaryExpr>(span(c), op, expr(c->expr()));
    }
    if (auto* c = dynamic_cast<P::NotExprContext*>(ctx)) {
      return std::make_unique<UnaryExpr>(span(c), UnaryOp::kNot, expr(c->expr()));
    }
    return binary(ctx);
  }

  ExprPtr binary(P::ExprContext* ctx) {
    static const std::map<std::string, BinaryOp> kOps = {
        {"+", BinaryOp::kAdd},   {"-", BinaryOp::kSub},       {"*", BinaryOp::kMul},
        {"/", BinaryOp::kDiv},   {"%", BinaryOp::kMod},       {"**", BinaryOp::kPow},
        {"==", BinaryOp::kEq},   {"!=", BinaryOp::kNe},       {"<", BinaryOp::kLt},
        {"<=", BinaryOp::kLe},   {">", BinaryOp::kGt},        {">=", BinaryOp::kGe},
        {"and", BinaryOp::kAnd}, {"or", BinaryOp::kOr},       {">>", BinaryOp::kThen},
        {"|", BinaryOp::kUnion}, {"&", BinaryOp::kIntersect}, {"..", BinaryOp::kRange}};
    std::vector<P::ExprContext*> operands;
    for (auto* child : ctx->children) {
      if (auto* operand = dynamic_cast<P::ExprContext*>(child)) operands.push_back(operand);
    }
    if (operands.size() != 2 || ctx->children.size() != 3) {
      return std::make_unique<NoneExpr>(span(ctx));  // only after a reported syntax error
    }
    auto* op_node = dynamic_cast<antlr4::tree::TerminalNode*>(ctx->children[1]);
    auto it = op_node ? kOps.find(op_node->getText()) : kOps.end();
    if (it == kOps.end()) return std::make_unique<NoneExpr>(span(ctx));
    // The operator's own position is where errors about the operation point.
    Span at = span(op_node);
    return std::make_unique<BinaryExpr>(at, it->second, expr(operands[0]), expr(operands[1]));
  }

  ExprPtr call(P::CallExprContext* c) {
    auto node = std::make_unique<CallExpr>(span(c), expr(c->expr()));
    node->span = node->callee->span;  // errors about a call point at what was called
    if (c->args()) {
      for (auto* a : c->args()->arg()) {
        Argument arg;
        arg.name = a->argName() ? a->argName()->getText() : "";
        arg.span = a->argName() ? span(a->argName()) : span(a->expr());
        arg.value = expr(a->expr());
        node->args.push_back(std::move(arg));
      }
    }
    return node;
  }

  ExprPtr index(P::IndexExprContext* c) {
    auto node = std::make_unique<IndexExpr>(span(c), expr(c->expr()));
    for (auto* s : c->subscripts()->subscript()) {
      Subscript sub;
      if (auto* i = dynamic_cast<P::IndexSubscriptContext*>(s)) {
        sub.index = expr(i->expr());
      } else if (auto* sl = dynamic_cast<P::SliceSubscriptContext*>(s)) {
        sub.is_slice = true;
        if (sl->lo) sub.lo = expr(sl->lo);
        if (sl->hi) sub.hi = expr(sl->hi);
      }
      node->subscripts.push_back(std::move(sub));
    }
    return node;
  }

  // A number literal as a double. std::stod throws on 1e999 (found by fuzz_eval) and on 1e-400;
  // the first is an error at the literal, the second rounds to 0 as in Python.
  ExprPtr number(P::NumberLitContext* c) {
    const std::string text = c->getText();
    const double value = std::strtod(text.c_str(), nullptr);
    if (std::isinf(value)) {
      errors_.error(span(c), "the number " + text +
                                 " is too large (numbers are 64-bit floats, at most 1.8e308)");
    }
    return std::make_unique<NumberExpr>(span(c), value);
  }

  ExprPtr primary(P::PrimaryContext* ctx) {
    if (auto* c = dynamic_cast<P::NumberLitContext*>(ctx)) return number(c);
    if (auto* c = dynamic_cast<P::StringLitContext*>(ctx)) {
      return std::make_unique<StringExpr>(span(c), unescape(c->STRING()->getSymbol()));
    }
    if (auto* c = dynamic_cast<P::BoolLitContext*>(ctx)) {
      return std::make_unique<BoolExpr>(span(c), c->TRUE() != nullptr);
    }
    if (auto* c = dynamic_cast<P::NoneLitContext*>(ctx)) return std::make_unique<NoneExpr>(span(c));
    if (auto* c = dynamic_cast<P::NameRefContext*>(ctx)) {
      return std::make_unique<NameExpr>(span(c), c->getText());
    }
    if (auto* c = dynamic_cast<P::ParenExprContext*>(ctx)) return build(c->expr());
    if (auto* c = dynamic_cast<P::ListLitContext*>(ctx)) {
      auto list = std::make_unique<ListExpr>(span(c->getStart()));
      for (auto* item : c->expr()) list->items.push_back(expr(item));
      return list;
    }
    if (auto* c = dynamic_cast<P::RecordLitContext*>(ctx)) return record(c);
    if (auto* c = dynamic_cast<P::LambdaExprContext*>(ctx)) {
      auto fn = function("<fn>", span(c->getStart()), c->params(), c->block());
      return std::make_unique<LambdaExpr>(span(c->getStart()), std::move(fn));
    }
    return std::make_unique<NoneExpr>(span(ctx));
  }

  ExprPtr record(P::RecordLitContext* c) {
    auto node = std::make_unique<RecordExpr>(span(c->getStart()));
    for (auto* f : c->field()) {
      RecordField field;
      field.key = f->key->getType() == P::STRING ? unescape(f->key) : f->key->getText();
      field.key_span = span(f->key);
      field.value = expr(f->expr());
      for (const auto& existing : node->fields) {
        if (existing.key == field.key) {
          errors_.error(field.key_span, "duplicate field '" + field.key + "' in record");
        }
      }
      node->fields.push_back(std::move(field));
    }
    return node;
  }

  std::string unescape(antlr4::Token* token) {
    const std::string text = token->getText();
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      if (text[i] != '\\') {
        out += text[i];
        continue;
      }
      char next = text[++i];
      switch (next) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        default: {
          Span at = span(token);
          at.column += static_cast<int>(i) - 1;
          at.length = 2;
          errors_.error(at, std::string("unknown escape '\\") + next +
                                "' in string; use \\n, \\t, \\\" or \\\\");
        }
      }
    }
    return out;
  }

  SourcePtr source_;
  DiagnosticSink& errors_;
  std::unordered_map<const void*, Extent>& extents_;
};

// Parsing, building, checking and evaluating recurse once per level of an expression's tree: a
// tree deeper than these limits is a located error instead of a stack overflow. A bracket costs
// the parser a dozen frames (Python stops at 200 parentheses); an operator a few.
constexpr size_t kMaxBracketDepth = 10000;
constexpr size_t kMaxExpressionDepth = 100000;

bool is_open_bracket(size_t type) {
  return type == P::LPAREN || type == P::LBRACK || type == P::LBRACE;
}
bool is_close_bracket(size_t type) {
  return type == P::RPAREN || type == P::RBRACK || type == P::RBRACE;
}

// Tokens after which an expression's tree starts afresh at the same bracket level.
bool separates(const antlr4::Token& token) {
  const std::string text = token.getText();
  return token.getType() == P::NEWLINE || text == "," || text == ":" || text == "=" || text == ";";
}

bool is_operator(const antlr4::Token& token) {
  static const std::set<std::string> operators = {"+", "-",  "*",  "/",   "%",   "**", ">>",
                                                  "&", "|",  "..", "==",  "!=",  "<",  "<=",
                                                  ">", ">=", ".",  "not", "and", "or", "else"};
  return operators.count(token.getText()) > 0;
}

// An upper bound on the depth of the tree a statement builds, token by token: the open brackets,
// and at each open level the operators (and closed brackets: calls, subscripts) since its last
// separator. Reads every token first (the lexer does not recurse) and reports the first one past
// a limit; false when there is none.
bool nested_too_deeply(antlr4::CommonTokenStream& tokens, const SourcePtr& source,
                       ParseResult& result) {
  tokens.fill();
  std::vector<size_t> chained{0};  // per open level: operators since its last separator
  size_t depth = 0;                // open brackets plus the chained operators of every level
  auto fail = [&](antlr4::Token* token, const std::string& what) {
    result.errors.error(token_span(source, token), what);
    return true;
  };
  for (antlr4::Token* token : tokens.getTokens()) {
    const size_t type = token->getType();
    if (is_open_bracket(type)) {
      chained.push_back(0);
      if (chained.size() - 1 > kMaxBracketDepth) {
        return fail(token, "brackets nested too deeply (more than " +
                               std::to_string(kMaxBracketDepth) + " levels)");
      }
      ++depth;
    } else if (is_close_bracket(type) && chained.size() > 1) {
      depth -= chained.back() + 1;
      chained.pop_back();
      ++chained.back();  // what the brackets closed is one operand of the level around them
      ++depth;
    } else if (separates(*token)) {
      depth -= chained.back();
      chained.back() = 0;
    } else if (is_operator(*token)) {
      ++chained.back();
      ++depth;
    }
    if (depth > kMaxExpressionDepth) {
      return fail(token, "expression nested too deeply (more than " +
                             std::to_string(kMaxExpressionDepth) +
                             " levels of operators and brackets)");
    }
  }
  return false;
}

// The span of the byte at `offset`, counting columns in characters (the text before it is valid
// UTF-8, so every byte that is not a continuation byte starts one).
Span span_at_offset(const SourcePtr& source, size_t offset) {
  Span span{source, 1, 1, 1};
  for (size_t i = 0; i < offset; ++i) {
    const auto byte = static_cast<unsigned char>(source->text[i]);
    if (byte == '\n') {
      ++span.line;
      span.column = 1;
    } else if ((byte & 0xC0) != 0x80) {
      ++span.column;
    }
  }
  return span;
}

// ANTLR's error recovery walks the whole rule stack at every level it unwinds, so a script that
// leaves 1600 brackets open cost seconds (quadratic; found by fuzz_parse). After this many
// recoveries the parse stops: the errors so far are reported, which is all anyone reads.
constexpr int kMaxRecoveries = 50;

class BoundedRecovery : public antlr4::DefaultErrorStrategy {
 public:
  void recover(antlr4::Parser* parser, std::exception_ptr error) override {
    count();
    DefaultErrorStrategy::recover(parser, error);
  }
  antlr4::Token* recoverInline(antlr4::Parser* parser) override {
    count();
    return DefaultErrorStrategy::recoverInline(parser);
  }

 private:
  void count() {
    if (++recoveries_ > kMaxRecoveries) throw antlr4::ParseCancellationException();
  }
  int recoveries_ = 0;
};

// ANTLR's input stream decodes UTF-8 itself and throws on what it cannot: report the first bad
// byte at its position instead.
bool invalid_utf8(const SourcePtr& source, ParseResult& result) {
  const size_t bad = invalid_utf8_at(source->text);
  if (bad == std::string::npos) return false;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(source->text[bad]));
  result.errors.error(span_at_offset(source, bad),
                      std::string("this is not a Perturb script: invalid UTF-8 byte ") + byte +
                          " (UTF-8 has no overlong forms, surrogates or code points above "
                          "U+10FFFF)");
  return true;
}

}  // namespace

ParseResult parse(SourcePtr source) {
  ParseResult result;
  result.program.source = source;
  if (invalid_utf8(source, result)) return result;
  antlr4::ANTLRInputStream input(source->text);
  PerturbLexer lexer(&input);
  ErrorListener listener(source, result);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  if (nested_too_deeply(tokens, source, result)) return result;
  for (antlr4::Token* token : tokens.getTokens()) {
    if (token->getType() == P::COMMENT)
      result.comments.push_back({token->getText(), token_span(source, token)});
  }
  PerturbParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  parser.setErrorHandler(std::make_shared<BoundedRecovery>());
  P::ProgramContext* tree = nullptr;
  try {
    tree = parser.program();
  } catch (const antlr4::ParseCancellationException&) {
    // Only after errors were reported (BoundedRecovery).
  }
  if (result.errors.has_errors() || !tree) return result;
  Builder builder(source, result);
  result.program.statements = builder.statements(tree->statement());
  return result;
}

}  // namespace perturb::lang
