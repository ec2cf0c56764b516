// What a transport tells a response's reader (a script's VU): fields and body pieces, whatever
// the protocol they came in (HTTP/1.1 parsed here, HTTP/2 and the rest by libcurl).
#pragma once

#include <string_view>

namespace strain::http {

// Optional receiver of fields and body pieces; calls come from the transport while it reads.
class ResponseObserver {
 public:
  virtual ~ResponseObserver() = default;
  // One field of the final response, then its trailers if any; 1xx and redirect responses'
  // fields are not reported. Value without surrounding whitespace. Valid only during the call.
  virtual void on_header(std::string_view name, std::string_view value) = 0;
  // The next piece of the body, framing removed. Valid only during the call.
  virtual void on_body(std::string_view piece) = 0;
};

}  // namespace strain::http
