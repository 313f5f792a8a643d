// PipelineSpec: one configured pipeline — its window, watermark, idle close, time mode and
// aggregates (docs/DESIGN.md §2). A value type; ValidatePipeline() is the one check every producer
// (config loader, tests) runs before building an operator.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/aggregate.h"
#include "engine/status.h"
#include "engine/window.h"

namespace tidemark {

enum class WatermarkScope : std::uint8_t { kDevice, kGlobal };
enum class TimeMode : std::uint8_t { kEvent, kProcessing };

struct PipelineSpec {
  std::string name;
  WindowSpec window;
  Millis watermark_delay = 0;
  WatermarkScope scope = WatermarkScope::kDevice;
  Millis idle_timeout =
      0;  // processing time without records before a device's windows close; 0 = off
  TimeMode time = TimeMode::kEvent;
  bool dedup = true;  // count a record identical to one already counted once
  std::vector<AggregateSpec> aggregates;
};

// Empty when the spec is usable; otherwise what is wrong, naming the pipeline.
std::optional<Error> ValidatePipeline(const PipelineSpec& spec);

// A window's values (one per aggregate, in spec order) as a JSON object text keyed by alias:
// {"avg_temp":21.5,"readings":3}; null for SQL null (and non-finite values); counts as
// integers. The form storage/ keeps in windows.vals and the HTTP API, the stream and [output]
// serve. Aliases are plain names (ParseAggregate checks them); '"' and '\\' are escaped anyway.
std::string ValuesJson(const PipelineSpec& spec, const std::vector<std::optional<double>>& values);

// Every distinct field the pipelines' aggregates read, in first-seen order (what the record
// decoder extracts and the engine checks is numeric).
std::vector<std::string> FieldsRead(const std::vector<PipelineSpec>& pipelines);
// True when any pipeline uses event time, i.e. records need an event time.
bool UsesEventTime(const std::vector<PipelineSpec>& pipelines);

}  // namespace tidemark
