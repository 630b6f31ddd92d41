// AggregateSpec: a streaming aggregate declared by name, e.g.
//   user_clicks_1h = count(click) by user over 1h every 1m
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rtml::features {

enum class AggregateFunction : uint8_t {
  kCount,
  kSum,
  kMean,
  kMin,
  kMax,
  kVariance,
  kLast,
  kDistinct,
  kTopK
};

enum class WindowKind : uint8_t {
  kTumbling,  // "over 1h": fixed, aligned windows
  kSliding,   // "over 1h every 1m": hopping buckets
  kDecayed,   // "decay 1h": exponential decay with that half-life
};

// The grammar, one declaration per line ('#' starts a comment):
//   NAME = FUNCTION(FIELD[, k=N | precision=N]) by KEY WINDOW [late DURATION] [keep DURATION]
//   WINDOW := over DURATION [every DURATION] | decay DURATION
//   DURATION := a number and a unit: ms, s, m, h, d (e.g. 90s, 1.5h)
// FUNCTION is count, sum, mean, min, max, variance, last, distinct (HyperLogLog) or
// topk. `late` is the allowed lateness (default 0): later events are counted and
// dropped. `keep` is how far back reads "as of" a past time can go (default: one
// window).
struct AggregateSpec {
  std::string name;
  AggregateFunction function = AggregateFunction::kCount;
  std::string field;  // event field the function reads
  std::string by;     // the entity the aggregate is kept per
  WindowKind window = WindowKind::kTumbling;
  double window_seconds = 0;  // over, or the half-life for kDecayed
  double hop_seconds = 0;     // every (sliding); equals window_seconds when tumbling
  double lateness_seconds = 0;
  double keep_seconds = 0;
  int k = 3;          // topk
  int precision = 8;  // distinct: 2^precision registers per bucket

  // The declaration written back in canonical form.
  std::string to_string() const;
};

// Parses one declaration. Throws Error naming the column and what was expected.
AggregateSpec parse_aggregate(std::string_view text);
// Parses a file's text: one declaration per non-empty line. Errors name the line.
std::vector<AggregateSpec> parse_aggregates(std::string_view text, std::string_view source);

}  // namespace rtml::features
