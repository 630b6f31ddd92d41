#include "rtml/features/aggregate_spec.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "rtml/core/error.h"

namespace rtml::features {
namespace {

constexpr std::pair<std::string_view, AggregateFunction> kFunctions[] = {
    {"count", AggregateFunction::kCount}, {"sum", AggregateFunction::kSum},
    {"mean", AggregateFunction::kMean},   {"min", AggregateFunction::kMin},
    {"max", AggregateFunction::kMax},     {"variance", AggregateFunction::kVariance},
    {"last", AggregateFunction::kLast},   {"distinct", AggregateFunction::kDistinct},
    {"topk", AggregateFunction::kTopK},
};

std::string format_duration(double s) {
  auto fmt = [](double v, const char* unit) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, r.ptr) + unit;
  };
  if (s >= 86400 && std::fmod(s, 86400) == 0) return fmt(s / 86400, "d");
  if (s >= 3600 && std::fmod(s, 3600) == 0) return fmt(s / 3600, "h");
  if (s >= 60 && std::fmod(s, 60) == 0) return fmt(s / 60, "m");
  if (s >= 1 && std::fmod(s, 1) == 0) return fmt(s, "s");
  return fmt(s * 1000, "ms");
}

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}

  AggregateSpec parse() {
    AggregateSpec s;
    s.name = word("an aggregate name");
    expect('=');
    std::string fn = word("a function");
    bool found = false;
    for (auto [n, f] : kFunctions) {
      if (n == fn) {
        s.function = f;
        found = true;
      }
    }
    if (!found) {
      fail("unknown function '" + fn +
           "' (valid: count, sum, mean, min, max, variance, last, distinct, topk)");
    }
    expect('(');
    s.field = word("a field name");
    skip();
    while (peek() == ',') {
      ++pos_;
      std::string key = word("a parameter");
      expect('=');
      double v = number();
      if (key == "k" && s.function == AggregateFunction::kTopK && v >= 1 && v <= 1000) {
        s.k = static_cast<int>(v);
      } else if (key == "precision" && s.function == AggregateFunction::kDistinct && v >= 4 &&
                 v <= 16) {
        s.precision = static_cast<int>(v);
      } else {
        fail("parameter '" + key +
             "' is not valid here (topk takes k=1..1000, distinct precision=4..16)");
      }
      skip();
    }
    expect(')');
    keyword("by");
    s.by = word("the entity the aggregate is kept by");
    std::string w = word("'over' or 'decay'");
    if (w == "over") {
      s.window_seconds = duration();
      s.window = WindowKind::kTumbling;
      s.hop_seconds = s.window_seconds;
    } else if (w == "decay") {
      s.window = WindowKind::kDecayed;
      s.window_seconds = duration();
      if (s.function != AggregateFunction::kCount && s.function != AggregateFunction::kSum &&
          s.function != AggregateFunction::kMean) {
        fail("decay works with count, sum and mean");
      }
    } else {
      fail("expected 'over' or 'decay', got '" + w + "'");
    }
    while (true) {
      skip();
      if (pos_ == t_.size()) break;
      std::string clause = word("a clause");
      if (clause == "every" && s.window != WindowKind::kDecayed) {
        s.hop_seconds = duration();
        s.window = WindowKind::kSliding;
        double n = s.window_seconds / s.hop_seconds;
        if (std::abs(n - std::round(n)) > 1e-9 || n < 1 || n > 100000) {
          fail("the window must be a whole number of steps (at most 100000)");
        }
      } else if (clause == "late") {
        s.lateness_seconds = duration();
      } else if (clause == "keep") {
        s.keep_seconds = duration();
      } else {
        fail("unexpected '" + clause + "' (expected every, late or keep)");
      }
    }
    if (s.keep_seconds < s.window_seconds) s.keep_seconds = s.window_seconds;
    return s;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("aggregate, column " + std::to_string(pos_ + 1) + ": " + what + "\n  " +
                std::string(t_) + "\n  " + std::string(pos_, ' ') + "^");
  }
  void skip() {
    while (pos_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < t_.size() ? t_[pos_] : '\0'; }
  void expect(char c) {
    skip();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string word(const char* what) {
    skip();
    size_t start = pos_;
    while (pos_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[pos_])) ||
                                t_[pos_] == '_' || t_[pos_] == '.')) {
      ++pos_;
    }
    if (start == pos_) fail(std::string("expected ") + what);
    return std::string(t_.substr(start, pos_ - start));
  }
  void keyword(const char* k) {
    std::string w = word(k);
    if (w != k) fail(std::string("expected '") + k + "', got '" + w + "'");
  }
  double number() {
    skip();
    double v;
    auto [p, ec] = std::from_chars(t_.data() + pos_, t_.data() + t_.size(), v);
    if (ec != std::errc()) fail("expected a number");
    pos_ = static_cast<size_t>(p - t_.data());
    return v;
  }
  double duration() {
    double v = number();
    std::string unit;
    while (pos_ < t_.size() && std::isalpha(static_cast<unsigned char>(t_[pos_])))
      unit += t_[pos_++];
    double scale = unit == "ms"  ? 0.001
                   : unit == "s" ? 1
                   : unit == "m" ? 60
                   : unit == "h" ? 3600
                   : unit == "d" ? 86400
                                 : -1;
    if (scale < 0) fail("expected a duration unit (ms, s, m, h, d) after " + std::to_string(v));
    if (!(v > 0)) fail("a duration must be positive");
    return v * scale;
  }

  std::string_view t_;
  size_t pos_ = 0;
};

}  // namespace

std::string AggregateSpec::to_string() const {
  std::string fn;
  for (auto [n, f] : kFunctions) {
    if (f == function) fn = n;
  }
  std::string s = name + " = " + fn + "(" + field;
  if (function == AggregateFunction::kTopK) s += ", k=" + std::to_string(k);
  if (function == AggregateFunction::kDistinct) s += ", precision=" + std::to_string(precision);
  s += ") by " + by;
  if (window == WindowKind::kDecayed) {
    s += " decay " + format_duration(window_seconds);
  } else {
    s += " over " + format_duration(window_seconds);
    if (window == WindowKind::kSliding) s += " every " + format_duration(hop_seconds);
  }
  if (lateness_seconds > 0) s += " late " + format_duration(lateness_seconds);
  if (keep_seconds > window_seconds) s += " keep " + format_duration(keep_seconds);
  return s;
}

AggregateSpec parse_aggregate(std::string_view text) { return Parser(text).parse(); }

std::vector<AggregateSpec> parse_aggregates(std::string_view text, std::string_view source) {
  std::vector<AggregateSpec> out;
  size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      out.push_back(parse_aggregate(line));
    } catch (const Error& e) {
      throw Error(std::string(source) + ":" + std::to_string(line_no) + ": " + e.what());
    }
    for (size_t i = 0; i + 1 < out.size(); ++i) {
      if (out[i].name == out.back().name) {
        throw Error(std::string(source) + ":" + std::to_string(line_no) + ": aggregate '" +
                    out.back().name + "' declared twice");
      }
    }
  }
  return out;
}

}  // namespace rtml::features
