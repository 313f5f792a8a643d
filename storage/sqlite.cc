#include "storage/sqlite.h"

#include <sqlite3.h>

#include <climits>
#include <string>

namespace tidemark::sqlite {

static_assert(kOk == SQLITE_OK && kFailed == SQLITE_ERROR && kMisused == SQLITE_MISUSE);
static_assert(codes::kOk == SQLITE_OK && codes::kError == SQLITE_ERROR &&
              codes::kBusy == SQLITE_BUSY);
static_assert(codes::kReadOnly == SQLITE_READONLY && codes::kIoErr == SQLITE_IOERR);
static_assert(codes::kCorrupt == SQLITE_CORRUPT && codes::kFull == SQLITE_FULL &&
              codes::kCantOpen == SQLITE_CANTOPEN);
static_assert(codes::kTooBig == SQLITE_TOOBIG && codes::kConstraint == SQLITE_CONSTRAINT);
static_assert(codes::kMisuse == SQLITE_MISUSE && codes::kRange == SQLITE_RANGE &&
              codes::kNotADb == SQLITE_NOTADB);

namespace {

constexpr size_t kMaxQuotedSql = 200;

std::string Quoted(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  text.remove_prefix(start == std::string_view::npos ? text.size() : start);
  std::string out = "\"";
  out.append(text.substr(0, kMaxQuotedSql));
  if (text.size() > kMaxQuotedSql) out.append("...");
  out.append("\"");
  return out;
}

// "<what> <subject>: <sqlite message>". `db` may be null (then the generic text for rc is used).
Status MakeError(sqlite3* db, int rc, std::string_view what, std::string_view subject) {
  std::string message(what);
  if (!subject.empty()) message.append(" ").append(Quoted(subject));
  message.append(": ").append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return {rc, std::move(message)};
}

Status Prefixed(Status status, std::string_view what, std::string_view path) {
  status.message = std::string(what) + " " + Quoted(path) + ": " + status.message;
  return status;
}

std::string_view SqlOf(sqlite3_stmt* stmt) {
  const char* sql = sqlite3_sql(stmt);
  return sql != nullptr ? std::string_view(sql) : std::string_view();
}

}  // namespace

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(std::move(other.bind_error_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }  // No-op on null.

void Statement::Check(int rc, int index) {
  if (rc == SQLITE_OK || !bind_error_.ok()) return;
  bind_error_ = MakeError(sqlite3_db_handle(stmt_), rc, "bind #" + std::to_string(index) + " in",
                          SqlOf(stmt_));
}

void Statement::Bind(int index, int64_t value) {
  Check(sqlite3_bind_int64(stmt_, index, value), index);
}

void Statement::Bind(int index, int value) { Check(sqlite3_bind_int(stmt_, index, value), index); }

void Statement::Bind(int index, double value) {
  Check(sqlite3_bind_double(stmt_, index, value), index);
}

void Statement::Bind(int index, std::string_view text) {
  // A null data pointer would bind NULL; "" keeps an empty string empty.
  const char* data = text.data() != nullptr ? text.data() : "";
  Check(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
}

void Statement::Bind(int index, std::optional<int64_t> value) {
  if (value.has_value()) {
    Bind(index, *value);
  } else {
    BindNull(index);
  }
}

void Statement::Bind(int index, std::optional<double> value) {
  if (value.has_value()) {
    Bind(index, *value);
  } else {
    BindNull(index);
  }
}

void Statement::BindBlob(int index, std::string_view bytes) {
  if (bytes.empty()) {  // A null data pointer would bind NULL, not an empty blob.
    Check(sqlite3_bind_zeroblob(stmt_, index, 0), index);
    return;
  }
  Check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT), index);
}

void Statement::BindBlob(int index, std::span<const std::byte> bytes) {
  BindBlob(index, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void Statement::BindNull(int index) { Check(sqlite3_bind_null(stmt_, index), index); }

StatusOr<StepResult> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return StepResult::kRow;
  if (rc == SQLITE_DONE) return StepResult::kDone;
  Status error = MakeError(sqlite3_db_handle(stmt_), rc, "step", SqlOf(stmt_));
  sqlite3_reset(stmt_);  // Leaves the statement reusable; returns the same error again.
  return error;
}

Status Statement::Run() {
  while (true) {
    StatusOr<StepResult> step = Step();
    if (!step.ok() || *step == StepResult::kDone) {
      Reset();
      return step.status();
    }
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);  // Its return value repeats the last Step() error, already reported.
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }

std::string_view Statement::ColumnText(int index) const {
  // Fetch the pointer before the size, as the SQLite docs require.
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<size_t>(sqlite3_column_bytes(stmt_, index))};
}

std::string_view Statement::ColumnBlob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  if (blob == nullptr) return {};
  return {static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(stmt_, index))};
}

// ---- Database ----

StatusOr<Database> Database::Open(const std::string& path, int flags, std::string_view what) {
  sqlite3* raw = nullptr;
  flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw);  // Closes the handle on every path; SQLite allocates one even on failure.
  if (rc != SQLITE_OK) return MakeError(raw, rc, what, path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

StatusOr<Database> Database::OpenWriter(const std::string& path, Synchronous sync) {
  constexpr std::string_view kWhat = "open writer";
  StatusOr<Database> db = Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kWhat);
  if (!db.ok()) return db;
  // The first statement reads the header, so a non-database file fails here, unmodified.
  StatusOr<std::string> mode = db->QueryText("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return Prefixed(mode.status(), kWhat, path);
  if (*mode != "wal") {
    return Prefixed({codes::kError, "journal_mode is \"" + *mode + "\", want \"wal\""}, kWhat,
                    path);
  }
  Status status = db->Exec(sync == Synchronous::kFull ? "PRAGMA synchronous=FULL"
                                                      : "PRAGMA synchronous=NORMAL");
  if (status.ok()) status = db->Exec("PRAGMA foreign_keys=ON");
  if (!status.ok()) return Prefixed(std::move(status), kWhat, path);
  return db;
}

StatusOr<Database> Database::OpenReader(const std::string& path) {
  constexpr std::string_view kWhat = "open reader";
  StatusOr<Database> db = Open(path, SQLITE_OPEN_READONLY, kWhat);
  if (!db.ok()) return db;
  Status status = db->Exec("PRAGMA query_only=ON");
  // Read the header now so that a non-database file fails at open, not at first query.
  if (status.ok()) status = db->QueryText("PRAGMA schema_version").status();
  if (!status.ok()) return Prefixed(std::move(status), kWhat, path);
  return db;
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

// close_v2 defers the close until outstanding statements are finalized. No-op on null.
Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(std::string_view sql) {
  if (sql.size() > INT_MAX) return {codes::kTooBig, "exec: SQL text too long"};
  while (!sql.empty()) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
    if (rc != SQLITE_OK) return MakeError(db_, rc, "prepare", sql);
    const auto consumed = static_cast<size_t>(tail - sql.data());
    if (stmt == nullptr) {  // Only whitespace or a comment.
      if (consumed == 0) break;
      sql.remove_prefix(consumed);
      continue;
    }
    Statement statement(stmt);
    Status status = statement.Run();
    if (!status.ok()) return status;
    sql.remove_prefix(consumed);
  }
  return Status::Ok();
}

StatusOr<Statement> Database::Prepare(std::string_view sql) {
  if (sql.size() > INT_MAX) return Status{codes::kTooBig, "prepare: SQL text too long"};
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return MakeError(db_, rc, "prepare", sql);
  if (stmt == nullptr)
    return Status{codes::kMisuse, "prepare " + Quoted(sql) + ": no SQL statement"};
  return Statement(stmt);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int Database::Changes() const { return sqlite3_changes(db_); }

StatusOr<std::string> Database::QueryText(std::string_view sql) {
  StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  StatusOr<StepResult> step = stmt->Step();
  if (!step.ok()) return step.status();
  if (*step == StepResult::kDone) return std::string();
  return std::string(stmt->ColumnText(0));
}

Status Database::QuickCheck() {
  StatusOr<std::string> result = QueryText("PRAGMA quick_check(1)");  // Stop at one problem.
  if (!result.ok()) return result.status();
  if (*result == "ok") return Status::Ok();
  return {SQLITE_CORRUPT, "quick_check: " + *result};
}

StatusOr<int> Database::UserVersion() {
  StatusOr<Statement> stmt = Prepare("PRAGMA user_version");
  if (!stmt.ok()) return stmt.status();
  StatusOr<StepResult> step = stmt->Step();
  if (!step.ok()) return step.status();
  if (*step != StepResult::kRow)
    return Status{codes::kError, "PRAGMA user_version returned no row"};
  return static_cast<int>(stmt->ColumnInt64(0));
}

Status Database::SetUserVersion(int version) {
  return Exec("PRAGMA user_version=" + std::to_string(version));
}

// ---- Transaction ----

StatusOr<Transaction> Transaction::Begin(Database& db) {
  Status status = db.Exec("BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  return Transaction(db.raw());
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // A failed COMMIT may already have rolled back (e.g. SQLITE_FULL); only roll back if still open.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::Commit() {
  if (db_ == nullptr) return {codes::kMisuse, "commit: transaction is not active"};
  const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MakeError(db_, rc, "commit", "");
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace tidemark::sqlite
