#include "rtml/stream/lookahead_source.h"

#include <limits>

#include "rtml/core/error.h"

namespace rtml {

LookaheadSource::LookaheadSource(std::unique_ptr<RowSource> inner)
    : RowSource(inner->name(), DecodeOptions{}), inner_(std::move(inner)) {}

const Row* LookaheadSource::read_ahead() {
  if (started_) throw Error(name_ + ": read_ahead() after next()");
  if (ended_) return nullptr;
  bool got = pull(scratch_);
  if (!got) {
    ended_ = true;
    return nullptr;
  }
  for (const Value& v : scratch_.values) {
    Cell c{v.kind, v.number, 0, 0};
    if (v.kind == ValueKind::kText) {
      if (arena_.size() + v.text.size() > std::numeric_limits<uint32_t>::max()) {
        throw Error(name_ + ": more than 4 GiB of text read ahead");
      }
      c.offset = static_cast<uint32_t>(arena_.size());
      c.length = static_cast<uint32_t>(v.text.size());
      arena_.append(v.text);
    }
    cells_.push_back(c);
  }
  widths_.push_back(static_cast<uint32_t>(scratch_.values.size()));
  lines_.push_back(scratch_.line);
  bytes_ += scratch_.values.size() * sizeof(Cell) + sizeof(uint32_t) + sizeof(uint64_t);
  for (const Value& v : scratch_.values) bytes_ += v.kind == ValueKind::kText ? v.text.size() : 0;
  return &scratch_;
}

bool LookaheadSource::next(Row& row) {
  started_ = true;
  if (replayed_ < widths_.size()) {
    row.values.resize(widths_[replayed_]);
    for (Value& v : row.values) {
      const Cell& c = cells_[next_cell_++];
      v.kind = c.kind;
      v.number = c.number;
      v.text = c.kind == ValueKind::kText ? std::string_view(arena_).substr(c.offset, c.length)
                                          : std::string_view();
    }
    row.line = lines_[replayed_++];
    return true;
  }
  if (!widths_.empty()) {
    // All returned: give the memory back (the last row's text stays valid until this
    // call, which is the contract of next()).
    cells_ = {};
    widths_ = {};
    lines_ = {};
    arena_ = {};
    bytes_ = 0;
    replayed_ = next_cell_ = 0;
  }
  if (ended_) return false;
  bool got = pull(row);
  if (!got) ended_ = true;
  return got;
}

bool LookaheadSource::pull(Row& row) {
  // The wrapped source counts its bad lines; ours are its counts, kept in step even
  // when it throws (a stopped read), since the caller reads them after.
  try {
    bool got = inner_->next(row);
    stats_ = inner_->stats();
    return got;
  } catch (...) {
    stats_ = inner_->stats();
    throw;
  }
}

}  // namespace rtml
