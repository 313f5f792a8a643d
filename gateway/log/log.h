// Log: one line per event on stderr (docs/DESIGN.md §6). Under systemd (JOURNAL_STREAM set) each
// line starts with a journald priority prefix ("<3>" error ... "<7>" debug) so journalctl
// shows levels; otherwise with an RFC 3339 UTC timestamp and the level name. Thread-safe: any
// thread may log; lines never interleave.
#pragma once

#include <string>
#include <string_view>

namespace tidemark::log {

enum class Level { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// Reads JOURNAL_STREAM once; optionally redirects stderr to `file` (appending). Call from main()
// before other threads start. Returns false (with errno set) if the file cannot be opened.
bool Init(const std::string& file = "");
// Re-opens the log file after rotation (SIGHUP); a no-op when logging to the inherited stderr.
void Reopen();

void Write(Level level, std::string_view message);

inline void Error(std::string_view m) { Write(Level::kError, m); }
inline void Warning(std::string_view m) { Write(Level::kWarning, m); }
inline void Notice(std::string_view m) { Write(Level::kNotice, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }

}  // namespace tidemark::log
