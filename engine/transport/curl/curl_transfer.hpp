// A finished libcurl transfer read into strain's Exchange: status or failure kind, the set-up
// phases of a new connection, bytes each way. Separate from the session that drives it so the
// reading (libcurl's counters and their quirks) stays in one place.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>

#include "engine/transport/http_client.hpp"

namespace strain {

// What the session itself saw of the transfer (libcurl's own times come from a clock it
// samples once per call, so the send and the end are read by strain).
struct TransferMarks {
  std::int64_t done_ns = 0;           // reaped
  std::int64_t socket_opened_ns = 0;  // this transfer's last new socket; 0: none opened
  bool has_body = false;              // the request had a body (POSTFIELDS)
  std::size_t body_bytes = 0;         // and its size
  bool require_h2 = false;            // --http2: an answer over HTTP/1.x is a failure
  const char* error_text = "";        // libcurl's error buffer, never null
};

// Fills `ex` (whose sent_ns and first_byte_ns the session's callbacks set, 0 if they never
// ran) from the easy handle after curl_multi_info_read said `code`. Returns whether it failed
// before the request went out (a connect, TLS or name lookup failure: the next one backs off).
bool read_transfer(CURL* easy, CURLcode code, const TransferMarks& marks, Exchange& ex);

}  // namespace strain
