// The formatter: prints a parsed program in the canonical layout of docs/formatting.md.
//
// Output is built line by line. Comments are emitted in source order at "flush points" (before
// a statement, before an item of a broken call, list or record, and before a closing bracket),
// so every comment stays before the code that followed it. A call, list or record is first
// tried on one line ("flat"); when that line is too long or a comment falls inside, the attempt
// is rolled back and the items go one to a line.

#include "interpreter/format.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <limits>
#include <string_view>
#include <utility>

#include "interpreter/parse.h"

namespace perturb::lang {
namespace {

constexpr int kIndent = 2;
constexpr int kMaxHugDepth = 2;

// A place in the source; ordered as the text is.
struct Pos {
  int line = 0;
  int column = 0;
  bool operator<(const Pos& other) const {
    return line != other.line ? line < other.line : column < other.column;
  }
};

Pos pos_of(const Span& span) {
  return {span.line, span.column};
}

// Characters, not bytes: columns and widths count what a reader sees.
int display_width(std::string_view text) {
  int width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\f\r") == std::string_view::npos;
}

// Thrown when an attempt at a one-line layout fails; caught where the attempt began.
struct DoesNotFit {};

// Binding strength, loosest first; the order of the grammar's `expr` alternatives.
enum Level {
  kOr = 1,
  kAnd,
  kNot,
  kCompare,
  kRange,
  kUnion,
  kIntersect,
  kThen,
  kAdditive,
  kMultiplicative,
  kPrefix,
  kPower,
  kPostfix,  // calls, fields, subscripts and atoms
};

Level binary_level(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return kOr;
    case BinaryOp::kAnd:
      return kAnd;
    case BinaryOp::kEq:
    case BinaryOp::kNe:
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe:
      return kCompare;
    case BinaryOp::kRange:
      return kRange;
    case BinaryOp::kUnion:
      return kUnion;
    case BinaryOp::kIntersect:
      return kIntersect;
    case BinaryOp::kThen:
      return kThen;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return kAdditive;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      return kMultiplicative;
    case BinaryOp::kPow:
      return kPower;
  }
  return kPostfix;
}

Level level_of(const Expr& e) {
  if (e.kind == ExprKind::kBinary) return binary_level(static_cast<const BinaryExpr&>(e).op);
  if (e.kind == ExprKind::kUnary) {
    return static_cast<const UnaryExpr&>(e).op == UnaryOp::kNot ? kNot : kPrefix;
  }
  return kPostfix;
}

struct Line {
  int indent = 0;
  std::string code;
  std::string comment;  // a trailing comment, or empty
  bool blank = false;
};

class Printer {
 public:
  explicit Printer(const ParseResult& parsed) : parsed_(parsed), source_(*parsed.program.source) {
    index_lines();
  }

  std::string print() {
    statements(parsed_.program.statements);
    flush_comments(Pos{std::numeric_limits<int>::max(), 0});
    end_line();
    return render();
  }

 private:
  // ---- The source text, for what the AST does not keep.

  void index_lines() {
    line_starts_.push_back(0);
    for (size_t i = 0; i < source_.text.size(); ++i) {
      if (source_.text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::string_view source_line(int line) const {
    if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
    size_t begin = line_starts_[line - 1];
    size_t end = source_.text.find('\n', begin);
    if (end == std::string::npos) end = source_.text.size();
    return std::string_view(source_.text).substr(begin, end - begin);
  }

  // The byte offset of a span's first character (columns count characters). Spans are mostly
  // asked for in order, so the walk continues from the last answer on the same line: a script
  // of one very long line costs linear time, not quadratic.
  size_t offset_of(const Span& span) const {
    if (span.line < 1 || static_cast<size_t>(span.line) > line_starts_.size()) return 0;
    const std::string& text = source_.text;
    if (span.line != cached_.line || span.column < cached_.column) {
      cached_ = {span.line, 1, line_starts_[span.line - 1]};
    }
    while (cached_.column < span.column && cached_.offset < text.size()) {
      ++cached_.offset;
      while (cached_.offset < text.size() &&
             (static_cast<unsigned char>(text[cached_.offset]) & 0xC0) == 0x80)
        ++cached_.offset;
      ++cached_.column;
    }
    return cached_.offset;
  }

  // A number literal exactly as written (NUMBER in the grammar): 1e-3 stays 1e-3.
  std::string number_text(const Span& span) const {
    const std::string& text = source_.text;
    size_t begin = offset_of(span), end = begin;
    auto digits = [&] {
      while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    };
    digits();
    if (end + 1 < text.size() && text[end] == '.' &&
        std::isdigit(static_cast<unsigned char>(text[end + 1]))) {
      ++end;
      digits();
    }
    if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
      size_t exponent = end + 1;
      if (exponent < text.size() && (text[exponent] == '+' || text[exponent] == '-')) ++exponent;
      if (exponent < text.size() && std::isdigit(static_cast<unsigned char>(text[exponent]))) {
        end = exponent;
        digits();
      }
    }
    return text.substr(begin, end - begin);
  }

  // A string literal exactly as written, quotes and escapes included.
  std::string string_text(const Span& span) const {
    const std::string& text = source_.text;
    size_t begin = offset_of(span), end = begin + 1;
    while (end < text.size() && text[end] != '"' && text[end] != '\n') {
      end += text[end] == '\\' ? 2 : 1;
    }
    return text.substr(begin, std::min(end + 1, text.size()) - begin);
  }

  const Extent& extent(const void* node) const {
    static const Extent kNone{};
    auto it = parsed_.extents.find(node);
    return it == parsed_.extents.end() ? kNone : it->second;
  }
  Pos start_of(const void* node) const { return pos_of(extent(node).first); }
  Pos end_of(const void* node) const { return pos_of(extent(node).last); }

  // Code before a comment on its line makes it a trailing comment; it stays at a line's end.
  bool is_trailing(const Comment& comment) const {
    std::string_view line = source_line(comment.span.line);
    return !is_blank(line.substr(0, offset_of(comment.span) - line_starts_[comment.span.line - 1]));
  }

  bool blank_line_before(int line) const { return line > 1 && is_blank(source_line(line - 1)); }

  // ---- Output lines.

  int column() const { return current_indent_ + current_width_; }

  void write(std::string_view text) {
    if (current_.empty()) current_indent_ = indent_;
    current_ += text;
    current_width_ += display_width(text);
    if (no_newline_ && column() > kFormatWidth) throw DoesNotFit{};
  }

  // Ends the line being written, if any.
  void end_line() {
    if (current_.empty() && current_comment_.empty()) return;
    if (no_newline_) throw DoesNotFit{};
    lines_.push_back({current_indent_, std::move(current_), std::move(current_comment_), false});
    current_.clear();
    current_comment_.clear();
    current_width_ = 0;
  }

  // Starts the line of an item that began on `source_line`: one blank line is kept before it
  // when the source had at least one, except at the top of a block or bracket.
  void begin_line(int source_line) {
    end_line();
    if (!at_block_start_ && source_line != last_item_line_ && blank_line_before(source_line)) {
      if (no_newline_) throw DoesNotFit{};
      lines_.push_back({0, "", "", true});
    }
    at_block_start_ = false;
    last_item_line_ = source_line;
  }

  // A comment after code ends the line of that code. Flush points are places where a line may
  // end, so when that line already ends in a comment (both followed code that is now joined on
  // one line, e.g. comments among a function's parameters), this one gets a line of its own.
  void trailing_comment(const std::string& text) {
    if (no_newline_) throw DoesNotFit{};
    if (!current_.empty() && current_comment_.empty()) {
      current_comment_ = text;
      return;
    }
    if (current_.empty() && !lines_.empty()) {
      Line& last = lines_.back();
      if (!last.blank && last.comment.empty() && last.code.rfind('#', 0) != 0) {
        last.comment = text;
        return;
      }
    }
    end_line();
    write(text);
    end_line();
  }

  void flush_comments(Pos before) {
    while (next_comment_ < parsed_.comments.size() &&
           pos_of(parsed_.comments[next_comment_].span) < before) {
      const Comment& comment = parsed_.comments[next_comment_++];
      std::string text = comment.text;
      text.erase(text.find_last_not_of(" \t\f\r") + 1);
      if (is_trailing(comment)) {
        trailing_comment(text);
      } else {
        begin_line(comment.span.line);
        write(text);
        end_line();
      }
    }
  }

  // Aligns the trailing comments of consecutive lines in one column, two spaces after the
  // longest code among them.
  std::string render() const {
    std::string out;
    for (size_t i = 0; i < lines_.size();) {
      size_t run_end = i;
      int comment_column = 0;
      while (run_end < lines_.size() && !lines_[run_end].comment.empty()) {
        const Line& line = lines_[run_end++];
        comment_column = std::max(comment_column, line.indent + display_width(line.code) + 2);
      }
      if (run_end == i) run_end = i + 1;
      for (; i < run_end; ++i) {
        const Line& line = lines_[i];
        if (!line.blank && !(line.code.empty() && line.comment.empty())) {
          out += std::string(line.indent, ' ') + line.code;
          if (!line.comment.empty()) {
            const int width = line.indent + display_width(line.code);
            out += (line.code.empty() ? std::string() : std::string(comment_column - width, ' ')) +
                   line.comment;
          }
        }
        out += '\n';
      }
    }
    return out;
  }

  // ---- Attempts and rollback.

  struct Snapshot {
    size_t lines;
    std::string last_comment;
    size_t current_size;  // the line being written only grows during an attempt
    std::string current_comment;
    int current_width, current_indent, indent, hug_depth;
    size_t next_comment;
    int last_item_line;
    bool at_block_start, no_newline, bodies_may_break;
  };

  Snapshot snapshot() const {
    return {lines_.size(),    lines_.empty() ? "" : lines_.back().comment,
            current_.size(),  current_comment_,
            current_width_,   current_indent_,
            indent_,          hug_depth_,
            next_comment_,    last_item_line_,
            at_block_start_,  no_newline_,
            bodies_may_break_};
  }

  void restore(Snapshot s) {
    // The line being written may have been ended during the attempt: it is then the first of
    // the lines the attempt added.
    if (lines_.size() > s.lines) current_ = std::move(lines_[s.lines].code);
    current_.resize(s.current_size);
    lines_.resize(s.lines);
    if (!lines_.empty()) lines_.back().comment = std::move(s.last_comment);
    current_comment_ = std::move(s.current_comment);
    current_width_ = s.current_width;
    current_indent_ = s.current_indent;
    hug_depth_ = s.hug_depth;
    indent_ = s.indent;
    next_comment_ = s.next_comment;
    last_item_line_ = s.last_item_line;
    at_block_start_ = s.at_block_start;
    no_newline_ = s.no_newline;
    bodies_may_break_ = s.bodies_may_break;
  }

  // Runs `layout` with no line breaks allowed (except inside function bodies when
  // `bodies_may_break`); false, with nothing written, when it does not fit in the width with
  // `trail` more characters after it. Inside another attempt a failure goes to that one.
  template <typename Layout>
  bool attempt(Layout&& layout, int trail = 0) {
    if (no_newline_) {
      layout();
      return true;
    }
    Snapshot before = snapshot();
    try {
      no_newline_ = true;
      layout();
      no_newline_ = false;
      if (column() + trail > kFormatWidth) throw DoesNotFit{};
      return true;
    } catch (const DoesNotFit&) {
      restore(std::move(before));
      return false;
    }
  }

  // ---- Statements.

  void statements(const std::vector<StmtPtr>& list) {
    for (const StmtPtr& stmt : list) {
      const Pos start = start_of(stmt.get());
      flush_comments(start);
      begin_line(start.line);
      statement(*stmt);
    }
  }

  void statement(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::kLet: {
        const auto& let = static_cast<const LetStmt&>(s);
        write("let " + let.name + " = ");
        return expr(*let.value);
      }
      case StmtKind::kDecl: {
        const auto& decl = static_cast<const DeclStmt&>(s);
        write(std::string(decl_kind_text(decl.decl)) + " " + decl.name + " = ");
        return expr(*decl.value);
      }
      case StmtKind::kAssign: {
        const auto& assign = static_cast<const AssignStmt&>(s);
        write(assign.name + " = ");
        return expr(*assign.value);
      }
      case StmtKind::kFn: {
        const auto& fn = static_cast<const FnStmt&>(s);
        write("fn " + fn.decl->name);
        return function(*fn.decl);
      }
      case StmtKind::kImport:
        return import(static_cast<const ImportStmt&>(s));
      case StmtKind::kReturn: {
        const auto& ret = static_cast<const ReturnStmt&>(s);
        write(ret.value ? "return " : "return");
        if (ret.value) expr(*ret.value);
        return;
      }
      case StmtKind::kBreak:
        return write("break");
      case StmtKind::kContinue:
        return write("continue");
      case StmtKind::kFor: {
        const auto& loop = static_cast<const ForStmt&>(s);
        write("for " + loop.var + " in ");
        expr(*loop.iterable);
        write(" ");
        return block(loop.body);
      }
      case StmtKind::kWhile: {
        const auto& loop = static_cast<const WhileStmt&>(s);
        write("while ");
        expr(*loop.condition);
        write(" ");
        return block(loop.body);
      }
      case StmtKind::kIf:
        return if_chain(static_cast<const IfStmt&>(s));
      case StmtKind::kExpr:
        return expr(*static_cast<const ExprStmt&>(s).expr);
    }
  }

  void import(const ImportStmt& s) {
    std::string text = "import " + s.path.front();
    for (size_t i = 1; i < s.path.size(); ++i) text += "." + s.path[i];
    // `as` only where it renames: `import std.presets as presets` binds what the plain form does.
    if (s.alias != s.path.back()) text += " as " + s.alias;
    write(text);
  }

  // `else if` stays so; `else { if ... }` stays a block, so comments inside it keep their place.
  const IfStmt* else_if(const IfStmt& s) const {
    const bool chained = s.else_body.size() == 1 && s.else_body[0]->kind == StmtKind::kIf &&
                         parsed_.extents.count(&s.else_body) == 0;
    return chained ? static_cast<const IfStmt*>(s.else_body[0].get()) : nullptr;
  }

  bool may_be_one_line(const std::vector<StmtPtr>& body) const {
    const Extent& braces = extent(&body);
    return body.empty() || (body.size() == 1 && braces.first.line == braces.last.line);
  }

  // The blocks of an if-chain are all on one line each, or all broken.
  void if_chain(const IfStmt& s) {
    bool one_line = true;
    for (const IfStmt* link = &s; link; link = else_if(*link)) {
      one_line = one_line && may_be_one_line(link->then_body) &&
                 (else_if(*link) || may_be_one_line(link->else_body));
    }
    if (one_line && attempt([&] { if_links(s, true); })) return;
    if_links(s, false);
  }

  void if_links(const IfStmt& s, bool one_line) {
    write("if ");
    expr(*s.condition);
    write(" ");
    block(s.then_body, one_line);
    if (!s.has_else) return;
    write(" else ");
    if (const IfStmt* next = else_if(s)) return if_links(*next, one_line);
    block(s.else_body, one_line);
  }

  void function(const FunctionDecl& fn) {
    write("(");
    for (size_t i = 0; i < fn.params.size(); ++i) {
      if (i > 0) write(", ");
      write(fn.params[i].name);
      if (fn.params[i].default_value) {
        write(": ");
        expr(*fn.params[i].default_value);
      }
    }
    write(") ");
    block(fn.body);
  }

  // `{ stmt }` on one line when the source had it so (or it is empty), nothing inside is a
  // comment, and it fits; otherwise one statement per line.
  void block(const std::vector<StmtPtr>& body, bool one_line = true) {
    const Extent& braces = extent(&body);
    if (one_line && may_be_one_line(body) &&
        attempt([&] { one_line_block(body, pos_of(braces.last)); })) {
      at_block_start_ = false;
      return;
    }
    const int base = current_indent_, outer = indent_;
    const bool outer_no_newline = no_newline_;
    // A function body inside a one-line call still has its own lines, two such calls deep at
    // most: each level tries the one-line call and may render the body again after all, so the
    // work doubles with every level that is tried.
    if (no_newline_ && (!bodies_may_break_ || hug_depth_ >= kMaxHugDepth)) throw DoesNotFit{};
    const int outer_hug_depth = hug_depth_;
    if (no_newline_) ++hug_depth_;
    no_newline_ = false;
    write("{");
    indent_ = base + kIndent;
    at_block_start_ = true;
    statements(body);
    flush_comments(pos_of(braces.last));
    indent_ = base;
    end_line();
    write("}");
    indent_ = outer;
    no_newline_ = outer_no_newline;
    hug_depth_ = outer_hug_depth;
    at_block_start_ = false;
  }

  void one_line_block(const std::vector<StmtPtr>& body, Pos close) {
    const bool outer = bodies_may_break_;
    bodies_may_break_ = false;
    if (body.empty()) {
      flush_comments(close);
      write("{}");
    } else {
      write("{ ");
      flush_comments(start_of(body[0].get()));
      statement(*body[0]);
      flush_comments(close);
      write(" }");
    }
    bodies_may_break_ = outer;
  }

  // ---- Expressions.

  void expr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kNumber:
        return write(number_text(e.span));
      case ExprKind::kString:
        return write(string_text(e.span));
      case ExprKind::kBool:
        return write(static_cast<const BoolExpr&>(e).value ? "true" : "false");
      case ExprKind::kNone:
        return write("none");
      case ExprKind::kName:
        return write(static_cast<const NameExpr&>(e).name);
      case ExprKind::kList:
        return list(static_cast<const ListExpr&>(e));
      case ExprKind::kRecord:
        return record(static_cast<const RecordExpr&>(e));
      case ExprKind::kLambda:
        write("fn");
        return function(*static_cast<const LambdaExpr&>(e).decl);
      case ExprKind::kUnary:
        return unary(static_cast<const UnaryExpr&>(e));
      case ExprKind::kBinary:
        return binary(static_cast<const BinaryExpr&>(e));
      case ExprKind::kCall:
        return call(static_cast<const CallExpr&>(e));
      case ExprKind::kField: {
        const auto& field = static_cast<const FieldExpr&>(e);
        operand(*field.object, kPostfix);
        return write("." + field.field);
      }
      case ExprKind::kIndex:
        return index(static_cast<const IndexExpr&>(e));
    }
  }

  // An operand, in parentheses when it binds more loosely than `at_least` needs.
  void operand(const Expr& e, int at_least) {
    if (level_of(e) >= at_least) return expr(e);
    write("(");
    expr(e);
    write(")");
  }

  void unary(const UnaryExpr& e) {
    write(e.op == UnaryOp::kNot ? "not " : e.op == UnaryOp::kNegate ? "-" : "+");
    operand(*e.operand, e.op == UnaryOp::kNot ? kNot : kPrefix);
  }

  // Spaces around every operator but `..` (a..b reads as one range); `**` groups to the right,
  // the others to the left, and parentheses are printed only where the tree needs them.
  void binary(const BinaryExpr& e) {
    const int level = binary_level(e.op);
    const bool right_assoc = e.op == BinaryOp::kPow;
    operand(*e.left, right_assoc ? level + 1 : level);
    const std::string op = binary_op_text(e.op);
    write(e.op == BinaryOp::kRange ? op : " " + op + " ");
    operand(*e.right, right_assoc ? level : level + 1);
  }

  void index(const IndexExpr& e) {
    operand(*e.object, kPostfix);
    write("[");
    for (size_t i = 0; i < e.subscripts.size(); ++i) {
      if (i > 0) write(", ");
      const Subscript& sub = e.subscripts[i];
      if (!sub.is_slice) {
        expr(*sub.index);
        continue;
      }
      if (sub.lo) expr(*sub.lo);
      write(":");
      if (sub.hi) expr(*sub.hi);
    }
    write("]");
  }

  // One item of a call, list or record: an optional `name: ` label and a value.
  struct Item {
    Pos start;
    std::string label;  // "name" of `name: value`; empty for positional arguments and list items
    const Expr* value;
  };

  void call(const CallExpr& e) {
    operand(*e.callee, kPostfix);
    std::vector<Item> items;
    for (const Argument& arg : e.args) {
      items.push_back(
          {arg.name.empty() ? start_of(arg.value.get()) : pos_of(arg.span), arg.name, &*arg.value});
    }
    // A sole list or record argument hugs the parentheses: f([ on the first line, ]) on the last.
    const bool hug =
        e.args.size() == 1 && e.args[0].name.empty() &&
        (e.args[0].value->kind == ExprKind::kList || e.args[0].value->kind == ExprKind::kRecord);
    if (hug && attempt([&] { flat_items("(", items, ")", end_of(&e)); })) return;
    if (!hug) return bracketed("(", items, ")", end_of(&e));
    write("(");
    expr(*e.args[0].value);
    write(")");
  }

  void list(const ListExpr& e) {
    std::vector<Item> items;
    for (const ExprPtr& item : e.items) items.push_back({start_of(item.get()), "", &*item});
    bracketed("[", items, "]", end_of(&e));
  }

  void record(const RecordExpr& e) {
    std::vector<Item> items;
    for (const RecordField& field : e.fields) {
      // A key as written: a name, or a string with its escapes.
      const bool quoted = source_.text[offset_of(field.key_span)] == '"';
      items.push_back({pos_of(field.key_span), quoted ? string_text(field.key_span) : field.key,
                       &*field.value});
    }
    bracketed("{", items, "}", end_of(&e));
  }

  // Items on one line when they fit and no comment is among them; else one item per line, each
  // followed by a comma, with the values of labelled items aligned in one column.
  void bracketed(const std::string& open, const std::vector<Item>& items, const std::string& close,
                 Pos close_at) {
    if (attempt([&] { flat_items(open, items, close, close_at); })) return;
    if (open == "[" && !items.empty() &&
        std::all_of(items.begin(), items.end(), [](const Item& i) { return is_numeric(*i.value); }))
      return filled(open, items, close, close_at);
    int label_width = 0;
    for (const Item& item : items) label_width = std::max(label_width, display_width(item.label));
    const int outer = indent_;
    write(open);
    indent_ = current_indent_ + kIndent;
    at_block_start_ = true;
    for (const Item& item : items) {
      flush_comments(item.start);
      begin_line(item.start.line);
      if (!item.label.empty()) {
        write(item.label + ":" + std::string(label_width - display_width(item.label) + 1, ' '));
      }
      if (!attempt([&] { expr(*item.value); }, 1)) expr(*item.value);
      write(",");
    }
    flush_comments(close_at);
    indent_ -= kIndent;
    end_line();
    write(close);
    indent_ = outer;
    at_block_start_ = false;
  }

  // A list of numbers (a table of data) fills its lines instead of taking one line per number.
  static bool is_numeric(const Expr& e) {
    if (e.kind == ExprKind::kUnary) {
      const auto& unary = static_cast<const UnaryExpr&>(e);
      return unary.op != UnaryOp::kNot && unary.operand->kind == ExprKind::kNumber;
    }
    return e.kind == ExprKind::kNumber;
  }

  std::string numeric_text(const Expr& e) const {
    if (e.kind == ExprKind::kNumber) return number_text(e.span);
    const auto& unary = static_cast<const UnaryExpr&>(e);
    return (unary.op == UnaryOp::kNegate ? "-" : "+") + number_text(unary.operand->span);
  }

  void filled(const std::string& open, const std::vector<Item>& items, const std::string& close,
              Pos close_at) {
    const int outer = indent_;
    write(open);
    indent_ = current_indent_ + kIndent;
    at_block_start_ = true;
    for (size_t i = 0; i < items.size(); ++i) {
      flush_comments(items[i].start);
      const std::string text = numeric_text(*items[i].value) + ",";
      // After a comment the next number starts a line, so the comment stays where it was.
      const bool fresh_line = i == 0 || current_.empty() || !current_comment_.empty() ||
                              column() + 1 + display_width(text) > kFormatWidth;
      if (fresh_line) {
        end_line();
        at_block_start_ = false;
      } else {
        write(" ");
      }
      write(text);
    }
    flush_comments(close_at);
    indent_ -= kIndent;
    end_line();
    write(close);
    indent_ = outer;
    at_block_start_ = false;
  }

  void flat_items(const std::string& open, const std::vector<Item>& items, const std::string& close,
                  Pos close_at) {
    write(open);
    for (size_t i = 0; i < items.size(); ++i) {
      flush_comments(items[i].start);
      if (i > 0) write(", ");
      if (!items[i].label.empty()) write(items[i].label + ": ");
      expr(*items[i].value);
    }
    flush_comments(close_at);
    write(close);
  }

  const ParseResult& parsed_;
  const SourceFile& source_;
  std::vector<size_t> line_starts_;
  struct {
    int line = 0, column = 0;
    size_t offset = 0;
  } mutable cached_;  // offset_of's last answer

  std::vector<Line> lines_;
  std::string current_, current_comment_;  // the line being written
  int current_indent_ = 0;
  int current_width_ = 0;  // of current_, in characters
  int hug_depth_ = 0;      // function bodies broken inside one-line calls around this point
  int indent_ = 0;         // of the next line
  size_t next_comment_ = 0;
  int last_item_line_ = 0;  // the source line of the last statement or item begun
  bool at_block_start_ = true;
  bool no_newline_ = false;       // inside an attempt at a one-line layout
  bool bodies_may_break_ = true;  // false inside `{ stmt }`: nothing in it may take more lines
};

}  // namespace

FormatResult format_source(const SourcePtr& source) {
  ParseResult parsed = parse(source);
  FormatResult result;
  if (parsed.errors.has_errors()) {
    result.errors = std::move(parsed.errors);
    return result;
  }
  result.text = Printer(parsed).print();
  return result;
}

}  // namespace perturb::lang
