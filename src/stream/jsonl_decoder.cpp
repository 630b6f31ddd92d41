#include "rtml/stream/jsonl_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"

namespace rtml {
namespace {

// A record is an object of scalars (depth 1), so a nested value is refused where it is
// met, without descending into it; this depth only decides which message a refused line
// gets: "nested deeper than 64 levels" for a line such as 50,000 brackets (which, parsed
// recursively by the JSON library used before, overflowed the stack), "nested objects
// and arrays are not supported" for mistakes of a reasonable shape.
constexpr int kMaxDepth = 64;

// simdjson reads up to this many bytes past the end of a line: the read buffer keeps
// them allocated after its data.
constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;

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
  // Reused for every line: once it has seen the longest line it allocates nothing. Its
  // kernel is chosen at run time for the CPU (AVX-512, AVX2, SSE4.2).
  simdjson::dom::parser parser;
  // For a line with a number simdjson refuses (1e400, an integer past 64 bits), which
  // JSON allows: read as before simdjson, 1e400 as infinity, a huge integer as a double.
  nlohmann::ordered_json doc;
};

// One field's value, from either parser.
struct JsonLinesDecoder::Scalar {
  enum Kind { kNull, kNumber, kBool, kString, kNested } kind = kNull;
  double number = 0;
  enum Integer { kNot, kSigned, kUnsigned } integer = kNot;
  int64_t i = 0;
  uint64_t u = 0;
  bool b = false;
  std::string_view text;
};

JsonLinesDecoder::JsonLinesDecoder(std::unique_ptr<ByteSource> in, DecodeOptions options)
    : RowSource(in->name(), std::move(options)),
      in_(std::move(in)),
      buf_((1 << 20) + kPadding),
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
    if (end_ + kPadding == buf_.size()) buf_.resize((buf_.size() - kPadding) * 2 + kPadding);
    size_t got = in_->read(buf_.data() + end_, buf_.size() - kPadding - end_);
    if (got == 0) eof_ = true;
    end_ += got;
  }
}

std::string JsonLinesDecoder::decode(std::string_view line, Row& row) {
  // A refused line that nests deeper than kMaxDepth says so first, whatever else is wrong.
  auto refuse = [&](std::string reason) {
    if (nested_deeper_than(line, kMaxDepth)) {
      return "nested deeper than " + std::to_string(kMaxDepth) + " levels";
    }
    return reason;
  };
  // The line lies in buf_, which has at least kPadding readable bytes after its end.
  simdjson::dom::element doc;
  auto error = parsed_->parser.parse(line.data(), line.size(), false).get(doc);
  if (error == simdjson::NUMBER_ERROR) {
    return refuse(decode_lenient(line, row));
  }
  if (error) return refuse("not valid JSON");
  simdjson::dom::object object;
  if (doc.get_object().get(object)) return refuse("expected a JSON object");
  for (auto& v : row.values) v.kind = ValueKind::kMissing;
  Scalar v;
  for (auto [key, val] : object) {
    v = Scalar{};
    switch (val.type()) {
      case simdjson::dom::element_type::ARRAY:
      case simdjson::dom::element_type::OBJECT:
        v.kind = Scalar::kNested;
        break;
      case simdjson::dom::element_type::INT64:
        v.kind = Scalar::kNumber;
        v.integer = Scalar::kSigned;
        v.i = val.get_int64().value_unsafe();
        v.number = static_cast<double>(v.i);
        break;
      case simdjson::dom::element_type::UINT64:
        v.kind = Scalar::kNumber;
        v.integer = Scalar::kUnsigned;
        v.u = val.get_uint64().value_unsafe();
        v.number = static_cast<double>(v.u);
        break;
      case simdjson::dom::element_type::DOUBLE:
        v.kind = Scalar::kNumber;
        v.number = val.get_double().value_unsafe();
        break;
      case simdjson::dom::element_type::STRING:
        v.kind = Scalar::kString;
        v.text = val.get_string().value_unsafe();
        break;
      case simdjson::dom::element_type::BOOL:
        v.kind = Scalar::kBool;
        v.b = val.get_bool().value_unsafe();
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        break;
    }
    std::string reason = put_field(key, v, row);
    if (!reason.empty()) return refuse(std::move(reason));
  }
  return {};
}

std::string JsonLinesDecoder::decode_lenient(std::string_view line, Row& row) {
  auto& doc = parsed_->doc;
  doc = nlohmann::ordered_json::parse(line.begin(), line.end(), nullptr, false);
  if (doc.is_discarded()) return "not valid JSON";
  if (!doc.is_object()) return "expected a JSON object";
  for (auto& v : row.values) v.kind = ValueKind::kMissing;
  Scalar v;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const auto& val = it.value();
    v = Scalar{};
    if (val.is_object() || val.is_array()) {
      v.kind = Scalar::kNested;
    } else if (val.is_number_unsigned()) {
      v.kind = Scalar::kNumber;
      v.integer = Scalar::kUnsigned;
      v.u = val.get<uint64_t>();
      v.number = static_cast<double>(v.u);
    } else if (val.is_number_integer()) {
      v.kind = Scalar::kNumber;
      v.integer = Scalar::kSigned;
      v.i = val.get<int64_t>();
      v.number = static_cast<double>(v.i);
    } else if (val.is_number()) {
      v.kind = Scalar::kNumber;
      v.number = val.get<double>();
    } else if (val.is_string()) {
      v.kind = Scalar::kString;
      v.text = val.get_ref<const std::string&>();
    } else if (val.is_boolean()) {
      v.kind = Scalar::kBool;
      v.b = val.get<bool>();
    }
    std::string reason = put_field(it.key(), v, row);
    if (!reason.empty()) return reason;
  }
  return {};
}

std::string JsonLinesDecoder::put_field(std::string_view key, const Scalar& v, Row& row) {
  if (v.kind == Scalar::kNested) {
    return "field '" + excerpt(key, 100) + "': nested objects and arrays are not supported";
  }
  uint32_t col;
  if (auto found = column_index_.find(key); found != column_index_.end()) {
    col = found->second;
  } else {
    if (v.kind == Scalar::kNull) return {};  // type unknown until a value appears
    ColumnType type = v.kind == Scalar::kNumber ? ColumnType::kNumeric : ColumnType::kCategorical;
    if (auto o = options_.types.find(key); o != options_.types.end()) type = o->second;
    col = static_cast<uint32_t>(columns_.size());
    columns_.push_back(Column{std::string(key), type});
    column_index_.emplace(std::string(key), col);
    text_.emplace_back();
  }
  if (row.values.size() < columns_.size()) row.values.resize(columns_.size());
  Value& out = row.values[col];
  out.kind = ValueKind::kMissing;  // a key given twice: its last value counts
  if (v.kind == Scalar::kNull) return {};
  if (columns_[col].type == ColumnType::kNumeric) {
    double x = v.number;
    if (v.kind == Scalar::kBool) {
      x = v.b ? 1.0 : 0.0;
    } else if (v.kind == Scalar::kString) {
      if (v.text.empty()) return {};
      if (!parse_number(v.text, x)) {
        return "field '" + excerpt(key, 100) + "': expected a number, got '" + excerpt(v.text, 40) +
               "'";
      }
    }
    if (!std::isfinite(x)) {
      ++stats_.non_finite;
      return {};
    }
    out.kind = ValueKind::kNumber;
    out.number = x;
    return {};
  }
  std::string& t = text_[col];
  if (v.kind == Scalar::kString) {
    if (v.text.empty()) return {};
    t.assign(v.text);
  } else if (v.kind == Scalar::kBool) {
    t = v.b ? "true" : "false";
  } else {
    // A number as a category: an integer as written, others in their shortest form.
    char tmp[32];
    std::to_chars_result r =
        v.integer == Scalar::kSigned     ? std::to_chars(tmp, tmp + sizeof(tmp), v.i)
        : v.integer == Scalar::kUnsigned ? std::to_chars(tmp, tmp + sizeof(tmp), v.u)
                                         : std::to_chars(tmp, tmp + sizeof(tmp), v.number);
    t.assign(tmp, r.ptr);
  }
  out.kind = ValueKind::kText;
  out.text = t;
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
      reject(line_, reason, line);
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
