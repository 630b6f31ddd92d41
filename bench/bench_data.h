// Data for the benchmarks: Elec2 as text and decoded into memory.
#pragma once

#include <zlib.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "rtml/learn/pipeline.h"
#include "rtml/stream/byte_source.h"
#include "rtml/stream/csv_decoder.h"

namespace rtml::bench {

inline std::string data_dir() {
  if (const char* env = std::getenv("RTML_DATA"); env && *env) return env;
  return std::string(RTML_SOURCE_DIR) + "/../shared/datasets";
}

// Elec2's CSV text, decompressed.
inline const std::string& elec2_text() {
  static const std::string text = [] {
    std::string path = data_dir() + "/elec2.csv.gz";
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error(path + ": not found (set RTML_DATA)");
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, n);
    gzclose(f);
    return out;
  }();
  return text;
}

struct Event {
  Features x;
  Target y;
};

// Elec2 decoded into features and targets for pipeline p (class UP = 1).
inline std::vector<Event> elec2_events(Pipeline& p) {
  auto src =
      std::make_unique<CsvDecoder>(ByteSource::from_memory("elec2", elec2_text()), DecodeOptions{});
  p.labels().set_binary("DOWN", "UP");
  std::vector<Event> events;
  Row row;
  const auto& cols = src->columns();
  std::vector<uint32_t> index;
  for (size_t i = 0; i + 1 < cols.size(); ++i) index.push_back(p.schema().intern(cols[i].name));
  while (src->next(row)) {
    Event e;
    for (size_t i = 0; i < index.size(); ++i) e.x.add(index[i], row.values[i].number);
    e.y = Target::of_class(*p.labels().find(row.values.back().text));
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace rtml::bench
