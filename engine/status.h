// Status and StatusOr<T>: tidemark's one way to report an expected failure (bad input, a bad
// config, a storage error) as a value, never an exception; asserts are for our own bugs. Both
// are [[nodiscard]]. `code` is kOk, kFailed for a plain failure, or — for storage errors — the
// SQLite extended result code, so callers can tell a full disk from a corrupt file
// (storage/sqlite.h names the codes). Build a failure with `return Error{"what went wrong"};`.
// Header-only, no state: safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tidemark {

inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;  // a failure without a more specific code (SQLITE_ERROR's value)
inline constexpr int kMisused = 21;  // a StatusOr built from an OK Status (SQLITE_MISUSE's value)

// A failure's message: converts to a failed Status or StatusOr.
struct Error {
  std::string message;
};

struct [[nodiscard]] Status {
  int code = kOk;
  std::string message;

  Status() = default;
  Status(int c, std::string m) : code(c), message(std::move(m)) {}
  Status(Error e) : code(kFailed), message(std::move(e.message)) {}  // NOLINT: implicit by design

  static Status Ok() { return {}; }
  bool ok() const { return code == kOk; }
  int primary_code() const { return code & 0xff; }
  // The same failure with `context` in front of its message ("storage: ...").
  Status Prefixed(std::string_view context) const { return {code, std::string(context) + message}; }
};

// A value or a failed Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Error error) : status_(std::move(error)) {}    // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = {kMisused, "StatusOr built from an OK Status without a value"};
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Status::Ok() when a value is held.
  const Status& status() const { return status_; }
  // The failure's message; empty when ok().
  const std::string& error() const { return status_.message; }
  // Precondition: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return *std::move(value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tidemark
