#include "engine/aggregate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tidemark {
namespace {

struct NamedFn {
  std::string_view name;
  AggregateFn fn;
};
constexpr std::array<NamedFn, 7> kFunctions{{{"count", AggregateFn::kCountField},
                                             {"sum", AggregateFn::kSum},
                                             {"avg", AggregateFn::kAvg},
                                             {"min", AggregateFn::kMin},
                                             {"max", AggregateFn::kMax},
                                             {"first", AggregateFn::kFirst},
                                             {"last", AggregateFn::kLast}}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsFieldPath(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string_view NameOf(AggregateFn fn) {
  if (fn == AggregateFn::kCount) return "count";
  for (const auto& f : kFunctions) {
    if (f.fn == fn) return f.name;
  }
  return "?";
}

// first: smaller (time, seq) wins; last: larger wins.
bool Precedes(Millis t1, std::uint64_t s1, Millis t2, std::uint64_t s2) {
  return std::pair(t1, s1) < std::pair(t2, s2);
}

}  // namespace

std::string AggregateSpec::Expression() const {
  return std::string(NameOf(fn)) + "(" + field + ")";
}

std::string_view AggregateSpec::OutputType() const {
  return fn == AggregateFn::kCount || fn == AggregateFn::kCountField ? "long" : "double";
}

StatusOr<AggregateSpec> ParseAggregate(std::string_view alias, std::string_view expression) {
  auto fail = [&](std::string_view why) {
    return Error{"aggregate " + std::string(alias) + " = \"" + std::string(expression) +
                 "\": " + std::string(why)};
  };
  if (!IsFieldPath(alias) || alias.find('.') != std::string_view::npos) {
    return fail("the alias must be letters, digits, '_' or '-'");
  }
  std::string_view text = Trim(expression);
  size_t open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')') {
    return fail("expected function(field), e.g. avg(temperature)");
  }
  std::string name = Lower(Trim(text.substr(0, open)));
  std::string_view field = Trim(text.substr(open + 1, text.size() - open - 2));
  AggregateSpec spec;
  spec.alias = std::string(alias);
  if (name == "count" && (field.empty() || field == "*")) {
    spec.fn = AggregateFn::kCount;
    return spec;
  }
  auto it = std::find_if(kFunctions.begin(), kFunctions.end(),
                         [&](const auto& f) { return f.name == name; });
  if (it == kFunctions.end()) {
    return fail("unknown function \"" + name +
                "\" (known: count, sum, avg, min, max, first, last)");
  }
  if (!IsFieldPath(field)) return fail("expected a field name inside the parentheses");
  spec.fn = it->fn;
  spec.field = std::string(field);
  return spec;
}

void AggAdd(AggregateFn fn, AggState& s, std::optional<double> value, Millis t, std::uint64_t seq) {
  if (fn == AggregateFn::kCount) {
    ++s.count;
    return;
  }
  if (!value) return;
  const double v = *value;
  const bool first_value = s.count == 0;
  ++s.count;
  switch (fn) {
    case AggregateFn::kCount:
    case AggregateFn::kCountField:
      break;
    case AggregateFn::kSum:
    case AggregateFn::kAvg:
      s.value += v;
      break;
    case AggregateFn::kMin:
      if (first_value || v < s.value) s.value = v;
      break;
    case AggregateFn::kMax:
      if (first_value || v > s.value) s.value = v;
      break;
    case AggregateFn::kFirst:
      if (first_value || Precedes(t, seq, s.time, s.seq)) s = {v, s.count, t, seq};
      break;
    case AggregateFn::kLast:
      if (first_value || Precedes(s.time, s.seq, t, seq)) s = {v, s.count, t, seq};
      break;
  }
}

void AggMerge(AggregateFn fn, AggState& into, const AggState& from) {
  if (from.count == 0) return;
  if (into.count == 0) {
    into = from;
    return;
  }
  const std::int64_t count = into.count + from.count;
  switch (fn) {
    case AggregateFn::kCount:
    case AggregateFn::kCountField:
      break;
    case AggregateFn::kSum:
    case AggregateFn::kAvg:
      into.value += from.value;
      break;
    case AggregateFn::kMin:
      into.value = std::min(into.value, from.value);
      break;
    case AggregateFn::kMax:
      into.value = std::max(into.value, from.value);
      break;
    case AggregateFn::kFirst:
      if (Precedes(from.time, from.seq, into.time, into.seq)) into = from;
      break;
    case AggregateFn::kLast:
      if (Precedes(into.time, into.seq, from.time, from.seq)) into = from;
      break;
  }
  into.count = count;
}

std::optional<double> AggFinalize(AggregateFn fn, const AggState& s) {
  switch (fn) {
    case AggregateFn::kCount:
    case AggregateFn::kCountField:
      return static_cast<double>(s.count);
    case AggregateFn::kAvg:
      if (s.count == 0) return std::nullopt;
      return s.value / static_cast<double>(s.count);
    default:
      if (s.count == 0) return std::nullopt;
      return s.value;
  }
}

}  // namespace tidemark
