// OutboxReader: reads the outbox — the [output] messages StateStore writes in the transaction of
// the message that produced them — oldest first, through a read-only connection of its own
// (opened on first use, kept for the reader's lifetime). Each Read() is one short read
// transaction, so the WAL is never held between batches. Deleting acknowledged rows stays with
// the writer (StateStore::TrimOutbox).
//
// Threading: one thread at a time (the uplink's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/sqlite.h"

namespace tidemark {

struct OutboxRow {
  std::int64_t id = 0;
  std::string topic;
  std::string payload;
};

class OutboxReader {
 public:
  explicit OutboxReader(std::string db_path) : db_path_(std::move(db_path)) {}

  // Appends up to `limit` rows with id > `after` to `rows`, in id order. An error means the
  // database could not be opened or read; the caller retries later.
  Status Read(std::int64_t after, std::int64_t limit, std::vector<OutboxRow>& rows);

 private:
  const std::string db_path_;
  std::optional<sqlite::Database> db_;
  std::optional<sqlite::Statement> next_;  // declared after db_: destroyed before it
};

}  // namespace tidemark
