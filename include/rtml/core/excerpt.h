// excerpt(): how an error message quotes a piece of the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rtml {

// The longest piece of input a message quotes by default: enough to recognise a value or
// a header, never the whole of a 10 MB line.
inline constexpr size_t kExcerptBytes = 200;

// text as a message may quote it: at most max_bytes of it (cut at a UTF-8 character
// boundary, then "... (N bytes)" with the full size), control bytes written as \n, \t,
// \r or \xNN so that a quote stays on one line. Thread-safe (a pure function).
std::string excerpt(std::string_view text, size_t max_bytes = kExcerptBytes);

}  // namespace rtml
