#include "tools/target/demo_api.hpp"

#include <charconv>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

namespace strain::target {
namespace {

// Insertion order, so answers read the way the API is documented: {"id":..,"name":..,...}.
using json = nlohmann::ordered_json;

struct Product {
  int id;
  const char* name;
  std::uint64_t price_cents;  // whole cents, so cart totals add up exactly
};

constexpr std::array<Product, 20> kProducts = {{
    {1, "Espresso beans 1kg", 2490},
    {2, "Filter papers (100)", 450},
    {3, "Ceramic mug", 1200},
    {4, "Milk frother", 3999},
    {5, "Burr grinder", 8900},
    {6, "Pour-over kettle", 4550},
    {7, "Glass carafe", 2275},
    {8, "Tamper", 1899},
    {9, "Descaler", 799},
    {10, "Travel cup", 1649},
    {11, "Green tea 250g", 1125},
    {12, "Cocoa 500g", 899},
    {13, "Oat milk 1l", 249},
    {14, "Biscotti", 399},
    {15, "Knock box", 2100},
    {16, "Scale 0.1g", 2999},
    {17, "Cold brew jar", 2650},
    {18, "Syrup, vanilla", 675},
    {19, "Cleaning brush", 350},
    {20, "Gift card", 5000},
}};

constexpr std::size_t kPageSize = 10;
constexpr std::size_t kMaxNameChars = 200;
constexpr std::size_t kMaxUserChars = 64;
constexpr int kMaxQty = 100;

constexpr std::string_view kAllowPost = "Allow: POST";
constexpr std::string_view kAllowGet = "Allow: GET";
constexpr std::string_view kAllowGetPost = "Allow: GET, POST";
constexpr std::string_view kAllowItem = "Allow: GET, PUT, DELETE";
constexpr std::string_view kBearerChallenge = "WWW-Authenticate: Bearer";

ApiResponse reply(int status, const json& body) {
  return ApiResponse{status, body.dump(), {}};
}

ApiResponse fail(int status, std::string_view message, std::string_view extra_field = {}) {
  return ApiResponse{status, api_error_body(message), extra_field};
}

double money(std::uint64_t cents) {
  return static_cast<double>(cents) / 100.0;
}

bool is_user_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool valid_user(std::string_view user) noexcept {
  if (user.empty() || user.size() > kMaxUserChars) return false;
  for (char c : user) {
    if (!is_user_char(c)) return false;
  }
  return true;
}

// Code points of valid UTF-8 (nlohmann has already checked it): bytes that do not continue one.
std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((static_cast<unsigned char>(a[i]) | 0x20) != (static_cast<unsigned char>(b[i]) | 0x20)) {
      return false;
    }
  }
  return true;
}

// A decimal id of 1 to 19 digits (so it fits), or nothing.
bool try_parse_id(std::string_view text, std::uint64_t& id) noexcept {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  std::from_chars(text.data(), text.data() + text.size(), id);
  return true;
}

// The request body as a JSON object, or a discarded value. Never throws.
json parse_object(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return json(json::value_t::discarded);
  return doc;
}

// An item's fields from a POST or PUT body; an error message if they are not usable.
const char* try_item_fields(std::string_view body, std::string& name, double& price) {
  const json doc = parse_object(body);
  if (doc.is_discarded()) return "body must be a JSON object";
  const auto n = doc.find("name");
  const auto p = doc.find("price");
  if (n == doc.end() || !n->is_string()) return "name must be a string";
  if (p == doc.end() || !p->is_number()) return "price must be a number";
  const auto& text = n->get_ref<const std::string&>();
  const auto chars = utf8_length(text);
  if (chars < 1 || chars > kMaxNameChars) return "name must be 1 to 200 characters";
  price = p->get<double>();
  // 1e999 parses as infinity; JSON cannot carry it back out.
  if (!(price >= 0) || !std::isfinite(price)) return "price must be a number >= 0";
  name = text;
  return nullptr;
}

// The product list never changes: made once, on first use.
const std::string& products_body() {
  static const std::string body = [] {
    json list = json::array();
    for (const auto& p : kProducts)
      list.push_back({{"id", p.id}, {"name", p.name}, {"price", money(p.price_cents)}});
    return json{{"products", std::move(list)}}.dump();
  }();
  return body;
}

// The routes: which one a path names, and the id in it.
enum class Route : std::uint8_t {
  none,
  login,
  items,
  item,
  products,
  carts,
  cart_items,
  checkout,
};

Route match(std::string_view path, std::uint64_t& id) {
  if (path.substr(0, 5) != "/api/") return Route::none;
  path.remove_prefix(5);
  if (path == "login") return Route::login;
  if (path == "items") return Route::items;
  if (path == "products") return Route::products;
  if (path == "cart") return Route::carts;
  if (path.substr(0, 6) == "items/") {
    return try_parse_id(path.substr(6), id) ? Route::item : Route::none;
  }
  if (path.substr(0, 5) == "cart/") {
    path.remove_prefix(5);
    const auto slash = path.find('/');
    if (slash == std::string_view::npos || !try_parse_id(path.substr(0, slash), id)) {
      return Route::none;
    }
    const auto rest = path.substr(slash + 1);
    if (rest == "items") return Route::cart_items;
    if (rest == "checkout") return Route::checkout;
  }
  return Route::none;
}

DemoApi::Secret random_secret() {
  std::random_device device;
  DemoApi::Secret secret{};
  for (std::size_t i = 0; i < secret.size(); i += 4) {
    const auto word = device();
    for (std::size_t k = 0; k < 4; ++k)
      secret[i + k] = static_cast<std::uint8_t>(word >> (8 * k));
  }
  return secret;
}

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

constexpr std::uint64_t rotl(std::uint64_t x, int b) noexcept {
  return (x << b) | (x >> (64 - b));
}

}  // namespace

std::string api_error_body(std::string_view message) {
  return json{{"error", std::string(message)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, std::string_view data) noexcept {
  const std::uint64_t k0 = load_le64(key.data());
  const std::uint64_t k1 = load_le64(key.data() + 8);
  std::uint64_t v0 = 0x736f6d6570736575ull ^ k0;
  std::uint64_t v1 = 0x646f72616e646f6dull ^ k1;
  std::uint64_t v2 = 0x6c7967656e657261ull ^ k0;
  std::uint64_t v3 = 0x7465646279746573ull ^ k1;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
  const std::size_t whole = data.size() / 8 * 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    const std::uint64_t m = load_le64(p + i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  // The last block: the leftover bytes, and the length's low byte on top.
  std::uint64_t m = static_cast<std::uint64_t>(data.size() & 0xff) << 56;
  for (std::size_t i = 0; i < data.size() - whole; ++i)
    m |= static_cast<std::uint64_t>(p[whole + i]) << (8 * i);
  v3 ^= m;
  round();
  round();
  v0 ^= m;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i)
    round();
  return v0 ^ v1 ^ v2 ^ v3;
}

DemoApi::DemoApi(ApiLimits limits) : DemoApi(limits, random_secret()) {}

DemoApi::DemoApi(ApiLimits limits, const Secret& secret) : limits_(limits), secret_(secret) {}

std::string DemoApi::issue_token(std::string_view user) const {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint64_t mac = siphash24(secret_, user);
  std::string token = "u.";
  token += user;
  token += '.';
  for (int shift = 60; shift >= 0; shift -= 4)
    token += kHex[(mac >> shift) & 0xf];
  return token;
}

std::string_view DemoApi::verify_token(std::string_view token) const noexcept {
  constexpr std::size_t kMacChars = 16;
  if (token.size() < 2 + 1 + 1 + kMacChars || token.substr(0, 2) != "u.") return {};
  const std::size_t dot = token.size() - kMacChars - 1;
  if (token[dot] != '.') return {};
  const auto user = token.substr(2, dot - 2);
  if (!valid_user(user)) return {};
  // Recompute and compare every byte, so the time taken says nothing about where they differ.
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint64_t mac = siphash24(secret_, user);
  unsigned diff = 0;
  for (std::size_t i = 0; i < kMacChars; ++i) {
    const char expected = kHex[(mac >> (60 - 4 * i)) & 0xf];
    diff |= static_cast<unsigned>(static_cast<unsigned char>(token[dot + 1 + i]) ^
                                  static_cast<unsigned char>(expected));
  }
  return diff == 0 ? user : std::string_view{};
}

std::size_t DemoApi::item_count() const {
  const std::lock_guard lock(items_mutex_);
  return items_.size();
}

ApiResponse DemoApi::handle(const ApiRequest& request, ApiCounters& counters) {
  ApiCounters::bump(counters.requests);
  std::uint64_t id = 0;
  const Route route = match(request.path, id);
  const auto method = request.method;

  // Route and method first: a 404 or 405 is the same with or without a token.
  switch (route) {
    case Route::none:
      return fail(404, "no such route");
    case Route::login:
      if (method != "POST") return fail(405, "method not allowed", kAllowPost);
      return login(request, counters);
    case Route::items:
      if (method != "GET" && method != "POST") {
        return fail(405, "method not allowed", kAllowGetPost);
      }
      break;
    case Route::item:
      if (method != "GET" && method != "PUT" && method != "DELETE") {
        return fail(405, "method not allowed", kAllowItem);
      }
      break;
    case Route::products:
      if (method != "GET") return fail(405, "method not allowed", kAllowGet);
      break;
    case Route::carts:
    case Route::cart_items:
    case Route::checkout:
      if (method != "POST") return fail(405, "method not allowed", kAllowPost);
      break;
  }

  std::string_view user;
  auto auth = request.authorization;
  if (auth.size() > 7 && iequals(auth.substr(0, 7), "bearer ")) {
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ')
      auth.remove_prefix(1);
    user = verify_token(auth);
  }
  if (user.empty()) {
    ApiCounters::bump(counters.unauthorized);
    return fail(401, "missing or bad token", kBearerChallenge);
  }

  switch (route) {
    case Route::items:
      return method == "GET" ? list_items(request, counters) : create_item(request, user, counters);
    case Route::item:
      if (method == "GET") return read_item(id, counters);
      if (method == "PUT") return update_item(request, id, counters);
      return delete_item(id, counters);
    case Route::products:
      return ApiResponse{200, products_body(), {}};
    case Route::carts:
      return create_cart(counters);
    case Route::cart_items:
      return add_to_cart(request, id, counters);
    case Route::checkout:
      return checkout(id, counters);
    default:
      return fail(404, "no such route");
  }
}

ApiResponse DemoApi::login(const ApiRequest& request, ApiCounters& counters) const {
  const json doc = parse_object(request.body);
  if (doc.is_discarded()) return fail(400, "body must be a JSON object");
  const auto u = doc.find("user");
  const auto p = doc.find("pass");
  if (u == doc.end() || p == doc.end() || !u->is_string() || !p->is_string()) {
    return fail(400, "user and pass must be strings");
  }
  const auto& user = u->get_ref<const std::string&>();
  const auto& pass = p->get_ref<const std::string&>();
  if (!valid_user(user) || pass.size() != user.size() + 3 || pass.compare(0, 3, "pw-") != 0 ||
      pass.compare(3, std::string::npos, user) != 0) {
    ApiCounters::bump(counters.logins_failed);
    return fail(401, "bad credentials");
  }
  ApiCounters::bump(counters.logins_ok);
  return reply(200, json{{"token", issue_token(user)}, {"user", user}});
}

ApiResponse DemoApi::create_item(const ApiRequest& request, std::string_view user,
                                 ApiCounters& counters) {
  Item item;
  if (const char* error = try_item_fields(request.body, item.name, item.price)) {
    return fail(400, error);
  }
  item.owner = user;
  std::uint64_t id = 0;
  {
    const std::lock_guard lock(items_mutex_);
    if (items_.size() >= limits_.max_items) return fail(507, "store full");
    id = next_item_id_++;
    items_.emplace(id, item);
  }
  ApiCounters::bump(counters.items_created);
  return reply(201,
               json{{"id", id}, {"name", item.name}, {"price", item.price}, {"owner", item.owner}});
}

ApiResponse DemoApi::list_items(const ApiRequest& request, ApiCounters& counters) const {
  std::uint64_t page = 1;
  for (auto query = request.query; !query.empty();) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (param.substr(0, 5) != "page=") continue;
    // Cap the page so page * size cannot overflow.
    if (!try_parse_id(param.substr(5), page) || page < 1 || page > 1'000'000'000) {
      return fail(400, "page must be a whole number from 1");
    }
  }
  json list = json::array();
  std::size_t total = 0;
  {
    const std::lock_guard lock(items_mutex_);
    total = items_.size();
    const auto skip = (page - 1) * kPageSize;
    // Walking to the page is linear in its offset; the store is bounded, and page 1 is free.
    if (skip < total) {
      auto it = std::next(items_.begin(), static_cast<std::ptrdiff_t>(skip));
      for (std::size_t n = 0; n < kPageSize && it != items_.end(); ++n, ++it) {
        list.push_back({{"id", it->first},
                        {"name", it->second.name},
                        {"price", it->second.price},
                        {"owner", it->second.owner}});
      }
    }
  }
  ApiCounters::bump(counters.items_read);
  return reply(200, json{{"page", page}, {"items", std::move(list)}, {"total", total}});
}

ApiResponse DemoApi::read_item(std::uint64_t id, ApiCounters& counters) const {
  json body;
  {
    const std::lock_guard lock(items_mutex_);
    const auto it = items_.find(id);
    if (it == items_.end()) return fail(404, "no such item");
    body = {{"id", id},
            {"name", it->second.name},
            {"price", it->second.price},
            {"owner", it->second.owner}};
  }
  ApiCounters::bump(counters.items_read);
  return reply(200, body);
}

ApiResponse DemoApi::update_item(const ApiRequest& request, std::uint64_t id,
                                 ApiCounters& counters) {
  std::string name;
  double price = 0;
  if (const char* error = try_item_fields(request.body, name, price)) return fail(400, error);
  json body;
  {
    const std::lock_guard lock(items_mutex_);
    const auto it = items_.find(id);
    if (it == items_.end()) return fail(404, "no such item");
    it->second.name = std::move(name);
    it->second.price = price;
    body = {{"id", id},
            {"name", it->second.name},
            {"price", it->second.price},
            {"owner", it->second.owner}};
  }
  ApiCounters::bump(counters.items_updated);
  return reply(200, body);
}

ApiResponse DemoApi::delete_item(std::uint64_t id, ApiCounters& counters) {
  {
    const std::lock_guard lock(items_mutex_);
    if (items_.erase(id) == 0) return fail(404, "no such item");
  }
  ApiCounters::bump(counters.items_deleted);
  return ApiResponse{204, {}, {}};
}

ApiResponse DemoApi::create_cart(ApiCounters& counters) {
  std::uint64_t id = 0;
  {
    const std::lock_guard lock(carts_mutex_);
    // Abandoned carts are the norm in a load test: drop the oldest rather than refuse new ones.
    if (carts_.size() >= limits_.max_carts && !carts_.empty()) carts_.erase(carts_.begin());
    id = next_cart_id_++;
    carts_.emplace(id, Cart{});
  }
  ApiCounters::bump(counters.carts_created);
  return reply(201, json{{"cart", id}});
}

ApiResponse DemoApi::add_to_cart(const ApiRequest& request, std::uint64_t id,
                                 ApiCounters& counters) {
  const json doc = parse_object(request.body);
  if (doc.is_discarded()) return fail(400, "body must be a JSON object");
  const auto p = doc.find("product");
  const auto q = doc.find("qty");
  if (p == doc.end() || !p->is_number_integer() || q == doc.end() || !q->is_number_integer()) {
    return fail(400, "product and qty must be whole numbers");
  }
  // Unsigned first: a huge number must not wrap into range.
  const bool product_ok = p->is_number_unsigned() && p->get<std::uint64_t>() >= 1 &&
                          p->get<std::uint64_t>() <= kProducts.size();
  if (!product_ok) return fail(400, "no such product");
  const bool qty_ok = q->is_number_unsigned() && q->get<std::uint64_t>() >= 1 &&
                      q->get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxQty);
  if (!qty_ok) return fail(400, "qty must be 1 to 100");
  const int product = static_cast<int>(p->get<std::uint64_t>());
  const std::uint64_t qty = q->get<std::uint64_t>();

  std::size_t lines = 0;
  std::uint64_t total_cents = 0;
  {
    const std::lock_guard lock(carts_mutex_);
    const auto it = carts_.find(id);
    if (it == carts_.end()) return fail(404, "no such cart");
    auto& cart_lines = it->second.lines;
    bool merged = false;
    for (auto& line : cart_lines) {
      if (line.product == product) {
        line.qty += qty;
        merged = true;
      }
    }
    if (!merged) cart_lines.push_back(CartLine{product, qty});
    lines = cart_lines.size();
    for (const auto& line : cart_lines)
      total_cents += kProducts[static_cast<std::size_t>(line.product - 1)].price_cents * line.qty;
  }
  ApiCounters::bump(counters.cart_adds);
  return reply(200, json{{"cart", id}, {"items", lines}, {"total", money(total_cents)}});
}

ApiResponse DemoApi::checkout(std::uint64_t id, ApiCounters& counters) {
  std::uint64_t order = 0;
  std::uint64_t total_cents = 0;
  {
    const std::lock_guard lock(carts_mutex_);
    const auto it = carts_.find(id);
    if (it == carts_.end()) return fail(404, "no such cart");
    if (it->second.lines.empty()) return fail(409, "cart is empty");
    for (const auto& line : it->second.lines)
      total_cents += kProducts[static_cast<std::size_t>(line.product - 1)].price_cents * line.qty;
    carts_.erase(it);
    order = next_order_id_++;
  }
  ApiCounters::bump(counters.orders);
  return reply(200, json{{"order", order}, {"total", money(total_cents)}});
}

}  // namespace strain::target
