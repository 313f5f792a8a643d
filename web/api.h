// Api: the HTTP API's handlers, independent of the HTTP library: each takes the request's
// query parameters and returns a Reply (status, content type, body). Errors are RFC 9457
// problem+json with a `detail` that says what to fix; unknown parameters are a 400.
//
// Threading: one Api serves every HTTP worker thread; its methods are const and thread-safe as
// long as the ApiData they read is.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pipeline.h"
#include "web/api_data.h"

namespace tidemark::web {

using Params = std::multimap<std::string, std::string>;

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

Reply Problem(int status, std::string_view detail);
// A JSON reply; invalid UTF-8 in strings (payload samples) is replaced with U+FFFD.
Reply JsonReply(const nlohmann::ordered_json& body, int status = 200);

// Parses a time parameter: RFC 3339, or epoch milliseconds (digits, optional '-').
StatusOr<Millis> ParseTimeParam(std::string_view text);

class ReplyCache;

class Api {
 public:
  Api(std::vector<PipelineSpec> pipelines, ApiData& data);
  ~Api();

  Reply Windows(const Params& p) const;
  Reply Devices(const Params& p) const;
  Reply State(const Params& p) const;
  Reply Late(const Params& p) const;
  Reply Rejected(const Params& p) const;
  Reply Pipelines(const Params& p) const;
  Reply Livez(const Params& p) const;
  Reply Readyz(const Params& p) const;

  const std::vector<PipelineSpec>& pipelines() const { return pipelines_; }
  ApiData& data() const { return data_; }

 private:
  Reply WindowsUncached(const Params& p) const;

  std::vector<PipelineSpec> pipelines_;
  ApiData& data_;
  std::unique_ptr<ReplyCache> windows_cache_;  // identical /api/v1/windows queries, for 1 s
};

}  // namespace tidemark::web
