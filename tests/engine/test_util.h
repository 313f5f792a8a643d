// Helpers shared by the engine tests: building pipeline specs and records tersely.
#pragma once

#include <string>
#include <vector>

#include "engine/engine.h"

namespace tidemark::testing {

inline PipelineSpec MakeSpec(std::string name, WindowSpec window, Millis watermark,
                             std::vector<std::pair<std::string, std::string>> aggregates,
                             WatermarkScope scope = WatermarkScope::kDevice) {
  PipelineSpec p;
  p.name = std::move(name);
  p.window = window;
  p.watermark_delay = watermark;
  p.scope = scope;
  for (const auto& [alias, expr] : aggregates) p.aggregates.push_back(*ParseAggregate(alias, expr));
  return p;
}

// Owns a record's strings and fields so a Record view can point into it.
struct OwnedRecord {
  std::string device;
  Millis event_time = 0;
  std::uint64_t payload_hash = 0;
  std::vector<std::pair<std::string, std::optional<double>>> values;  // nullopt: not a number
  mutable std::vector<FieldValue> fields;

  OwnedRecord(std::string dev, Millis t,
              std::vector<std::pair<std::string, std::optional<double>>> vals = {},
              std::uint64_t hash = 0)
      : device(std::move(dev)), event_time(t), payload_hash(hash), values(std::move(vals)) {
    if (payload_hash == 0) payload_hash = std::hash<std::string>{}(device + std::to_string(t));
  }
  Record view() const {
    fields.clear();
    for (const auto& [name, v] : values) fields.push_back({name, v.value_or(0), v.has_value()});
    return Record{device, event_time, payload_hash, fields};
  }
};

}  // namespace tidemark::testing
