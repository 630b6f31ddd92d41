// LookaheadSource: rows read ahead of their consumer and held, so that something about
// the stream can be decided before its first row is used, without reading it twice.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtml/stream/row_source.h"

namespace rtml {

// Wraps a RowSource. Before the first next(), read_ahead() takes rows from it one at a
// time and holds a copy of each; next() then returns the held rows, in order, and after
// them the wrapped source's. A pipe, a FIFO or a socket can be read only once, so this is
// how one rule can serve every source (rtml eval decides a target's classes this way).
// Memory: the held rows (their values and text), released once they have been returned.
// Not thread-safe: one thread at a time (read ahead on one, then hand it to another).
class LookaheadSource final : public RowSource {
 public:
  explicit LookaheadSource(std::unique_ptr<RowSource> inner);

  // Reads the next row of the wrapped source and holds it. Returns it (valid until the
  // next call on this source), or nullptr at the end of the input. Bad lines are skipped
  // (and reported) by the wrapped source as usual; its errors propagate. Only before the
  // first next().
  const Row* read_ahead();
  // The rows held and their size in bytes (values and text), not yet returned by next().
  size_t held_rows() const { return widths_.size() - replayed_; }
  size_t held_bytes() const { return bytes_; }

  // The wrapped source's columns: with JSON Lines, those met while reading ahead too.
  // A held row may then be narrower than columns(): its missing values are at the end.
  const std::vector<Column>& columns() const override { return inner_->columns(); }
  bool next(Row& row) override;

 private:
  struct Cell {
    ValueKind kind;
    double number;
    uint32_t offset, length;  // text in arena_
  };
  // inner_->next(row), with stats_ kept equal to inner_'s.
  bool pull(Row& row);

  std::unique_ptr<RowSource> inner_;
  Row scratch_;  // the row read_ahead() returns
  std::vector<Cell> cells_;
  std::vector<uint32_t> widths_;
  std::vector<uint64_t> lines_;
  std::string arena_;
  size_t bytes_ = 0;
  size_t replayed_ = 0, next_cell_ = 0;
  bool started_ = false;  // next() was called
  bool ended_ = false;    // the wrapped source returned false
};

}  // namespace rtml
