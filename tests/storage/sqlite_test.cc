#include "storage/sqlite.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace tidemark::sqlite {
namespace {

namespace fs = std::filesystem;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tidemark_sqlite_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  // A writer on a fresh "t.db" with table t(id INTEGER PRIMARY KEY, v).
  Database NewWriterWithTable() {
    StatusOr<Database> db = Database::OpenWriter(PathOf("t.db"));
    EXPECT_TRUE(db.ok()) << db.status().message;
    EXPECT_TRUE(db->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v);").ok());
    return std::move(db).value();
  }

  fs::path dir_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The text of column 0 of the first row of `sql`, or "ERROR: ..." / "NO ROW".
std::string QueryText(Database& db, std::string_view sql) {
  StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return "ERROR: " + stmt.status().message;
  StatusOr<StepResult> step = stmt->Step();
  if (!step.ok()) return "ERROR: " + step.status().message;
  if (*step != StepResult::kRow) return "NO ROW";
  return std::string(stmt->ColumnText(0));
}

TEST_F(SqliteTest, WriterCreatesFileInWalModeWithPragmas) {
  StatusOr<Database> db = Database::OpenWriter(PathOf("new.db"));
  ASSERT_TRUE(db.ok()) << db.status().message;
  EXPECT_TRUE(fs::exists(PathOf("new.db")));
  EXPECT_EQ(QueryText(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryText(*db, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(QueryText(*db, "PRAGMA busy_timeout"), "5000");
}

TEST_F(SqliteTest, SynchronousLevelReadsBack) {
  StatusOr<Database> normal = Database::OpenWriter(PathOf("n.db"), Synchronous::kNormal);
  ASSERT_TRUE(normal.ok()) << normal.status().message;
  EXPECT_EQ(QueryText(*normal, "PRAGMA synchronous"), "1");
  StatusOr<Database> full = Database::OpenWriter(PathOf("f.db"), Synchronous::kFull);
  ASSERT_TRUE(full.ok()) << full.status().message;
  EXPECT_EQ(QueryText(*full, "PRAGMA synchronous"), "2");
}

TEST_F(SqliteTest, PrepareErrorNamesTheSql) {
  Database db = NewWriterWithTable();
  StatusOr<Statement> stmt = db.Prepare("SELEC v FROM t");
  ASSERT_FALSE(stmt.ok());
  EXPECT_EQ(stmt.status().code, SQLITE_ERROR);
  EXPECT_NE(stmt.status().message.find("SELEC v FROM t"), std::string::npos)
      << stmt.status().message;
  EXPECT_NE(stmt.status().message.find("syntax error"), std::string::npos) << stmt.status().message;

  Status exec = db.Exec("INSERT INTO t(v) VALUES (1); SELECT nope FROM t;");
  ASSERT_FALSE(exec.ok());
  EXPECT_NE(exec.message.find("no such column: nope"), std::string::npos) << exec.message;
  EXPECT_NE(exec.message.find("SELECT nope FROM t"), std::string::npos) << exec.message;
}

TEST_F(SqliteTest, BindStepColumnRoundTripsAllTypes) {
  Database db = NewWriterWithTable();
  ASSERT_TRUE(db.Exec("CREATE TABLE all_types(i64, i32, d, txt, blob1, blob2, nul, oi_set, "
                      "oi_empty, od_set, od_empty, empty_txt, empty_blob)")
                  .ok());
  StatusOr<Statement> insert = db.Prepare(
      "INSERT INTO all_types VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13)");
  ASSERT_TRUE(insert.ok()) << insert.status().message;
  const std::string blob("a\0b\0", 4);
  const std::array<std::byte, 3> bytes = {std::byte{0}, std::byte{0xff}, std::byte{7}};
  insert->Bind(1, std::numeric_limits<int64_t>::min());
  insert->Bind(2, -42);
  insert->Bind(3, 0.125);
  insert->Bind(4, std::string_view("h\xc3\xa9llo"));
  insert->BindBlob(5, blob);
  insert->BindBlob(6, std::span<const std::byte>(bytes));
  insert->BindNull(7);
  insert->Bind(8, std::optional<int64_t>(9));
  insert->Bind(9, std::optional<int64_t>());
  insert->Bind(10, std::optional<double>(2.5));
  insert->Bind(11, std::optional<double>());
  insert->Bind(12, std::string_view());
  insert->BindBlob(13, std::string_view());
  ASSERT_TRUE(insert->Run().ok());
  EXPECT_EQ(db.Changes(), 1);

  StatusOr<Statement> select = db.Prepare(
      "SELECT i64, i32, d, txt, blob1, blob2, nul, oi_set, oi_empty, od_set, od_empty, "
      "empty_txt, empty_blob, typeof(blob1), typeof(empty_txt), typeof(empty_blob) "
      "FROM all_types");
  ASSERT_TRUE(select.ok()) << select.status().message;
  StatusOr<StepResult> step = select->Step();
  ASSERT_TRUE(step.ok()) << step.status().message;
  ASSERT_EQ(*step, StepResult::kRow);
  EXPECT_EQ(select->ColumnCount(), 16);
  EXPECT_EQ(select->ColumnInt64(0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(select->ColumnInt64(1), -42);
  EXPECT_EQ(select->ColumnDouble(2), 0.125);
  EXPECT_EQ(select->ColumnText(3), "h\xc3\xa9llo");
  EXPECT_EQ(select->ColumnBlob(4), blob);
  EXPECT_EQ(select->ColumnBlob(4).size(), 4u);
  EXPECT_EQ(select->ColumnBlob(5), std::string_view("\0\xff\x07", 3));
  EXPECT_TRUE(select->ColumnIsNull(6));
  EXPECT_EQ(select->ColumnText(6), "");
  EXPECT_EQ(select->ColumnBlob(6), "");
  EXPECT_FALSE(select->ColumnIsNull(7));
  EXPECT_EQ(select->ColumnInt64(7), 9);
  EXPECT_TRUE(select->ColumnIsNull(8));
  EXPECT_EQ(select->ColumnDouble(9), 2.5);
  EXPECT_TRUE(select->ColumnIsNull(10));
  EXPECT_FALSE(select->ColumnIsNull(11));  // Empty text is not NULL.
  EXPECT_FALSE(select->ColumnIsNull(12));  // Empty blob is not NULL.
  EXPECT_EQ(select->ColumnText(13), "blob");
  EXPECT_EQ(select->ColumnText(14), "text");
  EXPECT_EQ(select->ColumnText(15), "blob");
  step = select->Step();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(*step, StepResult::kDone);
}

TEST_F(SqliteTest, StatementIsReusableAfterResetWhichClearsBindings) {
  Database db = NewWriterWithTable();
  StatusOr<Statement> insert = db.Prepare("INSERT INTO t(v) VALUES (?)");
  ASSERT_TRUE(insert.ok());
  for (int64_t i = 1; i <= 3; ++i) {
    insert->Bind(1, i * 10);
    ASSERT_TRUE(insert->Run().ok());
    EXPECT_EQ(db.LastInsertRowId(), i);
  }
  ASSERT_TRUE(insert->Run().ok());  // Run() reset the bindings: this inserts NULL.

  StatusOr<Statement> select = db.Prepare("SELECT v FROM t WHERE id = ?");
  ASSERT_TRUE(select.ok());
  for (int64_t id = 1; id <= 3; ++id) {
    select->Bind(1, id);
    StatusOr<StepResult> step = select->Step();
    ASSERT_TRUE(step.ok());
    ASSERT_EQ(*step, StepResult::kRow);
    EXPECT_EQ(select->ColumnInt64(0), id * 10);
    select->Reset();
  }
  select->Bind(1, int64_t{4});
  StatusOr<StepResult> step = select->Step();
  ASSERT_TRUE(step.ok());
  ASSERT_EQ(*step, StepResult::kRow);
  EXPECT_TRUE(select->ColumnIsNull(0));
}

TEST_F(SqliteTest, BindErrorIsReportedByStep) {
  Database db = NewWriterWithTable();
  StatusOr<Statement> insert = db.Prepare("INSERT INTO t(v) VALUES (?)");
  ASSERT_TRUE(insert.ok());
  insert->Bind(2, 1);  // Out of range.
  Status status = insert->Run();
  EXPECT_EQ(status.code, SQLITE_RANGE);
  EXPECT_NE(status.message.find("bind #2"), std::string::npos) << status.message;
  insert->Bind(1, 1);  // Reset() by Run() cleared the remembered error.
  EXPECT_TRUE(insert->Run().ok());
}

TEST_F(SqliteTest, StepErrorCarriesExtendedCodeAndStatementStaysUsable) {
  Database db = NewWriterWithTable();
  StatusOr<Statement> insert = db.Prepare("INSERT INTO t(id, v) VALUES (?, 'x')");
  ASSERT_TRUE(insert.ok());
  insert->Bind(1, 1);
  ASSERT_TRUE(insert->Run().ok());
  insert->Bind(1, 1);
  Status dup = insert->Run();
  EXPECT_EQ(dup.code, SQLITE_CONSTRAINT_PRIMARYKEY) << dup.message;
  EXPECT_EQ(dup.primary_code(), codes::kConstraint);
  EXPECT_NE(dup.message.find("INSERT INTO t"), std::string::npos) << dup.message;
  insert->Bind(1, 2);
  EXPECT_TRUE(insert->Run().ok());
}

TEST_F(SqliteTest, TransactionRollsBackOnDestruction) {
  Database db = NewWriterWithTable();
  {
    StatusOr<Transaction> tx = Transaction::Begin(db);
    ASSERT_TRUE(tx.ok()) << tx.status().message;
    ASSERT_TRUE(db.Exec("INSERT INTO t(v) VALUES ('gone')").ok());
    EXPECT_EQ(QueryText(db, "SELECT count(*) FROM t"), "1");
  }
  EXPECT_EQ(QueryText(db, "SELECT count(*) FROM t"), "0");
  EXPECT_NE(sqlite3_get_autocommit(db.raw()), 0);  // No transaction left open.
}

TEST_F(SqliteTest, CommittedTransactionIsVisibleToReader) {
  Database db = NewWriterWithTable();
  {
    StatusOr<Transaction> tx = Transaction::Begin(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.Exec("INSERT INTO t(v) VALUES ('kept')").ok());
    ASSERT_TRUE(tx->Commit().ok());
    EXPECT_EQ(tx->Commit().code, codes::kMisuse);  // Second commit is a bug, reported not crashed.
  }
  StatusOr<Database> reader = Database::OpenReader(PathOf("t.db"));
  ASSERT_TRUE(reader.ok()) << reader.status().message;
  EXPECT_EQ(QueryText(*reader, "SELECT v FROM t"), "kept");
}

TEST_F(SqliteTest, NestedBeginFails) {
  Database db = NewWriterWithTable();
  StatusOr<Transaction> outer = Transaction::Begin(db);
  ASSERT_TRUE(outer.ok());
  StatusOr<Transaction> inner = Transaction::Begin(db);
  EXPECT_FALSE(inner.ok());
}

TEST_F(SqliteTest, ReaderCannotWrite) {
  Database db = NewWriterWithTable();
  StatusOr<Database> reader = Database::OpenReader(PathOf("t.db"));
  ASSERT_TRUE(reader.ok()) << reader.status().message;
  Status status = reader->Exec("INSERT INTO t(v) VALUES (1)");
  EXPECT_EQ(status.primary_code(), codes::kReadOnly) << status.code << " " << status.message;
  EXPECT_EQ(QueryText(db, "SELECT count(*) FROM t"), "0");
}

TEST_F(SqliteTest, ReaderSeesCommittedButNotUncommittedWrites) {
  Database db = NewWriterWithTable();
  ASSERT_TRUE(db.Exec("INSERT INTO t(v) VALUES ('committed')").ok());
  StatusOr<Database> reader = Database::OpenReader(PathOf("t.db"));
  ASSERT_TRUE(reader.ok()) << reader.status().message;

  StatusOr<Transaction> tx = Transaction::Begin(db);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(db.Exec("INSERT INTO t(v) VALUES ('pending'); INSERT INTO t(v) VALUES ('p2')").ok());
  EXPECT_EQ(QueryText(*reader, "SELECT count(*) FROM t"), "1");  // Not blocked, old snapshot.
  EXPECT_EQ(QueryText(*reader, "SELECT v FROM t"), "committed");
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(QueryText(*reader, "SELECT count(*) FROM t"), "3");
}

TEST_F(SqliteTest, UserVersionRoundTripsAndPersists) {
  {
    Database db = NewWriterWithTable();
    StatusOr<int> version = db.UserVersion();
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(*version, 0);
    ASSERT_TRUE(db.SetUserVersion(7).ok());
    version = db.UserVersion();
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(*version, 7);
  }
  StatusOr<Database> reopened = Database::OpenWriter(PathOf("t.db"));
  ASSERT_TRUE(reopened.ok());
  StatusOr<int> version = reopened->UserVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 7);
}

TEST_F(SqliteTest, QuickCheckIsOkOnAGoodFile) {
  Database db = NewWriterWithTable();
  ASSERT_TRUE(db.Exec("INSERT INTO t(v) VALUES (1), (2), (3)").ok());
  Status status = db.QuickCheck();
  EXPECT_TRUE(status.ok()) << status.message;
}

TEST_F(SqliteTest, QuickCheckReportsCorruptionAsCorrupt) {
  {
    Database db = NewWriterWithTable();
    ASSERT_TRUE(db.Exec("CREATE INDEX tv ON t(v)").ok());
    StatusOr<Transaction> tx = Transaction::Begin(db);
    ASSERT_TRUE(tx.ok());
    StatusOr<Statement> insert = db.Prepare("INSERT INTO t(v) VALUES (?)");
    ASSERT_TRUE(insert.ok());
    for (int i = 0; i < 2000; ++i) {
      insert->Bind(1, "value-" + std::to_string(i));
      ASSERT_TRUE(insert->Run().ok());
    }
    ASSERT_TRUE(tx->Commit().ok());
  }  // Closing the last connection checkpoints the WAL into the main file.
  {
    std::fstream file(PathOf("t.db"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096 * 5 + 100);  // Inside page 6, a b-tree page with these rows.
    const std::string junk(200, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  StatusOr<Database> db = Database::OpenWriter(PathOf("t.db"));
  ASSERT_TRUE(db.ok()) << db.status().message;
  Status status = db->QuickCheck();
  EXPECT_EQ(status.primary_code(), codes::kCorrupt) << status.message;
  EXPECT_FALSE(status.message.empty());
}

TEST_F(SqliteTest, GarbageFileFailsWithNotADbAndIsLeftUnchanged) {
  const std::string path = PathOf("garbage.db");
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) % 251));
  { std::ofstream(path, std::ios::binary) << garbage; }

  StatusOr<Database> writer = Database::OpenWriter(path);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code, SQLITE_NOTADB) << writer.status().message;
  EXPECT_NE(writer.status().message.find(path), std::string::npos) << writer.status().message;
  EXPECT_NE(writer.status().message.find("not a database"), std::string::npos)
      << writer.status().message;

  StatusOr<Database> reader = Database::OpenReader(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code, SQLITE_NOTADB) << reader.status().message;

  EXPECT_EQ(ReadFile(path), garbage);
  EXPECT_FALSE(fs::exists(path + "-wal"));
}

TEST_F(SqliteTest, ReaderOnMissingFileFailsClearly) {
  const std::string path = PathOf("missing.db");
  StatusOr<Database> reader = Database::OpenReader(path);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().primary_code(), codes::kCantOpen) << reader.status().message;
  EXPECT_NE(reader.status().message.find(path), std::string::npos) << reader.status().message;
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(SqliteTest, ReaderOpensAfterWriterClosed) {
  { Database db = NewWriterWithTable(); }
  StatusOr<Database> reader = Database::OpenReader(PathOf("t.db"));
  ASSERT_TRUE(reader.ok()) << reader.status().message;
  EXPECT_EQ(QueryText(*reader, "SELECT count(*) FROM t"), "0");
}

TEST_F(SqliteTest, DatabaseAndStatementMove) {
  Database db = NewWriterWithTable();
  Database moved = std::move(db);
  StatusOr<Statement> insert = moved.Prepare("INSERT INTO t(v) VALUES (?)");
  ASSERT_TRUE(insert.ok());
  Statement stmt = std::move(insert).value();
  stmt.Bind(1, 1.5);
  ASSERT_TRUE(stmt.Run().ok());
  EXPECT_EQ(QueryText(moved, "SELECT v FROM t"), "1.5");
}

}  // namespace
}  // namespace tidemark::sqlite
