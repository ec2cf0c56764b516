// The page's fixed parts: its style sheet and its two small scripts, inlined so the page
// fetches nothing.
#pragma once

#include <string_view>

namespace strain::html {

// Light, print-friendly CSS; series colours are the classes s0..s9.
extern const std::string_view kStyleSheet;

// Hover read-out: a cursor on each chart and the axis values under the pointer. The charts
// are complete without it.
extern const std::string_view kHoverScript;

// On load, checks that every svg.chart drew something (each data path non-empty, the data's
// bounding box wider and, unless the chart is marked flat, taller than zero) and writes the
// outcome, the time since navigation start and the page's height into body[data-selfcheck],
// body[data-render-ms], body[data-page-px] and #selfcheck, where a headless browser's DOM dump
// shows them.
extern const std::string_view kSelfCheckScript;

}  // namespace strain::html
