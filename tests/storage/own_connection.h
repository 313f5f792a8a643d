// OwnConnection: a test's own read-write connection to a store's file, opened on first use, to
// look at (or damage) what is on disk beside the StateStore's writer — never through it.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "storage/sqlite.h"

namespace tidemark {

class OwnConnection {
 public:
  sqlite::Database& To(const std::string& path) {
    if (!db_) {
      auto db = sqlite::Database::OpenWriter(path);
      EXPECT_TRUE(db.ok()) << db.status().message;
      db_.emplace(std::move(db).value());
    }
    return *db_;
  }
  void Close() { db_.reset(); }

 private:
  std::optional<sqlite::Database> db_;
};

}  // namespace tidemark
