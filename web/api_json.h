// JSON shapes of the HTTP API (issue 5's contract): times as RFC 3339 UTC strings, windows,
// late-log rows, rejected samples, pipelines with their output schema, and opaque page tokens.
// Pure functions: safe from any thread. The gateway also formats SSE events with WindowJson.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "engine/pipeline.h"
#include "web/api_data.h"

namespace tidemark::web {

// "2026-11-25T12:00:00Z" (milliseconds when not whole seconds); null for none / kNoTime.
nlohmann::ordered_json TimeJson(std::optional<Millis> t);

nlohmann::ordered_json WindowJson(const WindowItem& w);
nlohmann::ordered_json LateJson(const LateItem& l);
nlohmann::ordered_json RejectedJson(const RejectedItem& r);
// name, window {type, size, slide, offset, gap}, watermark, watermark_scope, idle_timeout,
// time, dedup, aggregates {alias: expression}, schema [{name, type}] (Spark's printSchema()).
nlohmann::ordered_json PipelineJson(const PipelineSpec& spec);

// A window's values as a JSON object text, {"avg_temp":21.5,"readings":3}, null for SQL null
// (the same text storage/ writes to windows.vals).
std::string ValuesJsonText(const PipelineSpec& spec, const std::vector<std::optional<double>>& v);

// Page tokens: base64url of a small JSON array; opaque to clients. Decode returns nullopt for
// anything this server did not make.
std::string EncodePageToken(const nlohmann::ordered_json& key);
std::optional<nlohmann::ordered_json> DecodePageToken(std::string_view token);

}  // namespace tidemark::web
