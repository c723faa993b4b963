// Exceptions the runtime throws, in the user's terms. The interpreter maps them to exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace perturb {

// An error in the user's terms (what was given, what was expected). Interpreter maps to exit 70.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be read or written (exit 74). Message names the path.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace perturb
