// CsvDecoder: streaming RFC 4180 CSV with a header row.
#pragma once

#include <memory>
#include <vector>

#include "rtml/stream/byte_source.h"
#include "rtml/stream/row_source.h"

namespace rtml {

// Decodes CSV with a header row from a ByteSource, in constant memory. Handles quoted
// fields (with "" escapes and line breaks inside quotes), CRLF line ends, a UTF-8 BOM,
// empty fields (missing values), NaN and infinities (read as missing and counted) and
// ragged lines (reported and skipped). Column types are inferred from the first
// options.infer_rows rows: a column is numeric when all its non-empty values there
// are numbers (or the rows read before a stop, see DecodeOptions::stop_fd). A later
// non-number in a numeric column makes that line bad.
class CsvDecoder final : public RowSource {
 public:
  // Reads the header and the inference rows. Throws Error if the input is empty or the
  // header is malformed.
  CsvDecoder(std::unique_ptr<ByteSource> in, DecodeOptions options);

  const std::vector<Column>& columns() const override { return columns_; }
  bool next(Row& row) override;

 private:
  // Finds the next record in the buffer, refilling it as needed. On success
  // [begin, end) is the record without its line end and line is its first line.
  bool next_record(const char*& begin, const char*& end, uint64_t& line);
  bool refill();
  void split(const char* begin, const char* end);
  void infer_types();

  std::unique_ptr<ByteSource> in_;
  std::vector<char> buf_;
  static constexpr size_t kNoKeep = static_cast<size_t>(-1);
  size_t start_ = 0;       // first unconsumed byte
  size_t keep_ = kNoKeep;  // while inferring types: first byte refill() must keep
  size_t end_ = 0;         // end of valid bytes
  bool eof_ = false;
  uint64_t line_ = 0;  // lines consumed so far
  std::vector<Column> columns_;
  // Fields of the current record: [begin, end) of raw text, and whether quoted. They
  // are the first field_count_ of fields_, which only grows: splitting a record is a
  // plain store per field, without a call, once the widest record has been seen.
  struct Field {
    const char* begin;
    const char* end;
    bool quoted;
  };
  std::vector<Field> fields_;
  size_t field_count_ = 0;
  void add_field(const char* begin, const char* end, bool quoted) {
    if (field_count_ == fields_.size()) fields_.resize(fields_.size() * 2 + 16);
    fields_[field_count_++] = Field{begin, end, quoted};
  }
  std::string unescaped_;  // storage for quoted fields of the current record
};

}  // namespace rtml
