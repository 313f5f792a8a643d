#include "engine/pipeline.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace tidemark {

std::optional<Error> ValidatePipeline(const PipelineSpec& spec) {
  auto fail = [&](const std::string& why) {
    return Error{"pipeline \"" + spec.name + "\": " + why};
  };
  if (spec.name.empty()) return Error{"a pipeline needs a name"};
  // The window must be one the factories would build (they hold the overflow bounds).
  const WindowSpec& w = spec.window;
  auto rebuilt = w.kind == WindowKind::kSession ? WindowSpec::Session(w.gap)
                                                : WindowSpec::Sliding(w.size, w.slide, w.offset);
  if (!rebuilt) return fail(rebuilt.error());
  if (rebuilt->kind != w.kind || rebuilt->offset != w.offset) return fail("inconsistent window");
  if (spec.watermark_delay < 0 || spec.watermark_delay > kMaxWindowSpan) {
    return fail("watermark must be between 0s and " + FormatDuration(kMaxWindowSpan));
  }
  if (spec.idle_timeout < 0) return fail("idle_timeout must not be negative");
  if (spec.aggregates.empty()) return fail("needs at least one aggregate");
  std::set<std::string> aliases;
  for (const AggregateSpec& a : spec.aggregates) {
    if (!aliases.insert(a.alias).second) return fail("aggregate alias \"" + a.alias + "\" twice");
  }
  return std::nullopt;
}

std::string ValuesJson(const PipelineSpec& spec, const std::vector<std::optional<double>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size() && i < spec.aggregates.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : spec.aggregates[i].alias) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\":";
    const std::optional<double>& v = values[i];
    if (!v || !std::isfinite(*v)) {
      out += "null";
      continue;
    }
    char buf[32];
    auto [end, ec] = spec.aggregates[i].OutputType() == "long"
                         ? std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(*v))
                         : std::to_chars(buf, buf + sizeof buf, *v);
    out.append(buf, end);
  }
  return out + "}";
}

std::vector<std::string> FieldsRead(const std::vector<PipelineSpec>& pipelines) {
  std::vector<std::string> fields;
  for (const PipelineSpec& p : pipelines) {
    for (const AggregateSpec& a : p.aggregates) {
      if (a.ReadsField() && std::find(fields.begin(), fields.end(), a.field) == fields.end()) {
        fields.push_back(a.field);
      }
    }
  }
  return fields;
}

bool UsesEventTime(const std::vector<PipelineSpec>& pipelines) {
  return std::any_of(pipelines.begin(), pipelines.end(),
                     [](const PipelineSpec& p) { return p.time == TimeMode::kEvent; });
}

}  // namespace tidemark
