// tidemark::sqlite: a thin RAII layer over the SQLite C API, so the rest of storage/ never
// touches raw handles, forgets a finalize, or loses an error code. Nothing here throws: every
// fallible call returns a Status (no value) or a StatusOr<T> (value or Status), and both are
// [[nodiscard]]. Status::code is the SQLite *extended* result code, so callers can tell
// SQLITE_FULL / SQLITE_IOERR / SQLITE_CORRUPT / SQLITE_NOTADB / SQLITE_BUSY apart (compare
// primary_code() with sqlite::codes::k* below, or include <sqlite3.h> for extended codes).
//
// Threading contract: connections are opened with SQLITE_OPEN_NOMUTEX, so a Database and the
// Statements and Transactions made from it belong to one thread at a time (or to callers that
// serialize access with their own lock). There is exactly one writer connection, used only by
// the ingest thread; readers are separate connections, one per HTTP worker (or one guarded by a
// mutex). WAL mode gives each reader a consistent snapshot while the writer works.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "engine/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tidemark::sqlite {

// Primary SQLite result codes callers commonly branch on (checked against <sqlite3.h> in
// sqlite.cc). Compare with Status::primary_code().
namespace codes {
inline constexpr int kOk = 0;
inline constexpr int kError = 1;
inline constexpr int kBusy = 5;
inline constexpr int kReadOnly = 8;
inline constexpr int kIoErr = 10;
inline constexpr int kCorrupt = 11;
inline constexpr int kFull = 13;
inline constexpr int kCantOpen = 14;
inline constexpr int kTooBig = 18;
inline constexpr int kConstraint = 19;
inline constexpr int kMisuse = 21;
inline constexpr int kRange = 25;
inline constexpr int kNotADb = 26;
}  // namespace codes

// Every fallible call returns tidemark's Status / StatusOr (engine/status.h); `code` is the
// SQLite extended result code and `message` carries sqlite3_errmsg plus the SQL text or file
// name involved.
using tidemark::Status;
using tidemark::StatusOr;

enum class Synchronous { kNormal, kFull };
enum class StepResult { kRow, kDone };

// A prepared statement; reusable via Reset(). Made by Database::Prepare. Must not be used after
// its Database is destroyed (destroying it afterwards is fine).
//
// Binding: indexes are 1-based. Bind* calls return nothing; the first bind failure (bad index,
// too big) is remembered and returned by the next Step()/Run(), so it cannot be missed. Text and
// blobs are copied (SQLITE_TRANSIENT): the argument need not outlive the call. Empty text and
// empty blobs bind as empty values, not NULL.
//
// Column getters take 0-based indexes and are valid after Step() returned kRow. Views returned by
// ColumnText/ColumnBlob stay valid until the next Step(), Reset() or destruction.
class Statement {
 public:
  Statement() = default;  // empty until assigned from Database::Prepare
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  void Bind(int index, int64_t value);
  void Bind(int index, int value);
  void Bind(int index, double value);
  void Bind(int index, std::string_view text);         // UTF-8 text.
  void Bind(int index, std::optional<int64_t> value);  // NULL when empty.
  void Bind(int index, std::optional<double> value);   // NULL when empty.
  void BindBlob(int index, std::string_view bytes);
  void BindBlob(int index, std::span<const std::byte> bytes);
  void BindNull(int index);

  // kRow: a row is available; kDone: finished. On error the statement is reset (bindings kept).
  StatusOr<StepResult> Step();
  // For INSERT/UPDATE/DELETE: steps until done (discarding any rows), then Reset().
  Status Run();
  // Rewinds the statement and clears all bindings and any remembered bind error.
  void Reset();

  int ColumnCount() const;
  bool ColumnIsNull(int index) const;
  int64_t ColumnInt64(int index) const;
  double ColumnDouble(int index) const;
  std::string_view ColumnText(int index) const;  // Empty for NULL.
  std::string_view ColumnBlob(int index) const;  // Empty for NULL.

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  friend class Database;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  void Check(int rc, int index);

  sqlite3_stmt* stmt_ = nullptr;
  Status bind_error_;
};

// Owns one connection. Move-only; closing happens in the destructor.
class Database {
 public:
  // Read-write, created if missing; journal_mode=WAL, the given synchronous level,
  // foreign_keys=ON, 5 s busy timeout. A file that is not a database fails with codes::kNotADb and
  // is left untouched.
  static StatusOr<Database> OpenWriter(const std::string& path,
                                       Synchronous sync = Synchronous::kFull);
  // Read-only (SQLITE_OPEN_READONLY + query_only=ON), 5 s busy timeout. The file must exist.
  static StatusOr<Database> OpenReader(const std::string& path);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs zero or more ';'-separated statements, discarding result rows.
  Status Exec(std::string_view sql);
  // Compiles the first statement in `sql` (any tail is ignored).
  StatusOr<Statement> Prepare(std::string_view sql);

  int64_t LastInsertRowId() const;
  int Changes() const;  // Rows changed by the most recent INSERT/UPDATE/DELETE.
  sqlite3* raw() const { return db_; }

  // PRAGMA quick_check: Ok, or codes::kCorrupt with the first reported problem.
  Status QuickCheck();
  StatusOr<int> UserVersion();
  Status SetUserVersion(int version);

  static constexpr int kBusyTimeoutMs = 5000;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  static StatusOr<Database> Open(const std::string& path, int flags, std::string_view what);
  // First column of the first row of `sql` as text (empty if there is no row).
  StatusOr<std::string> QueryText(std::string_view sql);

  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE on construction (via Begin); ROLLBACK in the destructor unless Commit()
// succeeded. The Database must outlive the Transaction.
class Transaction {
 public:
  static StatusOr<Transaction> Begin(Database& db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // On failure the transaction (if SQLite kept it open) is rolled back by the destructor.
  Status Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;  // Null once committed or moved from.
};

}  // namespace tidemark::sqlite
