# Debian's ANTLR 4.9 runtime headers do not compile under clang: misc/InterpreterDataReader.h
# default-constructs a dfa::Vocabulary, whose const vector member makes that constructor deleted
# (gcc lets it pass). The clang builds (fuzzing, sanitizers) read a copy of the headers without
# that one unused constructor. Sets ANTLR4_INCLUDE_DIR.
set(packaged_headers ${ANTLR4_INCLUDE_DIR})
set(ANTLR4_INCLUDE_DIR ${PROJECT_BINARY_DIR}/antlr4-runtime-for-clang)
if(NOT EXISTS ${ANTLR4_INCLUDE_DIR}/antlr4-runtime.h)
  file(COPY ${packaged_headers}/ DESTINATION ${ANTLR4_INCLUDE_DIR})
endif()
set(reader ${ANTLR4_INCLUDE_DIR}/misc/InterpreterDataReader.h)
file(READ ${reader} text)
string(REPLACE "InterpreterData() {}; // For invalid content." "" text "${text}")
file(WRITE ${reader} "${text}")
