# Writes OUTPUT: a C++ file with the keywords of grammar/Perturb.g4 (its lexer rules of the form
# `NAME : 'word' ;`), for the REPL's completion. Run with -DGRAMMAR=... -DOUTPUT=...
# editors/generate.py reads the same rules for the editors' highlighting.
file(STRINGS "${GRAMMAR}" lines REGEX "^[A-Z_]+[ \t]*:[ \t]*'[a-z_]+'[ \t]*;")
set(words "")
foreach(line ${lines})
  string(REGEX REPLACE "^[A-Z_]+[ \t]*:[ \t]*'([a-z_]+)'.*$" "\\1" word "${line}")
  string(APPEND words "\"${word}\", ")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from grammar/Perturb.g4 by cmake/keywords.cmake. Do not edit.\n#include <string>\n#include <vector>\n\nnamespace perturb::lang {\n\nconst std::vector<std::string>& grammar_keywords() {\n  static const std::vector<std::string> words = {${words}};\n  return words;\n}\n\n}  // namespace perturb::lang\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
