// Child processes and sockets for `tidemark demo` (gateway/tools/demo.h): spawning a child in its own
// process group with its output appended to a log file (and SIGTERM should the demo die),
// stopping it (SIGTERM, wait, SIGKILL), free loopback ports, and waiting for SIGINT/SIGTERM
// while they are blocked. POSIX only; single-threaded (fork from the only thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace tidemark::demo {

// Prints a line on stdout and flushes.
void Say(const std::string& line);
// `name` on PATH, or in /usr/sbin, /usr/local/sbin, /sbin (Debian's mosquitto); "" if absent.
std::string FindProgram(const std::string& name);
// Binds 127.0.0.1:port (0: any free one) and returns the port bound, or -1 when it is taken.
int TryBind(int port);
// True when something accepts TCP connections on 127.0.0.1:port.
bool Accepts(int port);
std::string ReadFile(const std::filesystem::path& path);
// The last `lines` lines of a file, each indented by two spaces.
std::string Tail(const std::filesystem::path& path, std::size_t lines);

// A child process in its own process group, stdout and stderr appended to `log`.
struct Child {
  std::string name;
  std::filesystem::path log;
  pid_t pid = -1;
  int status = 0;

  // Reaps it if it has exited (true), or when it never started.
  bool Exited();
  // How it ended, in words.
  std::string How() const;
  // SIGTERM, wait up to `timeout`, then SIGKILL.
  void Stop(std::chrono::seconds timeout);
};

// Starts argv[0] (a path) as `child`: own process group, PR_SET_PDEATHSIG SIGTERM, signals
// unblocked, stdin from /dev/null. False if it could not be started.
bool Spawn(Child& child, const std::vector<std::string>& argv);

// Waits up to `ms` for SIGINT, SIGTERM or SIGCHLD (which the caller has blocked); the signal
// number for SIGINT/SIGTERM, else 0.
int WaitSignal(long ms);

// Polls `ready` every 50 ms until it holds (true), `child` exits, SIGINT/SIGTERM arrives (its
// number in `sig`) or `timeout` passes.
template <typename F>
bool WaitFor(Child& child, std::chrono::seconds timeout, int& sig, F ready) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    if (child.Exited()) return false;
    if ((sig = WaitSignal(50)) != 0) return false;
  }
  return ready();
}

}  // namespace tidemark::demo
