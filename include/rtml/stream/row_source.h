// RowSource: a stream of decoded rows (a CSV or JSON Lines file, or a generator),
// and the options and counters that every decoder shares.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtml/core/row.h"

namespace rtml {

// A line that a decoder skipped, and why.
struct BadLine {
  uint64_t line;       // 1-based line number in the input
  std::string reason;  // e.g. "expected 9 fields, found 7"
  // The record's bytes as read (without its line break); valid only during the
  // on_bad_line call.
  std::string_view record;
};

// How a source's bytes are decoded.
enum class SourceFormat : uint8_t {
  kByName,  // JSON Lines for .jsonl, .ndjson, .json (also .gz), CSV otherwise (stdin too)
  kCsv,
  kJsonLines,
};

struct DecodeOptions {
  SourceFormat format = SourceFormat::kByName;
  // Make a bad line an Error (thrown from next()) instead of skipping it.
  bool strict = false;
  // How many rows type inference looks at before the first row is returned.
  size_t infer_rows = 1000;
  // Column types that override inference, by column name.
  std::map<std::string, ColumnType, std::less<>> types;
  // Called for each skipped line; the decoder counts them either way.
  std::function<void(const BadLine&)> on_bad_line;
  // A file descriptor that, once readable, stops the reading of a file, pipe or FIFO:
  // open_source() and next() then throw ReadStopped (byte_source.h). -1: none.
  int stop_fd = -1;
};

struct DecodeStats {
  uint64_t rows = 0;        // rows returned
  uint64_t skipped = 0;     // bad lines skipped
  uint64_t non_finite = 0;  // NaN or infinite numbers read as missing values
};

// A forward-only source of rows. Single-threaded: one thread calls next().
class RowSource {
 public:
  virtual ~RowSource() = default;

  // The columns known so far. A CSV source knows them all after construction; a
  // JSON Lines source appends a column when a new key first appears.
  virtual const std::vector<Column>& columns() const = 0;

  // Decodes the next good row into row (reusing its storage) and returns true, or
  // returns false at the end of the input. Bad lines are reported and skipped, or
  // thrown as Error when options.strict is set. Text values in row stay valid until
  // the next call.
  virtual bool next(Row& row) = 0;

  const DecodeStats& stats() const { return stats_; }
  const std::string& name() const { return name_; }

 protected:
  RowSource(std::string name, DecodeOptions options)
      : name_(std::move(name)), options_(std::move(options)) {}
  // Counts a bad line and reports it (or throws, in strict mode).
  void reject(uint64_t line, std::string reason, std::string_view record);

  std::string name_;
  DecodeOptions options_;
  DecodeStats stats_;
};

// Opens a source from a spec: a path to CSV or JSON Lines, either possibly gzipped
// ("-" reads CSV from standard input), or a generator "synth:NAME?key=value&...".
// JSON Lines is chosen by the extension .jsonl, .ndjson or .json (before any .gz).
// Throws Error for a missing file, an unknown generator or a bad header, ReadStopped if
// options.stop_fd stopped the reading of the header.
std::unique_ptr<RowSource> open_source(const std::string& spec, DecodeOptions options = {});

// Parses text as a number the way the decoders do: surrounding spaces and a leading
// '+' allowed; nan and inf accepted. Returns false if text is not a whole number.
bool parse_number(std::string_view text, double& out);

}  // namespace rtml
