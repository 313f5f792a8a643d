// The database schema and its migrations, tracked in PRAGMA user_version. Migrate() brings a
// database of any older version up to kSchemaVersion in one transaction; a newer one is refused.
// Called once at open by StateStore, on the writer connection.
#pragma once

#include "storage/sqlite.h"

namespace tidemark {

inline constexpr int kSchemaVersion = 8;

// Applies the migrations after the database's user_version, up to `target` (tests use an
// older target to build an old database).
Status Migrate(sqlite::Database& db, int target = kSchemaVersion);

}  // namespace tidemark
