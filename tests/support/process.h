// Test support: real child processes (the tidemark binary, mosquitto), temporary directories and
// free loopback ports, for integration tests that use real parts (docs/DESIGN.md; docs/TESTING.md).
// Used from one test thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace tidemark::testing {

// A directory under the system temp dir, removed on destruction unless Keep() was called.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tidemark_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  void Keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreeLoopbackPort();
// True once something accepts TCP connections on 127.0.0.1:port, polling until `timeout`.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

// A child process with stdout and stderr appended to `log_path`. Killed (SIGKILL) on
// destruction if still running.
class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log_path);
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void Signal(int signal) const;
  // Waits for exit up to `timeout`; the exit code, 128+signal when killed, or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  bool Running();
  // The log's text so far.
  std::string Log() const;
  // Polls the log until it contains `text`, up to `timeout`.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path log_path_;
};

}  // namespace tidemark::testing
