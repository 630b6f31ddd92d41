// The live page that rtml serve answers GET / with: one HTML document, its script and
// style inline (no asset from the network), that polls GET /v1/overview.
#pragma once

#include <string_view>

namespace rtml::serve {

// The page's HTML. Static: the data comes from /v1/overview, so the page itself needs no
// token (it sends the one given in its URL as #token=... with each poll).
std::string_view live_page_html();

}  // namespace rtml::serve
