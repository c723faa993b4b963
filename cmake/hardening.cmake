# Warnings, sanitizers and fuzzing (issue 17; docs/hardening.md): options every target shares.

option(PERTURB_WERROR "Treat compiler warnings as errors (CI builds with it)" OFF)
set(PERTURB_SANITIZE "" CACHE STRING
    "Sanitizers for every target, as -fsanitize takes them: address,undefined")
set(PERTURB_SANITIZE_SCOPE "all" CACHE STRING
    "What PERTURB_SANITIZE instruments: all, or interpreter (the parser, checker, evaluator and \
builtins, linked to an uninstrumented runtime; what CI affords)")
option(PERTURB_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)

# Two of -Wextra's warnings stay off. Unused parameters: every builtin and attack has the same
# signature and many ignore an argument. Missing field initializers: aggregates such as Dataset
# and TransformSpec are built with their leading fields and the rest keep their default member
# initializers, by design.
set(PERTURB_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
if(PERTURB_WERROR)
  list(APPEND PERTURB_WARNINGS -Werror)
endif()

# Stop at the first report: a test that trips a sanitizer fails instead of printing and passing.
set(PERTURB_SANITIZE_FLAGS "")
if(PERTURB_SANITIZE)
  set(PERTURB_SANITIZE_FLAGS -fsanitize=${PERTURB_SANITIZE} -fno-sanitize-recover=all
                             -fno-omit-frame-pointer -g1)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # gcc 12's -Wmaybe-uninitialized misreads libstdc++'s std::regex and std::function once ASan
    # has instrumented them (repl.cpp); the sanitizers check those reads at run time instead.
    list(APPEND PERTURB_SANITIZE_FLAGS -Wno-maybe-uninitialized)
  endif()
endif()
if(PERTURB_SANITIZE AND PERTURB_SANITIZE_SCOPE STREQUAL "all")
  add_compile_options(${PERTURB_SANITIZE_FLAGS})
  add_link_options(-fsanitize=${PERTURB_SANITIZE})
elseif(PERTURB_SANITIZE AND NOT PERTURB_SANITIZE_SCOPE STREQUAL "interpreter")
  message(FATAL_ERROR "PERTURB_SANITIZE_SCOPE is all or interpreter, got ${PERTURB_SANITIZE_SCOPE}")
endif()

# perturb_sanitize_target(<target>): instruments a target of the interpreter when the scope is
# "interpreter" (with "all" every target already is).
function(perturb_sanitize_target target)
  if(PERTURB_SANITIZE AND PERTURB_SANITIZE_SCOPE STREQUAL "interpreter")
    target_compile_options(${target} PRIVATE ${PERTURB_SANITIZE_FLAGS})
    target_link_options(${target} PUBLIC -fsanitize=${PERTURB_SANITIZE})
  endif()
endfunction()

if(PERTURB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PERTURB_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Coverage feedback from all of our code; the fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
