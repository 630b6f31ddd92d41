// libFuzzer targets over the stream decoders: any bytes are either rows or bad lines
// with a reason, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rtml/core/error.h"
#include "rtml/stream/byte_source.h"
#include "rtml/stream/csv_decoder.h"
#include "rtml/stream/jsonl_decoder.h"

namespace {

template <class Decoder>
void decode_all(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    rtml::DecodeOptions o;
    o.on_bad_line = [](const rtml::BadLine& b) {
      if (b.reason.empty()) __builtin_trap();  // a refusal always says why
    };
    Decoder d(rtml::ByteSource::from_memory("fuzz", text), o);
    rtml::Row row;
    while (d.next(row)) {
      if (row.values.size() != d.columns().size()) __builtin_trap();
    }
  } catch (const rtml::Error&) {
    // A refusal of the whole input (no header, say) is an answer too.
  }
}

}  // namespace

#if defined(RTML_FUZZ_CSV)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  decode_all<rtml::CsvDecoder>(data, size);
  return 0;
}
#elif defined(RTML_FUZZ_JSONL)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  decode_all<rtml::JsonLinesDecoder>(data, size);
  return 0;
}
#endif
