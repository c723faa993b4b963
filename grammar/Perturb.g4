// The Perturb language: the only grammar source. C++ is generated from it at build time,
// and the editors' keyword lists are generated from its keyword tokens.
grammar Perturb;

@lexer::members {
  // Open brackets, innermost last. Inside ( and [ a newline does not end a statement, so
  // calls and lists can span lines; inside { it does, because braces hold blocks.
  std::vector<char> nesting;
  bool newlineIsSpace() const { return !nesting.empty() && nesting.back() != '{'; }
}

program : sep* (statement (sep+ statement)*)? sep* EOF ;

sep : NEWLINE | ';' ;

block : LBRACE sep* (statement (sep+ statement)*)? sep* RBRACE ;

statement
  : LET IDENT '=' expr                                  # letStmt
  | kind=(THREAT | ATTACK | POLICY | SCHEDULE) IDENT '=' expr  # declStmt
  | FN IDENT LPAREN params? RPAREN block                      # fnStmt
  | IMPORT IDENT ('.' IDENT)* (AS IDENT)?               # importStmt
  | RETURN expr?                                        # returnStmt
  | BREAK                                               # breakStmt
  | CONTINUE                                            # continueStmt
  | FOR IDENT IN expr block                             # forStmt
  | WHILE expr block                                    # whileStmt
  | ifChain                                             # ifStmt
  | IDENT '=' expr                                      # assignStmt
  | expr                                                # exprStmt
  ;

ifChain : IF expr block (ELSE (ifChain | block))? ;

params : param (',' param)* ','? ;
param  : IDENT (':' expr)? ;

// Alternatives are listed from the tightest binding to the loosest; where operators overlap
// with Python's, so does their precedence (`a >> b | c` is `(a >> b) | c`).
expr
  : primary                                             # primaryExpr
  | expr LPAREN args? RPAREN                            # callExpr
  | expr LBRACK subscripts RBRACK                       # indexExpr
  | expr '.' IDENT                                      # fieldExpr
  | <assoc=right> expr '**' expr                        # powerExpr
  | op=('-' | '+') expr                                 # unaryExpr
  | expr op=('*' | '/' | '%') expr                      # mulExpr
  | expr op=('+' | '-') expr                            # addExpr
  | expr '>>' expr                                      # thenExpr
  | expr '&' expr                                       # intersectExpr
  | expr '|' expr                                       # unionExpr
  | expr '..' expr                                      # rangeExpr
  | expr op=('==' | '!=' | '<' | '<=' | '>' | '>=') expr  # compareExpr
  | NOT expr                                            # notExpr
  | expr AND expr                                       # andExpr
  | expr OR expr                                        # orExpr
  ;

args : arg (',' arg)* ','? ;
arg  : (argName ':')? expr ;
// The declaration keywords name things a call may take too: train(..., schedule: meta).
argName : IDENT | THREAT | ATTACK | POLICY | SCHEDULE ;

subscripts : subscript (',' subscript)* ;
subscript
  : expr                                                # indexSubscript
  | lo=expr? ':' hi=expr?                               # sliceSubscript
  ;

primary
  : NUMBER                                              # numberLit
  | STRING                                              # stringLit
  | (TRUE | FALSE)                                      # boolLit
  | NONE                                                # noneLit
  | IDENT                                               # nameRef
  | LPAREN expr RPAREN                                  # parenExpr
  | LBRACK (expr (',' expr)* ','?)? RBRACK              # listLit
  | LBRACE sep* (field (',' sep* field)* ','?)? sep* RBRACE  # recordLit
  | FN LPAREN params? RPAREN block                      # lambdaExpr
  ;

field : key=(IDENT | STRING) ':' expr ;

// Keywords. Editors and the REPL's completion read this list.
LET      : 'let' ;
FN       : 'fn' ;
RETURN   : 'return' ;
IF       : 'if' ;
ELSE     : 'else' ;
FOR      : 'for' ;
IN       : 'in' ;
WHILE    : 'while' ;
BREAK    : 'break' ;
CONTINUE : 'continue' ;
IMPORT   : 'import' ;
AS       : 'as' ;
THREAT   : 'threat' ;
ATTACK   : 'attack' ;
POLICY   : 'policy' ;
SCHEDULE : 'schedule' ;
AND      : 'and' ;
OR       : 'or' ;
NOT      : 'not' ;
TRUE     : 'true' ;
FALSE    : 'false' ;
NONE     : 'none' ;

LPAREN : '(' { nesting.push_back('('); } ;
RPAREN : ')' { if (!nesting.empty()) nesting.pop_back(); } ;
LBRACK : '[' { nesting.push_back('['); } ;
RBRACK : ']' { if (!nesting.empty()) nesting.pop_back(); } ;
LBRACE : '{' { nesting.push_back('{'); } ;
RBRACE : '}' { if (!nesting.empty()) nesting.pop_back(); } ;

NUMBER : DIGITS ('.' DIGITS)? ([eE] [+-]? DIGITS)? ;
STRING : '"' (ESCAPE | ~["\\\r\n])* '"' ;
// A string that reaches the end of its line; the parser never expects it, so it is reported
// as "unterminated string" at its opening quote.
UNTERMINATED_STRING : '"' (ESCAPE | ~["\\\r\n])* ;
IDENT  : [a-zA-Z_] [a-zA-Z_0-9]* ;

NEWLINE : '\r'? '\n' { if (newlineIsSpace()) skip(); } ;
// Comments reach the parser's token stream on the hidden channel, where the parser never looks;
// parse.cpp hands them to tools that print code again (the formatter).
COMMENT : '#' ~[\r\n]* -> channel(HIDDEN) ;
SPACE   : [ \t\f]+ -> skip ;
// Any other character becomes a token the parser rejects with a clear message.
UNEXPECTED_CHAR : . ;

fragment DIGITS : [0-9]+ ;
fragment ESCAPE : '\\' . ;
