#include "plain_batch_reader.h"

#include <simdjson.h>

#include <cstring>
#include <memory>

namespace rtml::serve {

namespace od = simdjson::ondemand;

// Everything built here is built for Haswell's instructions: kept out of the way of
// the rest of the program (an anonymous namespace, arrays rather than std::vector), so
// that the linker has no copy of a shared inline function from here to pick for code a
// CPU without them runs.
namespace {

// key == name, with the name's length known here (a compare the compiler inlines).
template <size_t N>
bool is(std::string_view key, const char (&name)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), name, N - 1) == 0;
}

struct Fields {
  std::unique_ptr<EventField[]> at;
  size_t capacity = 0, used = 0;
  [[gnu::always_inline]] void add(EventField f) {
    if (used == capacity) [[unlikely]]
      grow();
    at[used++] = f;
  }
  [[gnu::noinline]] void grow() {
    const size_t n = capacity ? 2 * capacity : 16;
    auto bigger = std::unique_ptr<EventField[]>(new EventField[n]);
    for (size_t i = 0; i < used; ++i) bigger[i] = at[i];
    at = std::move(bigger);
    capacity = n;
  }
};

}  // namespace

class PlainBatchReader::Parser {
 public:
  od::parser parser;
  Fields fields;
  bool read_event(od::value event, OnEvent on_event, void* context);
};

PlainBatchReader::PlainBatchReader() = default;
PlainBatchReader::~PlainBatchReader() = default;

bool PlainBatchReader::read(std::string_view padded, size_t size, size_t max_events,
                            OnEvent on_event, void* context) {
  events_ = 0;
  if (!parser_) parser_ = std::make_unique<Parser>();
  od::document doc;
  if (parser_->parser.iterate(padded.data(), size, padded.size()).get(doc)) return false;
  od::object root;
  if (doc.get_object().get(root)) return false;
  bool seen_events = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) || !is(key, "events") || seen_events) return false;
    seen_events = true;
    od::array events;
    if (field.value().get_array().get(events)) return false;
    for (auto e : events) {
      od::value event;
      if (events_ == max_events || e.get(event) || !parser_->read_event(event, on_event, context)) {
        return false;
      }
      ++events_;
    }
  }
  // Nothing may follow the object (simdjson 3.0's document has no at_end()).
  const char* rest;
  return seen_events && doc.current_location().get(rest) == simdjson::OUT_OF_BOUNDS;
}

bool PlainBatchReader::Parser::read_event(od::value event, OnEvent on_event, void* context) {
  od::object obj;
  if (event.get_object().get(obj)) return false;
  fields.used = 0;
  std::string_view event_id;
  bool seen_features = false, seen_id = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    if (is(key, "features") && !seen_features) {
      seen_features = true;
      od::object features;
      if (field.value().get_object().get(features)) return false;
      for (auto f : features) {
        std::string_view name;
        od::value v;
        if (f.unescaped_key().get(name) || f.value().get(v)) return false;
        // A number first (most features are): a value that is not one is left unread.
        double number;
        if (v.get_double().get(number) == simdjson::SUCCESS) {
          fields.add(EventField::of_number(name, number));
          continue;
        }
        od::json_type type;
        if (v.type().get(type)) return false;
        switch (type) {  // a number get_double() refused (out of range) is not taken
          case od::json_type::string: {
            std::string_view text;
            if (v.get_string().get(text)) return false;
            fields.add(EventField::of_text(name, text));
            break;
          }
          case od::json_type::boolean: {
            bool b;
            if (v.get_bool().get(b)) return false;
            fields.add(EventField::of_number(name, b ? 1.0 : 0.0));
            break;
          }
          case od::json_type::null:
            if (!v.is_null()) return false;
            break;  // missing
          default:
            return false;
        }
      }
    } else if (is(key, "event_id") && !seen_id) {
      seen_id = true;
      if (field.value().get_string().get(event_id) || event_id.empty()) return false;
    } else {
      return false;
    }
  }
  return seen_features &&
         on_event(context, std::span<const EventField>(fields.at.get(), fields.used), event_id);
}

}  // namespace rtml::serve
