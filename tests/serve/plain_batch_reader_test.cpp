// PlainBatchReader: which bodies it reads itself and which it leaves to the general
// reader (the API answers alike either way, so only here does the road taken show).
#include "../../src/serve/plain_batch_reader.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace rtml::serve {
namespace {

struct Seen {
  std::vector<std::string> names;
  std::vector<std::string> ids;
};

bool remember(void* context, std::span<const EventField> fields, std::string_view id) {
  auto& seen = *static_cast<Seen*>(context);
  for (const EventField& f : fields) seen.names.emplace_back(f.name);
  seen.ids.emplace_back(id);
  return true;
}

// Reads body; the names and ids it handed on, and whether it took the body.
bool read(std::string_view body, Seen& seen, size_t max_events = 1000) {
  std::string padded(body);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  PlainBatchReader reader;
  return reader.read(padded, body.size(), max_events, remember, &seen);
}

TEST(PlainBatchReader, ReadsThePlainFormAndLeavesTheRest) {
  if (!plain_batch_reader_runs_here()) GTEST_SKIP() << "this CPU lacks AVX2";
  Seen seen;
  ASSERT_TRUE(
      read(R"({"events":[{"features":{"x":1.5,"city":"Os\u006co","o\u006e":true,"gone":null}},)"
           R"({"event_id":"e2","features":{"x":2}}]})",
           seen));
  EXPECT_EQ(seen.names, (std::vector<std::string>{"x", "city", "on", "x"}));
  EXPECT_EQ(seen.ids, (std::vector<std::string>{"", "e2"}));
  // Left to the general reader: another key, a nested value, an entity, a time, bytes
  // after the object, too many events.
  for (const char* body : {
           R"({"events":[{"features":{"x":1}}],"more":1})",
           R"({"events":[{"features":{"x":[1]}}]})",
           R"({"events":[{"entity":{"user":"u1"}}]})",
           R"({"events":[{"features":{"x":1},"time":3}]})",
           R"({"events":[{"features":{"x":1}}]} x)",
       }) {
    Seen other;
    EXPECT_FALSE(read(body, other)) << body;
  }
  Seen over;
  EXPECT_FALSE(read(R"({"events":[{"features":{"x":1}},{"features":{"x":2}}]})", over, 1));
}

}  // namespace
}  // namespace rtml::serve
