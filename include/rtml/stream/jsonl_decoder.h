// JsonLinesDecoder: one JSON object per line.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "rtml/core/schema.h"
#include "rtml/stream/byte_source.h"
#include "rtml/stream/row_source.h"

namespace rtml {

// Decodes JSON Lines in constant memory. Each line is an object of scalar fields:
// numbers become numeric columns, strings and booleans categorical ones (unless
// options.types says otherwise), null is a missing value. A key seen for the first
// time appends a column. A line that is not an object of scalars, or that gives a
// numeric column a non-number, is reported and skipped; so is a line whose brackets nest
// deeper than 64 levels, refused before it is parsed, however deep it goes. Blank lines
// are ignored.
class JsonLinesDecoder final : public RowSource {
 public:
  explicit JsonLinesDecoder(std::unique_ptr<ByteSource> in, DecodeOptions options);
  ~JsonLinesDecoder() override;

  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override;

 private:
  bool next_line(std::string_view& line);
  struct Scalar;
  // Returns an empty string on success, else the reason the line is bad.
  std::string decode(std::string_view line, Row& row);
  // The same for a line with a number simdjson refuses (1e400, a huge integer).
  std::string decode_lenient(std::string_view line, Row& row);
  // One field into row, adding its column if new.
  std::string put_field(std::string_view key, const Scalar& v, Row& row);

  std::unique_ptr<ByteSource> in_;
  std::vector<char> buf_;
  size_t start_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t line_ = 0;
  std::vector<Column> columns_;
  StringIndex column_index_;
  // Per column: storage for values rendered as text. A deque, so that adding a column
  // never moves the strings that earlier fields of the same line point into.
  std::deque<std::string> text_;
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;  // the current line's JSON document
};

}  // namespace rtml
