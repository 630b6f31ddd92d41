// Error: the one exception type rtml throws for bad configuration, bad files and
// misuse of the API. The per-event path never throws for bad input; it reports it.
#pragma once

#include <stdexcept>
#include <string>

namespace rtml {

// An error with a message meant for a person: it names the file, line, field or
// parameter at fault and says what was expected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace rtml
