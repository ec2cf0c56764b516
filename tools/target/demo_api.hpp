// strain-target's demo API under /api/: login and bearer tokens, an item store, and a checkout.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tools/target/stats.hpp"

namespace strain::target {

// One /api request, as the connection read it. Views are valid for the call only.
struct ApiRequest {
  std::string_view method;         // "GET", "POST", ...
  std::string_view path;           // "/api/items/7", without the query
  std::string_view query;          // after '?', without it; empty when absent
  std::string_view authorization;  // the Authorization field's value; empty when absent
  std::string_view body;           // the whole request body
};

// The answer: a status and a JSON body (empty for 204).
struct ApiResponse {
  int status = 200;
  std::string body;              // JSON text, no trailing newline
  std::string_view extra_field;  // a whole "Name: value" field or empty; static storage
};

// Bounds of the per-process state, so a long load test cannot grow the server without limit.
struct ApiLimits {
  std::size_t max_items = 100'000;  // beyond: POST /api/items answers 507
  std::size_t max_carts = 100'000;  // beyond: POST /api/cart evicts the oldest cart
};

// Request bodies of /api requests are kept up to this size; larger ones are answered 413.
inline constexpr std::size_t kMaxApiBodyBytes = 1 << 20;

// Whether `path` is the demo API's: "/api" or "/api/...". A few byte compares, for every request.
constexpr bool is_api_path(std::string_view path) noexcept {
  return path.size() >= 4 && path.substr(0, 4) == "/api" && (path.size() == 4 || path[4] == '/');
}

// {"error":"<message>"}, escaped (invalid UTF-8 replaced), for any /api error.
std::string api_error_body(std::string_view message);

// SipHash-2-4 (Aumasson and Bernstein, 2012) of `data` under a 128-bit key: the token's MAC.
std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, std::string_view data) noexcept;

// The API's logic and state, independent of sockets. Shared by all workers: handle() may be
// called from any thread at once; items and carts are each behind one mutex. Tokens carry their
// own proof (a keyed MAC of the user), so checking one needs no shared state.
class DemoApi {
 public:
  using Secret = std::array<std::uint8_t, 16>;

  // Tokens signed with a fresh random secret: valid only for this process.
  explicit DemoApi(ApiLimits limits = {});
  // Tokens signed with `secret`, for tests.
  DemoApi(ApiLimits limits, const Secret& secret);
  DemoApi(const DemoApi&) = delete;
  DemoApi& operator=(const DemoApi&) = delete;

  // Answers one request. Any thread; bumps `counters`, which the calling thread owns.
  ApiResponse handle(const ApiRequest& request, ApiCounters& counters);

  // "u.<user>.<16 hex digits of siphash24(secret, user)>". `user` must be a valid user name.
  std::string issue_token(std::string_view user) const;
  // The user a token was issued to (a view into `token`), or empty if it is not one of ours.
  std::string_view verify_token(std::string_view token) const noexcept;

  // Items in the store now. Any thread.
  std::size_t item_count() const;

 private:
  struct Item {
    std::string name;
    double price = 0;
    std::string owner;  // the user who created it
  };
  struct CartLine {
    int product = 0;        // product id, 1..20
    std::uint64_t qty = 0;  // sum of the quantities added
  };
  struct Cart {
    std::vector<CartLine> lines;  // at most one per product, so at most 20
  };

  ApiResponse login(const ApiRequest& request, ApiCounters& counters) const;
  ApiResponse create_item(const ApiRequest& request, std::string_view user, ApiCounters& counters);
  ApiResponse list_items(const ApiRequest& request, ApiCounters& counters) const;
  ApiResponse read_item(std::uint64_t id, ApiCounters& counters) const;
  ApiResponse update_item(const ApiRequest& request, std::uint64_t id, ApiCounters& counters);
  ApiResponse delete_item(std::uint64_t id, ApiCounters& counters);
  ApiResponse create_cart(ApiCounters& counters);
  ApiResponse add_to_cart(const ApiRequest& request, std::uint64_t id, ApiCounters& counters);
  ApiResponse checkout(std::uint64_t id, ApiCounters& counters);

  ApiLimits limits_;
  Secret secret_;

  mutable std::mutex items_mutex_;
  std::map<std::uint64_t, Item> items_;  // by id, so pages come out in id order
  std::uint64_t next_item_id_ = 1;

  std::mutex carts_mutex_;
  std::map<std::uint64_t, Cart> carts_;  // by id: the first is the oldest, evicted first
  std::uint64_t next_cart_id_ = 1;
  std::uint64_t next_order_id_ = 1;
};

}  // namespace strain::target
