// A small validator of JSON values against the OpenAPI 3.0 schema subset tidemark's document
// uses ($ref, type, nullable, required, properties, additionalProperties, items, enum), for the
// test that checks the document against real responses. Test-only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tidemark::testing {

// Appends a message per violation, naming the JSON path, to `errors`.
void ValidateSchema(const nlohmann::json& document, const nlohmann::json& schema,
                    const nlohmann::json& value, const std::string& path,
                    std::vector<std::string>& errors);

// The schema of the 200 application/json response of GET `api_path` in `document`.
nlohmann::json ResponseSchema(const nlohmann::json& document, const std::string& api_path);

}  // namespace tidemark::testing
