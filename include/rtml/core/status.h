// Status: done, or why not.
#pragma once

#include <string>
#include <utility>

namespace rtml {

// The result of an operation that can refuse its input without that being a bug: ok,
// or the reason, a sentence naming the field or value and what was expected. An ok
// Status holds no memory, so returning one per event allocates nothing. [[nodiscard]]:
// a refusal is never dropped by accident.
class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status ok() { return Status(); }
  // A refusal; why must not be empty.
  static Status error(std::string why) {
    Status s;
    s.why_ = why.empty() ? std::string("refused (no reason given)") : std::move(why);
    return s;
  }

  bool is_ok() const { return why_.empty(); }
  explicit operator bool() const { return is_ok(); }
  // The reason, "" when ok.
  const std::string& why() const { return why_; }

 private:
  std::string why_;
};

}  // namespace rtml
