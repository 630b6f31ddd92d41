// PlainBatchReader: reads the common form of a batch request in one pass.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "rtml/core/row.h"

namespace rtml::serve {

// Reads a predict batch of the plain form, {"events": [{"features": {...},
// "event_id": "..."?}, ...]} with only numbers, texts, booleans and nulls as feature
// values, with simdjson's On-Demand API: one pass over the body, no document tree (the
// tree costs a batch of small events about a fifth of its serving time).
//
// Anything else (an entity, a time, another key, a repeated key, a nested value, a
// malformed body, more events than allowed) makes read() return false: the caller then
// reads the body the general way, which also words the error. So this reader never
// decides what is refused; it only takes the fast road when there is one.
// Not thread-safe: one a thread.
class PlainBatchReader {
 public:
  // Called for each event, in order, with its fields (views valid until the next read())
  // and its event_id (empty if it gave none), and the context given to read(). Returning
  // false stops the read (read() returns false). A plain function: no template of the
  // standard library is instantiated in the reader's file (see below) for another to use.
  using OnEvent = bool (*)(void* context, std::span<const EventField> fields,
                           std::string_view event_id);

  // padded holds the body followed by at least simdjson::SIMDJSON_PADDING bytes. True if
  // the whole body was of the plain form, held at most max_events events, and on_event
  // returned true for each.
  //
  // On x86-64 the reader's file is built for Haswell's instructions (AVX2, BMI, PCLMUL):
  // call it only where plain_batch_reader_runs_here() (built for the baseline) says so.
  bool read(std::string_view padded, size_t size, size_t max_events, OnEvent on_event,
            void* context);
  // The events the last read() went through.
  size_t events() const { return events_; }

  PlainBatchReader();
  ~PlainBatchReader();
  PlainBatchReader(const PlainBatchReader&) = delete;
  PlainBatchReader& operator=(const PlainBatchReader&) = delete;

 private:
  // simdjson's On-Demand types differ with the instructions a file is built for (this
  // reader's file is built for more than the rest): they stay out of this header.
  class Parser;
  std::unique_ptr<Parser> parser_;
  size_t events_ = 0;
};

// True if this CPU has the instructions PlainBatchReader was built for. Defined in a file
// built for the baseline.
bool plain_batch_reader_runs_here();

}  // namespace rtml::serve
