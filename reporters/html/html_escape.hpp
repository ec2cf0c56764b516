// Text made safe for HTML element content and double-quoted attribute values.
#pragma once

#include <string>
#include <string_view>

namespace strain::html {

// Replaces & < > " ' with character references; everything else (UTF-8 included) passes.
std::string escape(std::string_view text);

}  // namespace strain::html
