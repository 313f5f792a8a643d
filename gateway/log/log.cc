#include "gateway/log/log.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "engine/time.h"

namespace tidemark::log {
namespace {

std::mutex mu;
bool journal = false;
std::string log_file;

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kError:
      return "error";
    case Level::kWarning:
      return "warning";
    case Level::kNotice:
      return "notice";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "info";
}

bool OpenFile() {
  return log_file.empty() || std::freopen(log_file.c_str(), "a", stderr) != nullptr;
}

}  // namespace

bool Init(const std::string& file) {
  std::lock_guard lock(mu);
  journal = std::getenv("JOURNAL_STREAM") != nullptr && file.empty();
  log_file = file;
  return OpenFile();
}

void Reopen() {
  std::lock_guard lock(mu);
  if (!OpenFile()) log_file.clear();  // keep writing wherever stderr now points
}

void Write(Level level, std::string_view message) {
  std::string line;
  if (journal) {
    line = "<" + std::to_string(static_cast<int>(level)) + ">";
  } else {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    line = FormatRfc3339(now) + " " + std::string(LevelName(level)) + " ";
  }
  line.append(message);
  for (char& c : line) {
    if (c == '\n') c = ' ';  // one line per event
  }
  line += '\n';
  std::lock_guard lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace tidemark::log
