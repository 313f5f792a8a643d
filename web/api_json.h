// JSON shapes of the HTTP API (the README's "HTTP API and dashboard"): times as RFC 3339 UTC
// strings, windows, late-log rows, rejected samples, pipelines with their output schema, and opaque
// page tokens. Pure functions: safe from any thread. The gateway also formats SSE events and
// [output] messages with WindowJsonText, so every window anywhere has one shape.
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

// The window object as JSON text, written directly (no JSON tree: a page of windows is the
// API's hottest reply): {"pipeline":..,"device":..,"start":..,"end":..,"status":..,
// ["closed_by":..,"closed_at":..,]"records":..,"values":{..}}.
std::string WindowJsonText(const WindowRow& w);
nlohmann::ordered_json LateJson(const LateRow& l);
nlohmann::ordered_json RejectedJson(const RejectedRow& r);
// name, window {type, size, slide, offset, gap}, watermark, watermark_scope, idle_timeout,
// time, dedup, aggregates {alias: expression}, schema [{name, type}] (Spark's printSchema()).
nlohmann::ordered_json PipelineJson(const PipelineSpec& spec);

// Page tokens: base64url of a small JSON array; opaque to clients. Decode returns nullopt for
// anything this server did not make.
std::string EncodePageToken(const nlohmann::ordered_json& key);
std::optional<nlohmann::ordered_json> DecodePageToken(std::string_view token);

}  // namespace tidemark::web
