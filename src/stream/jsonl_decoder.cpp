#include "rtml/stream/jsonl_decoder.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"

namespace rtml {
namespace {

// Lines nested deeper than this are refused before they are parsed. A record is an object
// of scalars (depth 1), so any cap above that only decides which message a nested line
// gets; 64 keeps the usual "nested objects and arrays are not supported" for mistakes of
// a reasonable shape. The cap exists because nlohmann::json builds and copies the
// document recursively: a line nested 50,000 deep overflowed the stack (signal 11).
constexpr int kMaxDepth = 64;

// True if the brackets of line, outside strings, nest deeper than max_depth. One pass,
// no allocation; a malformed line may pass and is then refused by the parser.
bool nested_deeper_than(std::string_view line, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace

struct JsonLinesDecoder::Parsed {
  nlohmann::ordered_json doc;  // keeps the file's key order for column order
};

JsonLinesDecoder::JsonLinesDecoder(std::unique_ptr<ByteSource> in, DecodeOptions options)
    : RowSource(in->name(), std::move(options)),
      in_(std::move(in)),
      buf_(1 << 20),
      parsed_(std::make_unique<Parsed>()) {}

JsonLinesDecoder::~JsonLinesDecoder() = default;

bool JsonLinesDecoder::next_line(std::string_view& line) {
  for (;;) {
    const char* base = buf_.data();
    const char* nl = static_cast<const char*>(std::memchr(base + start_, '\n', end_ - start_));
    if (nl) {
      line = std::string_view(base + start_, nl - (base + start_));
      start_ = static_cast<size_t>(nl - base) + 1;
      ++line_;
      return true;
    }
    if (eof_) {
      if (start_ == end_) return false;
      line = std::string_view(base + start_, end_ - start_);
      start_ = end_;
      ++line_;
      return true;
    }
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    size_t got = in_->read(buf_.data() + end_, buf_.size() - end_);
    if (got == 0) eof_ = true;
    end_ += got;
  }
}

std::string JsonLinesDecoder::decode(std::string_view line, Row& row) {
  if (nested_deeper_than(line, kMaxDepth)) {
    return "nested deeper than " + std::to_string(kMaxDepth) + " levels";
  }
  auto& doc = parsed_->doc;
  doc = nlohmann::ordered_json::parse(line.begin(), line.end(), nullptr, false);
  if (doc.is_discarded()) return "not valid JSON";
  if (!doc.is_object()) return "expected a JSON object";
  for (auto& v : row.values) v.kind = ValueKind::kMissing;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const auto& val = it.value();
    if (val.is_object() || val.is_array()) {
      return "field '" + excerpt(key, 100) + "': nested objects and arrays are not supported";
    }
    uint32_t col;
    if (auto found = column_index_.find(key); found != column_index_.end()) {
      col = found->second;
    } else {
      if (val.is_null()) continue;  // type unknown until a value appears
      ColumnType type = val.is_number() ? ColumnType::kNumeric : ColumnType::kCategorical;
      if (auto o = options_.types.find(key); o != options_.types.end()) type = o->second;
      col = static_cast<uint32_t>(columns_.size());
      columns_.push_back(Column{key, type});
      column_index_.emplace(key, col);
      text_.emplace_back();
    }
    if (row.values.size() < columns_.size()) row.values.resize(columns_.size());
    Value& out = row.values[col];
    if (val.is_null()) continue;
    if (columns_[col].type == ColumnType::kNumeric) {
      double x;
      if (val.is_number()) {
        x = val.get<double>();
      } else if (val.is_boolean()) {
        x = val.get<bool>() ? 1.0 : 0.0;
      } else {
        const auto& s = val.get_ref<const std::string&>();
        if (s.empty()) continue;
        if (!parse_number(s, x)) {
          return "field '" + excerpt(key, 100) + "': expected a number, got '" + excerpt(s, 40) +
                 "'";
        }
      }
      if (!std::isfinite(x)) {
        ++stats_.non_finite;
        continue;
      }
      out.kind = ValueKind::kNumber;
      out.number = x;
    } else {
      std::string& t = text_[col];
      if (val.is_string()) {
        t = val.get_ref<const std::string&>();
        if (t.empty()) continue;
      } else if (val.is_boolean()) {
        t = val.get<bool>() ? "true" : "false";
      } else if (val.is_number_integer()) {
        t = std::to_string(val.get<int64_t>());
      } else {
        char tmp[32];
        auto r = std::to_chars(tmp, tmp + sizeof(tmp), val.get<double>());
        t.assign(tmp, r.ptr);
      }
      out.kind = ValueKind::kText;
      out.text = t;
    }
  }
  return {};
}

bool JsonLinesDecoder::next(Row& row) {
  std::string_view line;
  while (next_line(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_ == 1 && line.size() >= 3 && std::memcmp(line.data(), "\xEF\xBB\xBF", 3) == 0) {
      line.remove_prefix(3);
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    row.values.resize(columns_.size());
    std::string reason = decode(line, row);
    if (!reason.empty()) {
      reject(line_, reason);
      continue;
    }
    row.values.resize(columns_.size());
    row.line = line_;
    ++stats_.rows;
    return true;
  }
  return false;
}

}  // namespace rtml
