#include "rtml/stream/csv_decoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"

namespace rtml {
namespace {

constexpr size_t kInitialBuffer = 1 << 20;

}  // namespace

bool parse_number(std::string_view text, double& out) {
  const char* b = text.data();
  const char* e = b + text.size();
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
  if (b < e && *b == '+') ++b;
  if (b == e) return false;
  auto [ptr, ec] = std::from_chars(b, e, out);
  if (ec == std::errc::result_out_of_range && ptr == e) {
    // Over- or underflow leaves out unset; strtod gives +-inf or the denormal/zero.
    std::string copy(b, e);
    out = std::strtod(copy.c_str(), nullptr);
    return true;
  }
  return ec == std::errc() && ptr == e;
}

namespace {

// A record's bytes without its line break.
std::string_view record_text(const char* b, const char* e) {
  std::string_view r(b, static_cast<size_t>(e - b));
  while (!r.empty() && (r.back() == '\n' || r.back() == '\r')) r.remove_suffix(1);
  return r;
}

}  // namespace

void RowSource::reject(uint64_t line, std::string reason, std::string_view record) {
  if (options_.strict) throw Error(name_ + ":" + std::to_string(line) + ": " + reason);
  ++stats_.skipped;
  if (options_.on_bad_line) options_.on_bad_line(BadLine{line, std::move(reason), record});
}

CsvDecoder::CsvDecoder(std::unique_ptr<ByteSource> in, DecodeOptions options)
    : RowSource(in->name(), std::move(options)), in_(std::move(in)), buf_(kInitialBuffer) {
  const char* b;
  const char* e;
  uint64_t line;
  if (!next_record(b, e, line)) throw Error(name_ + ": empty input: expected a header row");
  if (e - b >= 3 && std::memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;  // UTF-8 BOM
  split(b, e);
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < field_count_; ++i) {
    const auto& f = fields_[i];
    std::string name(f.begin, f.end);
    if (f.quoted) {
      std::string clean;
      for (size_t k = 0; k < name.size(); ++k) {
        clean += name[k];
        if (name[k] == '"' && k + 1 < name.size() && name[k + 1] == '"') ++k;
      }
      name = clean;
    }
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    // A set, not a scan of the names so far: a header of 200,000 columns took 28 s.
    if (!names.insert(name).second) {
      throw Error(name_ + ":1: duplicate column name '" + excerpt(name) + "' in header");
    }
    columns_.push_back(Column{name, ColumnType::kNumeric});
  }
  infer_types();
}

bool CsvDecoder::refill() {
  if (eof_) return false;
  // Keep unconsumed bytes (and those held by keep_); grow when they fill the buffer.
  size_t from = std::min(start_, keep_);
  if (from > 0) {
    std::memmove(buf_.data(), buf_.data() + from, end_ - from);
    end_ -= from;
    start_ -= from;
    if (keep_ != kNoKeep) keep_ -= from;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  size_t got = in_->read(buf_.data() + end_, buf_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool CsvDecoder::next_record(const char*& begin, const char*& end, uint64_t& line) {
  for (;;) {
    size_t scan = start_;  // where to look for the next line end
    bool in_quotes = false;
    uint64_t newlines = 0;
    for (;;) {
      const char* base = buf_.data();
      const char* p = base + scan;
      const char* limit = base + end_;
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', limit - p));
      const char* stop = nl ? nl : limit;
      // Quotes toggle the state; "" inside a quoted field toggles twice.
      for (const char* q = static_cast<const char*>(std::memchr(p, '"', stop - p)); q;
           q = static_cast<const char*>(std::memchr(q + 1, '"', stop - q - 1))) {
        in_quotes = !in_quotes;
      }
      if (nl && !in_quotes) {
        begin = base + start_;
        end = nl;
        line = line_ + 1;
        line_ += newlines + 1;
        start_ = static_cast<size_t>(nl - base) + 1;
        break;
      }
      if (nl) {  // a line break inside quotes belongs to the field
        ++newlines;
        scan = static_cast<size_t>(nl - base) + 1;
        continue;
      }
      // Offsets relative to start_ survive the compaction that refill() may do.
      size_t scanned = static_cast<size_t>(stop - base) - start_;
      if (!refill()) {
        if (start_ == end_) return false;
        // Last record without a final line end.
        begin = buf_.data() + start_;
        end = buf_.data() + end_;
        line = line_ + 1;
        line_ += newlines + 1;
        start_ = end_;
        break;
      }
      scan = start_ + scanned;
    }
    if (end > begin && end[-1] == '\r') --end;
    if (begin == end) continue;  // blank line
    return true;
  }
}

void CsvDecoder::split(const char* begin, const char* end) {
  field_count_ = 0;
  const char* p = begin;
  for (;;) {
    if (p < end && *p == '"') {
      const char* q = p + 1;
      for (;;) {
        q = static_cast<const char*>(std::memchr(q, '"', end - q));
        if (!q) {
          q = end;
          break;
        }
        if (q + 1 < end && q[1] == '"') {
          q += 2;
          continue;
        }
        break;
      }
      add_field(p + 1, q, true);
      p = q < end ? q + 1 : end;
      // Anything between the closing quote and the comma is kept out; RFC 4180 has none.
      const char* comma = static_cast<const char*>(std::memchr(p, ',', end - p));
      if (!comma) return;
      p = comma + 1;
    } else {
      const char* comma = static_cast<const char*>(std::memchr(p, ',', end - p));
      if (!comma) {
        add_field(p, end, false);
        return;
      }
      add_field(p, comma, false);
      p = comma + 1;
    }
  }
}

void CsvDecoder::infer_types() {
  // Scan the inference rows without consuming them: keep_ stops refill() from
  // dropping them, and the cursor is put back afterwards.
  std::vector<int> numeric(columns_.size(), 1);
  keep_ = start_;
  uint64_t saved_line = line_;
  const char* b;
  const char* e;
  uint64_t line;
  try {
    for (size_t seen = 0; seen < options_.infer_rows && next_record(b, e, line); ++seen) {
      split(b, e);
      if (field_count_ != columns_.size()) continue;
      for (size_t i = 0; i < field_count_; ++i) {
        if (!numeric[i] || fields_[i].begin == fields_[i].end) continue;
        double v;
        std::string_view t(fields_[i].begin, fields_[i].end - fields_[i].begin);
        if (!parse_number(t, v)) numeric[i] = 0;
      }
    }
  } catch (const ReadStopped&) {
    // A live source stopped before infer_rows rows came: the types are those of the rows
    // that did, and next() still returns those rows before it stops too.
  }
  start_ = keep_;
  keep_ = kNoKeep;
  line_ = saved_line;
  for (size_t i = 0; i < columns_.size(); ++i) {
    columns_[i].type = numeric[i] ? ColumnType::kNumeric : ColumnType::kCategorical;
    if (auto it = options_.types.find(columns_[i].name); it != options_.types.end()) {
      columns_[i].type = it->second;
    }
  }
}

bool CsvDecoder::next(Row& row) {
  const char* b;
  const char* e;
  uint64_t line;
  while (next_record(b, e, line)) {
    split(b, e);
    if (field_count_ != columns_.size()) {
      reject(line,
             "expected " + std::to_string(columns_.size()) + " fields, found " +
                 std::to_string(field_count_),
             record_text(b, e));
      continue;
    }
    row.values.resize(columns_.size());
    row.line = line;
    unescaped_.clear();
    unescaped_.reserve(static_cast<size_t>(e - b));
    bool bad = false;
    for (size_t i = 0; i < field_count_; ++i) {
      const Field& f = fields_[i];
      std::string_view text(f.begin, f.end - f.begin);
      if (f.quoted && text.find("\"\"") != std::string_view::npos) {
        size_t at = unescaped_.size();
        for (size_t k = 0; k < text.size(); ++k) {
          unescaped_.push_back(text[k]);
          if (text[k] == '"' && k + 1 < text.size() && text[k + 1] == '"') ++k;
        }
        text = std::string_view(unescaped_).substr(at);
      }
      Value& v = row.values[i];
      if (text.empty()) {
        v.kind = ValueKind::kMissing;
        continue;
      }
      if (columns_[i].type == ColumnType::kCategorical) {
        v.kind = ValueKind::kText;
        v.text = text;
        continue;
      }
      double x;
      if (!parse_number(text, x)) {
        reject(line,
               "column '" + excerpt(columns_[i].name, 100) + "': expected a number, got '" +
                   excerpt(text, 40) + "'",
               record_text(b, e));
        bad = true;
        break;
      }
      if (!std::isfinite(x)) {
        ++stats_.non_finite;
        v.kind = ValueKind::kMissing;
        continue;
      }
      v.kind = ValueKind::kNumber;
      v.number = x;
      v.text = text;
    }
    if (bad) continue;
    ++stats_.rows;
    return true;
  }
  return false;
}

}  // namespace rtml
