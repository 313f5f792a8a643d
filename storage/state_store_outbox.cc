#include "storage/state_store_internal.h"

namespace tidemark {

using namespace store_internal;
using sqlite::StepResult;

Status StateStore::AppendOutbox(std::string_view topic, std::string_view payload) {
  sqlite::Statement& q = stmts_->insert_outbox;
  q.Bind(1, topic);
  q.Bind(2, payload);
  if (Status s = q.Run(); !s.ok()) return s;
  outbox_pending_ = db_.LastInsertRowId();
  return Status::Ok();
}

StatusOr<std::int64_t> StateStore::OutboxOldest() {
  sqlite::Statement& q = stmts_->outbox_oldest;
  auto step = q.Step();
  if (!step.ok()) return step.status();
  const std::int64_t oldest = q.ColumnInt64(0);
  q.Reset();
  return oldest;
}

Status StateStore::TrimOutbox(std::int64_t acked) {
  sqlite::Statement& q = stmts_->trim_outbox;
  q.Bind(1, acked);
  return q.Run();
}

}  // namespace tidemark
