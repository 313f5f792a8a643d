#include "tests/web/openapi_check.h"

namespace tidemark::testing {

using Json = nlohmann::json;

namespace {

const Json& Resolve(const Json& document, const Json& schema) {
  if (!schema.contains("$ref")) return schema;
  const std::string ref = schema["$ref"];  // "#/components/schemas/Name"
  return Resolve(document, document.at(Json::json_pointer(ref.substr(1))));
}

bool HasType(const Json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  return false;
}

}  // namespace

void ValidateSchema(const Json& document, const Json& schema_or_ref, const Json& value,
                    const std::string& path, std::vector<std::string>& errors) {
  const Json& schema = Resolve(document, schema_or_ref);
  if (value.is_null()) {
    if (!schema.value("nullable", false)) errors.push_back(path + ": null but not nullable");
    return;
  }
  if (schema.contains("type") && !HasType(value, schema["type"])) {
    errors.push_back(path + ": expected " + schema["type"].get<std::string>() + ", got " +
                     value.dump());
    return;
  }
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    errors.push_back(path + ": " + value.dump() + " is not in " + schema["enum"].dump());
  }
  if (value.is_object()) {
    for (const Json& name : schema.value("required", Json::array())) {
      if (!value.contains(name.get<std::string>())) {
        errors.push_back(path + ": missing required " + name.get<std::string>());
      }
    }
    const Json properties = schema.value("properties", Json::object());
    for (const auto& [name, item] : value.items()) {
      if (properties.contains(name)) {
        ValidateSchema(document, properties[name], item, path + "." + name, errors);
      } else if (schema.contains("additionalProperties")) {
        ValidateSchema(document, schema["additionalProperties"], item, path + "." + name, errors);
      } else {
        errors.push_back(path + ": property " + name + " is not in the document");
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      ValidateSchema(document, schema["items"], value[i], path + "[" + std::to_string(i) + "]",
                     errors);
    }
  }
}

Json ResponseSchema(const Json& document, const std::string& api_path) {
  return document.at("paths")
      .at(api_path)
      .at("get")
      .at("responses")
      .at("200")
      .at("content")
      .at("application/json")
      .at("schema");
}

}  // namespace tidemark::testing
