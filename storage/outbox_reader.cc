#include "storage/outbox_reader.h"

namespace tidemark {

Status OutboxReader::Read(std::int64_t after, std::int64_t limit, std::vector<OutboxRow>& rows) {
  if (!next_) {
    auto db = sqlite::Database::OpenReader(db_path_);
    if (!db.ok()) return db.status();
    db_.emplace(std::move(db).value());
    auto q = db_->Prepare("SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?");
    if (!q.ok()) {
      db_.reset();
      return q.status();
    }
    next_.emplace(std::move(q).value());
  }
  sqlite::Statement& q = *next_;
  q.Bind(1, after);
  q.Bind(2, limit);
  for (;;) {
    auto step = q.Step();
    if (!step.ok() || *step == sqlite::StepResult::kDone) break;
    rows.push_back({q.ColumnInt64(0), std::string(q.ColumnText(1)), std::string(q.ColumnBlob(2))});
  }
  q.Reset();  // ends the read transaction
  return Status::Ok();
}

}  // namespace tidemark
