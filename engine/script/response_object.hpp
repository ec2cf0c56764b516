// The response a script gets from http.*(): a userdata whose fields are made when first read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/outcome.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/response_parser.hpp"

struct lua_State;

namespace strain {

// Parses a captured raw response when a script first reads its fields or body. One per Lua
// state: the Lua C functions use it, so no C++ object with a destructor is live in them.
class RawResponseReader final : private http::ResponseObserver {
 public:
  explicit RawResponseReader(std::uint64_t max_body_bytes);
  // Parses as far as the bytes go: a truncated capture gives the body that was kept.
  void parse(std::string_view raw, bool head_request);
  const std::string& head() const noexcept { return head_; }  // name\0value\0 …
  const std::string& body() const noexcept { return body_; }
  std::uint64_t max_body_bytes() const noexcept { return max_body_bytes_; }
  // A message buffer for the Lua C functions (no std::string may be live at lua_error).
  std::string& scratch() noexcept { return scratch_; }

 private:
  void on_header(std::string_view name, std::string_view value) override;
  void on_body(std::string_view piece) override;

  http::ResponseParser parser_;
  std::string head_;
  std::string body_;
  std::string scratch_;
  std::uint64_t max_body_bytes_;
};

// What a response object is made from. Views are copied into the userdata.
struct ResponseParts {
  std::int64_t intended_ns = 0;  // the iteration's intended start, shifted by its lag
  std::int64_t sent_ns = 0;
  std::int64_t done_ns = 0;
  ExchangePhases phases;  // connecting, TLS, waiting, receiving (see http_client.hpp)
  int status = 0;
  ErrorKind error = ErrorKind::none;
  bool raw = false;              // `head` is the raw response, parsed when first read
  std::string_view head;         // raw bytes, or the fields as name\0value\0 …
  std::string_view body;         // not raw: the body as kept
  std::uint64_t body_bytes = 0;  // not raw: body bytes received; raw: bytes beyond the capture
  bool body_kept = true;         // discard_response_bodies is not set
  bool body_truncated = false;   // longer than max_body_bytes (or the capture's room)
  bool head_request = false;     // a response to HEAD: no body, whatever the headers say
};

// Creates the response metatable in L's registry and returns its reference. `reader` must
// outlive the state.
int make_response_metatable(lua_State* L, RawResponseReader& reader);
// Pushes a new response object onto `co`.
void push_response(lua_State* co, int metatable_ref, const ResponseParts& parts);

}  // namespace strain
