// Aggregate functions (docs/DESIGN.md §2, §5.4): count(), count(f), sum, avg, min, max, first,
// last. Each is a plain 32-byte state with four verbs — init (a value-initialized AggState), Add,
// Merge and Finalize — as in DuckDB. Nulls follow SQL: a missing field is skipped (count()
// still counts the record), and an aggregate that saw no value finalizes to null (nullopt);
// count(f) is 0, never null. first/last order by event time, ties by arrival sequence.
// Pure functions and value types: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"

namespace tidemark {

enum class AggregateFn : std::uint8_t {
  kCount,
  kCountField,
  kSum,
  kAvg,
  kMin,
  kMax,
  kFirst,
  kLast
};

struct AggregateSpec {
  std::string alias;  // output name, e.g. "avg_temp"
  AggregateFn fn = AggregateFn::kCount;
  std::string field;  // input field (dotted path allowed); empty for count()

  // True when the aggregate reads a field value (everything but count()).
  bool ReadsField() const { return fn != AggregateFn::kCount; }
  // "avg(temperature)"
  std::string Expression() const;
  // The output type: "long" for counts, "double" otherwise.
  std::string_view OutputType() const;
};

// Parses "avg(temperature)", "count()", "count(*)", "max( sensor.temp )": a function name
// (case-insensitive) and a field. Errors name the alias and expression.
StatusOr<AggregateSpec> ParseAggregate(std::string_view alias, std::string_view expression);

// The state of one aggregate in one window. Meaning by function:
//   count/count(f): count;  sum/avg: value = sum, count = values seen;
//   min/max: value, count = values seen;  first/last: value at (time, seq), count = values seen.
struct AggState {
  double value = 0;
  std::int64_t count = 0;
  Millis time = 0;
  std::uint64_t seq = 0;
  friend bool operator==(const AggState&, const AggState&) = default;
};

// Adds one record. `value` is the record's field value, nullopt when the field is missing (for
// count() pass anything). `t` is its event time and `seq` its arrival sequence number.
void AggAdd(AggregateFn fn, AggState& state, std::optional<double> value, Millis t,
            std::uint64_t seq);

// Folds `from` into `into` (session merges).
void AggMerge(AggregateFn fn, AggState& into, const AggState& from);

// The result: nullopt is SQL null.
std::optional<double> AggFinalize(AggregateFn fn, const AggState& state);

}  // namespace tidemark
