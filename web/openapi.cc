// The OpenAPI 3 document of the HTTP API. tests/web/http_api_test.cc validates real responses
// of every endpoint against the schemas below, so the document cannot drift from the server.
#include "web/server.h"

namespace tidemark::web {

const std::string& OpenApiDocument() {
  static const std::string kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "tidemark",
    "version": "1",
    "description": "Event-time window aggregates for MQTT devices. Times are RFC 3339 UTC strings (milliseconds when not whole seconds). Errors are application/problem+json. Lists are paged: pass next_page_token back as page_token; it is absent on the last page. Unknown parameters are rejected with 400. When http.token_file is set, every path but /, /assets/*, /livez and /readyz needs 'Authorization: Bearer <token>'."
  },
  "servers": [{"url": "/"}],
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "page_size": {"name": "page_size", "in": "query", "description": "1..1000, default 100", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
      "page_token": {"name": "page_token", "in": "query", "description": "next_page_token of the previous page", "schema": {"type": "string"}},
      "pipeline": {"name": "pipeline", "in": "query", "schema": {"type": "string"}},
      "device": {"name": "device", "in": "query", "schema": {"type": "string"}}
    },
    "responses": {
      "BadRequest": {"description": "bad parameter", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Unauthorized": {"description": "missing or wrong bearer token", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Time": {"type": "string", "format": "date-time", "example": "2026-11-25T12:00:00Z"},
      "NullableTime": {"type": "string", "format": "date-time", "nullable": true},
      "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}
      },
      "Window": {
        "type": "object", "required": ["pipeline", "device", "start", "end", "status", "records", "values"],
        "properties": {
          "pipeline": {"type": "string"},
          "device": {"type": "string"},
          "start": {"$ref": "#/components/schemas/Time"},
          "end": {"$ref": "#/components/schemas/Time"},
          "status": {"type": "string", "enum": ["open", "final"]},
          "closed_by": {"type": "string", "enum": ["watermark", "idle"], "description": "final windows only"},
          "closed_at": {"$ref": "#/components/schemas/NullableTime"},
          "records": {"type": "integer", "description": "records counted into the window"},
          "values": {"type": "object", "description": "alias -> value; null when the aggregate saw no value", "additionalProperties": {"type": "number", "nullable": true}}
        }
      },
      "WindowPage": {
        "type": "object", "required": ["windows"],
        "properties": {"windows": {"type": "array", "items": {"$ref": "#/components/schemas/Window"}}, "next_page_token": {"type": "string"}}
      },
      "DevicePipeline": {
        "type": "object", "required": ["watermark", "records", "late", "duplicates"],
        "properties": {"watermark": {"$ref": "#/components/schemas/NullableTime"}, "records": {"type": "integer"}, "late": {"type": "integer"}, "duplicates": {"type": "integer"}}
      },
      "Device": {
        "type": "object", "required": ["device", "last_event_time", "last_arrival_time", "lag_ms", "records", "late", "rejected", "pipelines"],
        "properties": {
          "device": {"type": "string"},
          "last_event_time": {"$ref": "#/components/schemas/NullableTime"},
          "last_arrival_time": {"$ref": "#/components/schemas/NullableTime"},
          "lag_ms": {"type": "integer", "nullable": true, "description": "arrival minus event time of the device's latest record"},
          "records": {"type": "integer", "description": "messages with this device id, rejected ones included"},
          "late": {"type": "integer", "description": "late records over all pipelines"},
          "rejected": {"type": "integer"},
          "pipelines": {"type": "object", "description": "pipeline name -> the device's progress there (watermark: the device's scope watermark)", "additionalProperties": {"$ref": "#/components/schemas/DevicePipeline"}}
        }
      },
      "DevicePage": {
        "type": "object", "required": ["devices", "as_of"],
        "properties": {"devices": {"type": "array", "items": {"$ref": "#/components/schemas/Device"}}, "next_page_token": {"type": "string"}, "as_of": {"$ref": "#/components/schemas/NullableTime"}}
      },
      "PipelineState": {
        "type": "object", "required": ["name", "watermark", "open_windows", "final_windows", "state_bytes", "records", "late", "duplicates", "evicted"],
        "properties": {
          "name": {"type": "string"},
          "watermark": {"$ref": "#/components/schemas/NullableTime"},
          "open_windows": {"type": "integer"},
          "final_windows": {"type": "integer", "description": "windows made final since the state was created"},
          "state_bytes": {"type": "integer"},
          "records": {"type": "integer"},
          "late": {"type": "integer"},
          "duplicates": {"type": "integer"},
          "evicted": {"type": "integer"}
        }
      },
      "State": {
        "type": "object", "required": ["as_of", "records", "pipelines", "rejected", "rejected_total", "messages", "redeliveries", "storage", "mqtt", "clock"],
        "properties": {
          "as_of": {"$ref": "#/components/schemas/NullableTime"},
          "records": {"type": "integer"},
          "pipelines": {"type": "array", "items": {"$ref": "#/components/schemas/PipelineState"}},
          "rejected": {"type": "object", "additionalProperties": {"type": "integer"}},
          "rejected_total": {"type": "integer"},
          "messages": {"type": "integer"},
          "redeliveries": {"type": "integer"},
          "storage": {
            "type": "object", "required": ["db_bytes", "ok", "last_commit", "commits", "commit_latency_ms", "errors"],
            "properties": {
              "db_bytes": {"type": "integer", "nullable": true},
              "ok": {"type": "boolean"},
              "last_commit": {"$ref": "#/components/schemas/NullableTime"},
              "commits": {"type": "integer"},
              "commit_latency_ms": {"type": "object", "properties": {"mean": {"type": "number", "nullable": true}, "p50": {"type": "number", "nullable": true}, "p99": {"type": "number", "nullable": true}}},
              "errors": {"type": "integer"}
            }
          },
          "mqtt": {"type": "object", "required": ["connected"], "properties": {"connected": {"type": "boolean"}}},
          "clock": {"type": "object", "description": "the gateway's wall clock against the database: while now is earlier than newest_commit (clock not set yet, or set back) messages are held unacknowledged and /readyz is 503", "required": ["ok", "now", "newest_commit"], "properties": {"ok": {"type": "boolean"}, "now": {"$ref": "#/components/schemas/NullableTime"}, "newest_commit": {"$ref": "#/components/schemas/NullableTime"}}},
          "output": {"type": "object", "description": "with [output] only", "required": ["connected", "pending", "published"], "properties": {"connected": {"type": "boolean"}, "pending": {"type": "integer", "description": "outbox messages not yet acknowledged upstream"}, "published": {"type": "integer"}, "set_aside": {"type": "integer", "description": "outbox messages the upstream broker refused 3 times in a row (an MQTT 5 PUBACK failure reason), logged and skipped"}}}
        }
      },
      "Late": {
        "type": "object", "required": ["pipeline", "device", "event_time", "arrival_time", "watermark", "window_start", "window_end"],
        "properties": {
          "pipeline": {"type": "string"}, "device": {"type": "string"},
          "event_time": {"$ref": "#/components/schemas/Time"},
          "arrival_time": {"$ref": "#/components/schemas/Time"},
          "watermark": {"$ref": "#/components/schemas/NullableTime"},
          "window_start": {"$ref": "#/components/schemas/Time"},
          "window_end": {"$ref": "#/components/schemas/Time"}
        }
      },
      "LatePage": {
        "type": "object", "required": ["late"],
        "properties": {"late": {"type": "array", "items": {"$ref": "#/components/schemas/Late"}}, "next_page_token": {"type": "string"}}
      },
      "Rejected": {
        "type": "object", "required": ["reason", "topic", "device", "arrival_time", "detail", "payload"],
        "properties": {
          "reason": {"type": "string", "enum": ["not_json", "missing_device", "missing_time", "bad_time", "bad_value", "future_time", "too_large", "bad_device"]},
          "topic": {"type": "string"},
          "device": {"type": "string", "nullable": true},
          "arrival_time": {"$ref": "#/components/schemas/Time"},
          "detail": {"type": "string"},
          "payload": {"type": "string", "description": "the first 1 KiB of the payload"}
        }
      },
      "RejectedPage": {
        "type": "object", "required": ["rejected"],
        "properties": {"rejected": {"type": "array", "items": {"$ref": "#/components/schemas/Rejected"}}, "next_page_token": {"type": "string"}}
      },
      "Pipeline": {
        "type": "object", "required": ["name", "window", "watermark", "watermark_scope", "idle_timeout", "time", "dedup", "aggregates", "schema"],
        "properties": {
          "name": {"type": "string"},
          "window": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "enum": ["tumbling", "sliding", "session"]}, "size": {"type": "string"}, "slide": {"type": "string"}, "offset": {"type": "string"}, "gap": {"type": "string"}}},
          "watermark": {"type": "string"},
          "watermark_scope": {"type": "string", "enum": ["device", "global"]},
          "idle_timeout": {"type": "string"},
          "time": {"type": "string", "enum": ["event", "processing"]},
          "dedup": {"type": "boolean"},
          "aggregates": {"type": "object", "additionalProperties": {"type": "string"}},
          "schema": {"type": "array", "items": {"type": "object", "required": ["name", "type"], "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "nullable": {"type": "boolean"}}}}
        }
      },
      "PipelinePage": {
        "type": "object", "required": ["pipelines"],
        "properties": {"pipelines": {"type": "array", "items": {"$ref": "#/components/schemas/Pipeline"}}}
      }
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/api/v1/windows": {
      "get": {
        "summary": "Window results, ordered by pipeline, device, start. Final windows as they closed; open windows with their provisional values as of the last checkpoint.",
        "parameters": [
          {"$ref": "#/components/parameters/pipeline"},
          {"$ref": "#/components/parameters/device"},
          {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "final"]}},
          {"name": "from", "in": "query", "description": "window start >= from (RFC 3339 or epoch ms)", "schema": {"type": "string"}},
          {"name": "to", "in": "query", "description": "window start < to (RFC 3339 or epoch ms)", "schema": {"type": "string"}},
          {"$ref": "#/components/parameters/page_size"},
          {"$ref": "#/components/parameters/page_token"}
        ],
        "responses": {"200": {"description": "a page of windows", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WindowPage"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/devices": {
      "get": {
        "summary": "Devices by name, with lag, counts and per-pipeline watermarks (live, at most a second old).",
        "parameters": [{"$ref": "#/components/parameters/device"}, {"$ref": "#/components/parameters/page_size"}, {"$ref": "#/components/parameters/page_token"}],
        "responses": {"200": {"description": "a page of devices", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DevicePage"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/state": {
      "get": {
        "summary": "Per-pipeline state metrics, rejected counts by reason, storage and MQTT figures.",
        "responses": {"200": {"description": "state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/State"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/late": {
      "get": {
        "summary": "The late-data log, newest first.",
        "parameters": [{"$ref": "#/components/parameters/pipeline"}, {"$ref": "#/components/parameters/device"}, {"$ref": "#/components/parameters/page_size"}, {"$ref": "#/components/parameters/page_token"}],
        "responses": {"200": {"description": "a page of late records", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LatePage"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/rejected": {
      "get": {
        "summary": "Rejected-record samples, newest first.",
        "parameters": [{"name": "reason", "in": "query", "schema": {"type": "string"}}, {"$ref": "#/components/parameters/page_size"}, {"$ref": "#/components/parameters/page_token"}],
        "responses": {"200": {"description": "a page of samples", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RejectedPage"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/pipelines": {
      "get": {
        "summary": "The pipelines as configured, each with its output schema.",
        "responses": {"200": {"description": "pipelines", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PipelinePage"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/stream": {
      "get": {
        "summary": "Server-Sent Events: 'event: window' with a Window object as data, for every close (status final) and every update of an open window (coalesced to one per window per second). 'id:' lets a client resume with Last-Event-ID; a comment line every 15 s keeps the connection alive. The token may be given as access_token (EventSource cannot send headers). At most http.max_streams at once (429 beyond).",
        "parameters": [{"name": "access_token", "in": "query", "schema": {"type": "string"}}, {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, "429": {"description": "too many streams"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
      }
    },
    "/api/v1/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/metrics": {"get": {"summary": "Prometheus text format.", "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/livez": {"get": {"summary": "200 while the process serves HTTP.", "security": [], "responses": {"200": {"description": "alive"}}}},
    "/readyz": {
      "get": {
        "summary": "200 when storage commits, MQTT is subscribed and the wall clock is not behind the newest commit, else 503; ?verbose lists the checks.",
        "security": [],
        "parameters": [{"name": "verbose", "in": "query", "allowEmptyValue": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}
      }
    },
    "/": {"get": {"summary": "The dashboard page.", "security": [], "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}}
  }
})json";
  return kDocument;
}

}  // namespace tidemark::web
