// Defaults of ASan, UBSan and LeakSanitizer for a sanitizer build of perturb (docs/hardening.md);
// ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS still override them. Only compiled with
// -DPERTURB_SANITIZE.

extern "C" {

// Stop at the first report with a stack trace; a failing allocation is an exception LibTorch
// turns into an error message, as without ASan.
const char* __asan_default_options() {
  return "allocator_may_return_null=1:detect_stack_use_after_return=0:check_initialization_order=1";
}

const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

}  // extern "C"
