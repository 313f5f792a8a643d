#include "engine/engine.h"

#include <algorithm>

namespace tidemark {

Engine::Engine(std::vector<PipelineSpec> pipelines, const Clock& clock, EngineOptions options)
    : clock_(clock),
      options_(options),
      fields_read_(FieldsRead(pipelines)),
      uses_event_time_(UsesEventTime(pipelines)) {
  for (PipelineSpec& spec : pipelines) {
    operators_.emplace_back(std::move(spec), static_cast<std::uint32_t>(operators_.size()));
  }
  outcomes_.resize(operators_.size());
}

std::optional<RejectReason> Engine::Validate(const Record& r, Millis arrival) const {
  if (r.device.empty()) return RejectReason::kMissingDevice;
  if (!InTimeRange(arrival)) return RejectReason::kBadTime;  // a broken clock or replay row
  if (uses_event_time_) {
    if (!InTimeRange(r.event_time)) return RejectReason::kBadTime;
    if (options_.max_future_skew && r.event_time - arrival > *options_.max_future_skew) {
      return RejectReason::kFutureTime;
    }
  }
  for (const std::string& field : fields_read_) {
    const FieldValue* f = r.Find(field);
    if (f != nullptr && !f->IsFiniteNumber()) return RejectReason::kBadValue;
  }
  return std::nullopt;
}

IngestResult Engine::Process(const Record& record, Output& out) {
  return ProcessAt(record, clock_.Now(), out);
}

IngestResult Engine::ProcessAt(const Record& record, Millis arrival, Output& out) {
  if (auto reason = Validate(record, arrival)) {
    CountRejected(*reason, record.device, arrival);
    return {reason, {}};
  }
  ++total_;
  const DeviceId id = devices_.Intern(record.device);
  DeviceStats& stats = devices_.stats(id);
  ++stats.records;
  stats.last_event_time = record.event_time;
  stats.last_arrival_time = arrival;
  const std::uint64_t seq = next_seq_++;
  for (std::size_t i = 0; i < operators_.size(); ++i) {
    outcomes_[i] = operators_[i].Process(record, id, arrival, seq, out);
  }
  return {std::nullopt, outcomes_};
}

void Engine::CountRejected(RejectReason reason, std::string_view device, Millis arrival) {
  ++total_;
  ++rejected_[static_cast<std::size_t>(reason)];
  if (device.empty()) return;
  DeviceStats& stats = devices_.stats(devices_.Intern(device));
  ++stats.records;
  ++stats.rejected;
  stats.last_arrival_time = arrival;
}

void Engine::Tick(Output& out) { TickAt(clock_.Now(), out); }

void Engine::TickAt(Millis now, Output& out) {
  for (WindowOperator& op : operators_) op.AdvanceProcessingTime(now, out);
}

EngineSnapshot Engine::Snapshot() const {
  EngineSnapshot s{next_seq_, total_, rejected_, devices_.all(), {}, {}};
  for (const WindowOperator& op : operators_) {
    s.pipeline_names.push_back(op.spec().name);
    s.pipelines.push_back(op.Snapshot());
  }
  return s;
}

std::vector<std::string> Engine::Restore(const EngineSnapshot& s) {
  devices_ = DeviceTable();
  for (const DeviceStats& d : s.devices) devices_.stats(devices_.Intern(d.device)) = d;
  next_seq_ = s.next_seq;
  total_ = s.total;
  rejected_ = s.rejected;
  auto intern = [this](std::string_view device) { return devices_.Intern(device); };
  std::vector<std::string> ignored;
  for (WindowOperator& op : operators_) op.Restore(OperatorSnapshot{}, intern);
  for (std::size_t i = 0; i < s.pipelines.size() && i < s.pipeline_names.size(); ++i) {
    auto it = std::find_if(operators_.begin(), operators_.end(), [&](const WindowOperator& op) {
      return op.spec().name == s.pipeline_names[i];
    });
    if (it == operators_.end()) {
      ignored.push_back(s.pipeline_names[i]);
    } else {
      it->Restore(s.pipelines[i], intern);
    }
  }
  return ignored;
}

}  // namespace tidemark
