#include "tools/target/demo_api.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace strain::target;
using nlohmann::json;

namespace {

constexpr DemoApi::Secret kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct Reply {
  int status = 0;
  json body;  // null when the body is empty
  std::string raw;
  std::string extra_field;
};

// One request through the API, the way a connection would hand it over.
Reply call(DemoApi& api, ApiCounters& counters, std::string_view method, std::string_view target,
           std::string_view body = {}, std::string_view authorization = {}) {
  const auto q = target.find('?');
  ApiRequest request;
  request.method = method;
  request.path = target.substr(0, q);
  request.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  request.authorization = authorization;
  request.body = body;
  const ApiResponse r = api.handle(request, counters);
  Reply out;
  out.status = r.status;
  out.raw = r.body;
  out.extra_field = std::string(r.extra_field);
  if (!r.body.empty()) out.body = json::parse(r.body);
  return out;
}

// A logged-in client of one API: every call carries its bearer token.
struct Session {
  DemoApi& api;
  ApiCounters& counters;
  std::string auth;

  Session(DemoApi& a, ApiCounters& c, const std::string& user) : api(a), counters(c) {
    const auto r = call(api, counters, "POST", "/api/login",
                        json{{"user", user}, {"pass", "pw-" + user}}.dump());
    REQUIRE(r.status == 200);
    auth = "Bearer " + r.body["token"].get<std::string>();
  }
  Reply operator()(std::string_view method, std::string_view target, std::string_view body = {}) {
    return call(api, counters, method, target, body, auth);
  }
};

std::uint64_t n(const std::atomic<std::uint64_t>& counter) {
  return counter.load();
}

std::string item_body(const std::string& name, double price) {
  return json{{"name", name}, {"price", price}}.dump();
}

}  // namespace

TEST_CASE("siphash24 matches the reference vectors") {
  // Key 00..0f, message 00 01 .. (len-1): vectors.h of the SipHash reference code.
  DemoApi::Secret key{};
  for (std::size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<std::uint8_t>(i);
  std::string message;
  for (int i = 0; i < 17; ++i)
    message += static_cast<char>(i);
  auto of_length = [&](std::size_t len) {
    return siphash24(key, std::string_view(message).substr(0, len));
  };
  CHECK(of_length(0) == 0x726fdb47dd0e0e31ull);
  CHECK(of_length(7) == 0xab0200f58b01d137ull);
  CHECK(of_length(8) == 0x93f5f5799a932462ull);
  CHECK(of_length(15) == 0xa129ca6149be45e5ull);
  CHECK(of_length(16) == 0x3f2acc7f57c29bdbull);
  CHECK(of_length(17) == 0x699ae9f52cbe4794ull);
}

TEST_CASE("is_api_path: /api and below, nothing else") {
  CHECK(is_api_path("/api"));
  CHECK(is_api_path("/api/"));
  CHECK(is_api_path("/api/items/3"));
  CHECK_FALSE(is_api_path("/"));
  CHECK_FALSE(is_api_path("/ap"));
  CHECK_FALSE(is_api_path("/apis"));
  CHECK_FALSE(is_api_path("/x/api/items"));
  CHECK_FALSE(is_api_path("/__strain/stats"));
}

TEST_CASE("login: good credentials give a token; bad ones 401; malformed bodies 400") {
  DemoApi api({}, kSecret);
  ApiCounters c;
  auto r = call(api, c, "POST", "/api/login", R"({"user":"alice","pass":"pw-alice"})");
  CHECK(r.status == 200);
  CHECK(r.body["user"] == "alice");
  const auto token = r.body["token"].get<std::string>();
  CHECK(token.rfind("u.alice.", 0) == 0);
  CHECK(token.size() == 8 + 16);
  CHECK(api.verify_token(token) == "alice");

  // Users of every allowed character and of the longest allowed length.
  const std::string longest(64, 'z');
  for (const std::string& user :
       std::vector<std::string>{"a", "A.b-c_9", "user.0042", longest.c_str()}) {
    CAPTURE(user);
    r = call(api, c, "POST", "/api/login", json{{"user", user}, {"pass", "pw-" + user}}.dump());
    CHECK(r.status == 200);
    CHECK(r.body["user"] == user);
  }

  // Wrong password, or a user name outside the rules even with the matching password.
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"alice", "pw-bob"},
      {"alice", "alice"},
      {"alice", "pw-alice "},
      {"alice", "PW-alice"},
      {"alice", ""},
      {"", "pw-"},
      {"a b", "pw-a b"},
      {"al/ce", "pw-al/ce"},
      {std::string(65, 'z'), "pw-" + std::string(65, 'z')},
      {"é", "pw-é"},
      {"alice", "pw-alicealice"},
  };
  for (const auto& [user, pass] : refused) {
    CAPTURE(user);
    CAPTURE(pass);
    r = call(api, c, "POST", "/api/login", json{{"user", user}, {"pass", pass}}.dump());
    CHECK(r.status == 401);
    CHECK(r.raw == R"({"error":"bad credentials"})");
  }

  for (const std::string& body :
       std::vector<std::string>{"", "not json", "[1,2]", "\"alice\"", "{\"user\":\"alice\"}",
                                R"({"pass":"pw-alice"})", R"({"user":1,"pass":"pw-1"})",
                                R"({"user":"alice","pass":null})", "{\"user\":\"alice\","}) {
    CAPTURE(body);
    r = call(api, c, "POST", "/api/login", body);
    CHECK(r.status == 400);
    CHECK(r.body["error"].is_string());
  }

  r = call(api, c, "GET", "/api/login");
  CHECK(r.status == 405);
  CHECK(r.extra_field == "Allow: POST");

  CHECK(n(c.logins_ok) == 5);
  CHECK(n(c.logins_failed) == refused.size());
  CHECK(n(c.unauthorized) == 0);
  CHECK(n(c.requests) == 5 + refused.size() + 9 + 1);
}

TEST_CASE("tokens: forged, tampered, foreign and malformed ones are refused") {
  DemoApi api({}, kSecret);
  ApiCounters c;
  const std::string token = api.issue_token("alice");
  CHECK(api.verify_token(token) == "alice");

  // Every single-character change of the MAC is caught.
  for (std::size_t i = token.size() - 16; i < token.size(); ++i) {
    std::string forged = token;
    forged[i] = forged[i] == '0' ? '1' : '0';
    CHECK(api.verify_token(forged).empty());
  }
  // Another user with alice's MAC, and alice's name with bob's MAC.
  const std::string bob = api.issue_token("bob");
  CHECK(api.verify_token("u.bob." + token.substr(token.size() - 16)).empty());
  CHECK(api.verify_token("u.alice." + bob.substr(bob.size() - 16)).empty());
  // A token from another process (another secret).
  DemoApi other({}, DemoApi::Secret{});
  CHECK(other.verify_token(token).empty());
  CHECK(DemoApi().verify_token(token).empty());  // a random secret
  // Shapes that are not tokens at all.
  std::string upper = token;
  for (auto& ch : upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const std::string& bad : std::vector<std::string>{
           std::string(), std::string("u."), std::string("x") + token.substr(1),
           token.substr(0, token.size() - 1), token + "0", upper, "u..0123456789abcdef",
           "u.a b." + token.substr(token.size() - 16)}) {
    CAPTURE(bad);
    CHECK(api.verify_token(bad).empty());
  }

  // Through the API: the Authorization field must be "Bearer <token>" (scheme in any case).
  CHECK(call(api, c, "GET", "/api/products", {}, "Bearer " + token).status == 200);
  CHECK(call(api, c, "GET", "/api/products", {}, "bearer  " + token).status == 200);
  for (const std::string& auth : std::vector<std::string>{
           std::string(), token, "Basic " + token, "Bearer", "Bearer ", "Bearer " + token + " ",
           "Bearer " + bob.substr(0, bob.size() - 1) + "x"}) {
    CAPTURE(auth);
    const auto r = call(api, c, "GET", "/api/products", {}, auth);
    CHECK(r.status == 401);
    CHECK(r.raw == R"({"error":"missing or bad token"})");
    CHECK(r.extra_field == "WWW-Authenticate: Bearer");
  }
  CHECK(n(c.unauthorized) == 7);
}

TEST_CASE("every route but login needs a token; unknown routes 404 and wrong methods 405 first") {
  DemoApi api({}, kSecret);
  ApiCounters c;
  const std::vector<std::pair<std::string, std::string>> protected_routes = {
      {"GET", "/api/items"},         {"GET", "/api/items?page=2"},
      {"POST", "/api/items"},        {"GET", "/api/items/1"},
      {"PUT", "/api/items/1"},       {"DELETE", "/api/items/1"},
      {"GET", "/api/products"},      {"POST", "/api/cart"},
      {"POST", "/api/cart/1/items"}, {"POST", "/api/cart/1/checkout"},
  };
  for (const auto& [method, target] : protected_routes) {
    CAPTURE(target);
    const auto r = call(api, c, method, target, R"({"name":"x","price":1})");
    CHECK(r.status == 401);
  }
  CHECK(n(c.unauthorized) == protected_routes.size());

  for (const std::string& target : std::vector<std::string>{
           "/api", "/api/", "/api/nope", "/api/items/", "/api/items/abc", "/api/items/1/x",
           "/api/items/-1", "/api/items/99999999999999999999", "/api/cart/", "/api/cart/x/items",
           "/api/cart/1", "/api/cart/1/", "/api/cart/1/nope", "/api/products/1", "/api/login/x",
           "/api/Items"}) {
    CAPTURE(target);
    const auto r = call(api, c, "GET", target);
    CHECK(r.status == 404);
    CHECK(r.raw == R"({"error":"no such route"})");
  }

  struct WrongMethod {
    std::string method;
    std::string target;
    std::string allow;
  };
  for (const auto& w : std::vector<WrongMethod>{
           {"DELETE", "/api/items", "Allow: GET, POST"},
           {"POST", "/api/items/1", "Allow: GET, PUT, DELETE"},
           {"HEAD", "/api/items/1", "Allow: GET, PUT, DELETE"},
           {"POST", "/api/products", "Allow: GET"},
           {"GET", "/api/cart", "Allow: POST"},
           {"GET", "/api/cart/1/items", "Allow: POST"},
           {"PUT", "/api/cart/1/checkout", "Allow: POST"},
       }) {
    CAPTURE(w.target);
    const auto r = call(api, c, w.method, w.target);
    CHECK(r.status == 405);
    CHECK(r.extra_field == w.allow);
  }
  CHECK(n(c.unauthorized) == protected_routes.size());
}

TEST_CASE("items: create, read, update, delete, and their errors") {
  DemoApi api({}, kSecret);
  ApiCounters c;
  Session alice(api, c, "alice");
  Session bob(api, c, "bob");

  auto r = alice("POST", "/api/items", R"({"name":"x","price":12.5})");
  CHECK(r.status == 201);
  CHECK(r.raw == R"({"id":1,"name":"x","price":12.5,"owner":"alice"})");  // in this order
  CHECK(r.body == json::parse(R"({"id":1,"name":"x","price":12.5,"owner":"alice"})"));
  r = bob("POST", "/api/items", R"({"price":3,"name":"widget","extra":[1,2]})");
  CHECK(r.status == 201);
  CHECK(r.body == json::parse(R"({"id":2,"name":"widget","price":3.0,"owner":"bob"})"));
  CHECK(api.item_count() == 2);

  // Names are counted in characters: 200 two-byte characters are fine, 201 are not.
  std::string wide;
  for (int i = 0; i < 200; ++i)
    wide += "é";
  r = alice("POST", "/api/items", item_body(wide, 0));
  CHECK(r.status == 201);
  CHECK(r.body["name"] == wide);
  CHECK(r.body["id"] == 3);

  for (const std::string& body : std::vector<std::string>{
           std::string(), std::string("{"), std::string("[]"), item_body("", 1),
           item_body(std::string(201, 'n'), 1), item_body(wide + "e", 1), item_body("x", -0.01),
           std::string(R"({"name":"x"})"), std::string(R"({"price":1})"),
           std::string(R"({"name":"x","price":"1"})"), std::string(R"({"name":"x","price":true})"),
           std::string(R"({"name":"x","price":null})"), std::string(R"({"name":7,"price":1})"),
           std::string(R"({"name":"x","price":1e999})")}) {
    CAPTURE(body);
    r = alice("POST", "/api/items", body);
    CHECK(r.status == 400);
    CHECK(r.body["error"].is_string());
  }
  CHECK(api.item_count() == 3);

  r = bob("GET", "/api/items/1");
  CHECK(r.status == 200);
  CHECK(r.body == json::parse(R"({"id":1,"name":"x","price":12.5,"owner":"alice"})"));
  r = bob("GET", "/api/items/0001");
  CHECK(r.status == 200);
  CHECK(bob("GET", "/api/items/4").status == 404);
  CHECK(bob("GET", "/api/items/0").raw == R"({"error":"no such item"})");

  r = bob("PUT", "/api/items/1", R"({"name":"y","price":0})");
  CHECK(r.status == 200);
  // The owner stays the creator; anyone logged in may update.
  CHECK(r.body == json::parse(R"({"id":1,"name":"y","price":0.0,"owner":"alice"})"));
  CHECK(alice("GET", "/api/items/1").body["name"] == "y");
  CHECK(alice("PUT", "/api/items/1", R"({"name":"","price":0})").status == 400);
  CHECK(alice("PUT", "/api/items/1", R"({"name":"z"})").status == 400);
  CHECK(alice("PUT", "/api/items/9", R"({"name":"z","price":1})").status == 404);
  CHECK(alice("GET", "/api/items/1").body["name"] == "y");

  r = alice("DELETE", "/api/items/1");
  CHECK(r.status == 204);
  CHECK(r.raw.empty());
  CHECK(alice("DELETE", "/api/items/1").status == 404);
  CHECK(alice("GET", "/api/items/1").status == 404);
  CHECK(alice("PUT", "/api/items/1", item_body("back", 1)).status == 404);
  CHECK(api.item_count() == 2);
  // Ids are never reused.
  CHECK(alice("POST", "/api/items", item_body("new", 1)).body["id"] == 4);

  CHECK(n(c.items_created) == 4);
  CHECK(n(c.items_read) == 4);
  CHECK(n(c.items_updated) == 1);
  CHECK(n(c.items_deleted) == 1);
}

TEST_CASE("items: pages of 10 in id order, with the total") {
  DemoApi api({}, kSecret);
  ApiCounters c;
  Session s(api, c, "pager");
  for (int i = 1; i <= 26; ++i)
    REQUIRE(s("POST", "/api/items", item_body("item" + std::to_string(i), i)).status == 201);
  REQUIRE(s("DELETE", "/api/items/5").status == 204);  // 25 left: 1-4, 6-26

  auto ids = [](const json& page) {
    std::vector<int> out;
    for (const auto& item : page["items"])
      out.push_back(item["id"].get<int>());
    return out;
  };
  auto r = s("GET", "/api/items");
  CHECK(r.status == 200);
  CHECK(r.body["page"] == 1);
  CHECK(r.body["total"] == 25);
  CHECK(ids(r.body) == std::vector<int>{1, 2, 3, 4, 6, 7, 8, 9, 10, 11});
  CHECK(r.body["items"][0] ==
        json::parse(R"({"id":1,"name":"item1","price":1.0,"owner":"pager"})"));
  CHECK(ids(s("GET", "/api/items?page=1").body) == ids(r.body));
  CHECK(ids(s("GET", "/api/items?page=2").body) ==
        std::vector<int>{12, 13, 14, 15, 16, 17, 18, 19, 20, 21});
  r = s("GET", "/api/items?delay=0&page=3&x=y");
  CHECK(r.body["page"] == 3);
  CHECK(ids(r.body) == std::vector<int>{22, 23, 24, 25, 26});
  r = s("GET", "/api/items?page=4");
  CHECK(r.status == 200);
  CHECK(r.body["items"] == json::array());
  CHECK(r.body["total"] == 25);
  CHECK(s("GET", "/api/items?page=1000000000").body["items"] == json::array());

  for (const std::string& q :
       std::vector<std::string>{"page=0", "page=", "page=x", "page=-1", "page=1.5",
                                "page=1000000001", "page=99999999999999999999"}) {
    CAPTURE(q);
    r = s("GET", "/api/items?" + q);
    CHECK(r.status == 400);
    CHECK(r.body["error"].is_string());
  }
}

TEST_CASE("items: a full store answers 507 until something is deleted") {
  DemoApi api(ApiLimits{3, 10}, kSecret);
  ApiCounters c;
  Session s(api, c, "filler");
  for (int i = 0; i < 3; ++i)
    CHECK(s("POST", "/api/items", item_body("x", 1)).status == 201);
  auto r = s("POST", "/api/items", item_body("x", 1));
  CHECK(r.status == 507);
  CHECK(r.raw == R"({"error":"store full"})");
  CHECK(api.item_count() == 3);
  CHECK(s("DELETE", "/api/items/2").status == 204);
  r = s("POST", "/api/items", item_body("x", 1));
  CHECK(r.status == 201);
  CHECK(r.body["id"] == 4);
  CHECK(s("POST", "/api/items", item_body("x", 1)).status == 507);
  CHECK(n(c.items_created) == 4);
}

TEST_CASE("checkout: products, a cart, adding lines, and the order") {
  DemoApi api({}, kSecret);
  ApiCounters c;
  Session s(api, c, "shopper");

  auto r = s("GET", "/api/products");
  CHECK(r.status == 200);
  const auto& products = r.body["products"];
  REQUIRE(products.size() == 20);
  std::set<std::string> names;
  for (std::size_t i = 0; i < products.size(); ++i) {
    CHECK(products[i]["id"] == i + 1);
    CHECK(products[i]["price"].get<double>() > 0);
    names.insert(products[i]["name"].get<std::string>());
  }
  CHECK(names.size() == 20);
  const double p1 = products[0]["price"].get<double>();
  const double p2 = products[1]["price"].get<double>();
  CHECK(p1 == 24.90);
  CHECK(p2 == 4.50);

  r = s("POST", "/api/cart");
  CHECK(r.status == 201);
  CHECK(r.body == json::parse(R"({"cart":1})"));
  CHECK(s("POST", "/api/cart", "ignored").body["cart"] == 2);

  r = s("POST", "/api/cart/1/items", R"({"product":1,"qty":2})");
  CHECK(r.status == 200);
  CHECK(r.body == json::parse(R"({"cart":1,"items":1,"total":49.8})"));
  r = s("POST", "/api/cart/1/items", R"({"product":2,"qty":100})");
  CHECK(r.body == json::parse(R"({"cart":1,"items":2,"total":499.8})"));
  // The same product again joins its line.
  r = s("POST", "/api/cart/1/items", R"({"qty":1,"product":1})");
  CHECK(r.body == json::parse(R"({"cart":1,"items":2,"total":524.7})"));

  for (const std::string& body : std::vector<std::string>{
           std::string(), std::string("[]"), std::string(R"({"product":1})"),
           std::string(R"({"qty":1})"), std::string(R"({"product":0,"qty":1})"),
           std::string(R"({"product":21,"qty":1})"), std::string(R"({"product":-1,"qty":1})"),
           std::string(R"({"product":"1","qty":1})"), std::string(R"({"product":1.0,"qty":1})"),
           std::string(R"({"product":1,"qty":0})"), std::string(R"({"product":1,"qty":101})"),
           std::string(R"({"product":1,"qty":-5})"), std::string(R"({"product":1,"qty":true})"),
           std::string(R"({"product":18446744073709551617,"qty":1})")}) {
    CAPTURE(body);
    r = s("POST", "/api/cart/1/items", body);
    CHECK(r.status == 400);
    CHECK(r.body["error"].is_string());
  }
  r = s("POST", "/api/cart/99/items", R"({"product":1,"qty":1})");
  CHECK(r.status == 404);
  CHECK(r.raw == R"({"error":"no such cart"})");

  r = s("POST", "/api/cart/2/checkout");
  CHECK(r.status == 409);
  CHECK(r.raw == R"({"error":"cart is empty"})");
  r = s("POST", "/api/cart/1/checkout");
  CHECK(r.status == 200);
  CHECK(r.body == json::parse(R"({"order":1,"total":524.7})"));
  // The cart is gone once ordered.
  CHECK(s("POST", "/api/cart/1/checkout").status == 404);
  CHECK(s("POST", "/api/cart/1/items", R"({"product":1,"qty":1})").status == 404);
  CHECK(s("POST", "/api/cart/2/items", R"({"product":20,"qty":1})").body["total"] == 50.0);
  CHECK(s("POST", "/api/cart/2/checkout").body == json::parse(R"({"order":2,"total":50.0})"));

  CHECK(n(c.carts_created) == 2);
  CHECK(n(c.cart_adds) == 4);
  CHECK(n(c.orders) == 2);
}

TEST_CASE("carts: beyond the bound the oldest cart is evicted") {
  DemoApi api(ApiLimits{10, 2}, kSecret);
  ApiCounters c;
  Session s(api, c, "hoarder");
  const std::string add = R"({"product":3,"qty":1})";
  CHECK(s("POST", "/api/cart").body["cart"] == 1);
  CHECK(s("POST", "/api/cart").body["cart"] == 2);
  CHECK(s("POST", "/api/cart/1/items", add).status == 200);
  CHECK(s("POST", "/api/cart").body["cart"] == 3);  // evicts cart 1, the oldest
  CHECK(s("POST", "/api/cart/1/items", add).status == 404);
  CHECK(s("POST", "/api/cart/1/checkout").status == 404);
  CHECK(s("POST", "/api/cart/2/items", add).status == 200);
  CHECK(s("POST", "/api/cart/3/items", add).status == 200);
  CHECK(s("POST", "/api/cart/2/checkout").status == 200);  // frees a place: no eviction next
  CHECK(s("POST", "/api/cart").body["cart"] == 4);
  CHECK(s("POST", "/api/cart/3/checkout").status == 200);
  CHECK(s("POST", "/api/cart/4/items", add).status == 200);
  CHECK(n(c.carts_created) == 4);
}

TEST_CASE("two threads share the store: every id once, counts add up") {
  DemoApi api(ApiLimits{100'000, 100'000}, kSecret);
  constexpr int kPerThread = 400;
  ApiCounters counters[2];
  std::vector<std::uint64_t> ids[2];
  auto work = [&](int t) {
    Session s(api, counters[t], "thread" + std::to_string(t));
    for (int i = 0; i < kPerThread; ++i) {
      const auto r = s("POST", "/api/items", item_body(std::string("t").append(std::to_string(t)), i));
      if (r.status != 201) return;
      const auto id = r.body["id"].get<std::uint64_t>();
      ids[t].push_back(id);
      s("GET", "/api/items/" + std::to_string(id));
      s("PUT", "/api/items/" + std::to_string(id), item_body("u", i));
      if (i % 2 == 0) s("DELETE", "/api/items/" + std::to_string(id));
      s("GET", "/api/items?page=" + std::to_string(1 + i % 5));
      const auto cart = s("POST", "/api/cart").body["cart"].get<std::uint64_t>();
      s("POST", "/api/cart/" + std::to_string(cart) + "/items", R"({"product":5,"qty":2})");
      s("POST", "/api/cart/" + std::to_string(cart) + "/checkout");
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();

  std::set<std::uint64_t> all;
  for (const auto& v : ids) {
    CHECK(v.size() == kPerThread);
    all.insert(v.begin(), v.end());
  }
  CHECK(all.size() == 2 * kPerThread);  // no id handed out twice
  CHECK(*all.rbegin() == 2 * kPerThread);
  CHECK(api.item_count() == kPerThread);  // half of each thread's items deleted
  ApiStats stats;
  stats.add(counters[0]);
  stats.add(counters[1]);
  CHECK(stats.logins_ok == 2);
  CHECK(stats.items_created == 2 * kPerThread);
  CHECK(stats.items_updated == 2 * kPerThread);
  CHECK(stats.items_deleted == kPerThread);
  CHECK(stats.items_read == 4 * kPerThread);
  CHECK(stats.carts_created == 2 * kPerThread);
  CHECK(stats.cart_adds == 2 * kPerThread);
  CHECK(stats.orders == 2 * kPerThread);
  CHECK(stats.unauthorized == 0);
  CHECK(stats.requests == 2 + 8 * 2 * kPerThread - kPerThread);
}

TEST_CASE("error bodies are valid JSON whatever the message holds") {
  const auto body = api_error_body("a \"quoted\" \\ and \xff bad byte");
  const auto doc = json::parse(body);
  CHECK(doc["error"].get<std::string>().find("\"quoted\"") != std::string::npos);
}
