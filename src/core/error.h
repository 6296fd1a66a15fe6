// Errors and exit statuses. Every failure carries its context (flag, file, key, offset) up to
// the one place in cli/main.cpp that prints it and picks the exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace cb {

// Process exit statuses, as docs/architecture.md and DESIGN.md define them.
enum class ExitStatus : int {
  ok = 0,            // done
  failed = 1,        // a trial or check failed
  bad_input = 2,     // bad input or usage; the message names the flag, file or key
  interrupted = 130  // interrupted; results so far are kept and resumable
};

// Base of every error cifarbench reports; what() is the complete user-facing message.
class Error : public std::runtime_error {
 public:
  Error(ExitStatus status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  ExitStatus status() const { return status_; }

 private:
  ExitStatus status_;
};

// Bad input or usage: a file, flag or configuration key that is not what was expected (exit 2).
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ExitStatus::bad_input, message) {}
};

// A trial or a check that ran and failed (exit 1).
class CheckFailed : public Error {
 public:
  explicit CheckFailed(const std::string& message) : Error(ExitStatus::failed, message) {}
};

// The user interrupted the work (SIGINT); what was measured so far is kept (exit 130).
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& message) : Error(ExitStatus::interrupted, message) {}
};

// A feature that this build or this machine lacks (exit 2: the user asked for something absent).
class Unsupported : public Error {
 public:
  explicit Unsupported(const std::string& message) : Error(ExitStatus::bad_input, message) {}
};

}  // namespace cb
