#include "engine/script/origin_pool.hpp"

#include <exception>

#include "engine/transport/url.hpp"

namespace strain {

std::optional<std::uint32_t> OriginPool::find_or_add(std::string_view url, std::size_t prefix_len,
                                                     std::string& error) {
  const std::string_view prefix = url.substr(0, prefix_len);
  for (std::uint32_t i = 0; i < origins_.size(); ++i) {
    if (origins_[i].prefix == prefix) return i;
  }
  if (origins_.size() >= kMaxOrigins) {
    error = "more than " + std::to_string(kMaxOrigins) + " distinct hosts in one run";
    return std::nullopt;
  }
  try {
    const http::Url parsed = http::parse_url(url);
    origins_.push_back(Origin{std::string(prefix), parsed.host_header, clients_(io_, parsed)});
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(origins_.size() - 1);
}

std::uint64_t OriginPool::in_flight() const {
  std::uint64_t n = 0;
  for (const auto& o : origins_)
    n += o.client->in_flight();
  return n;
}

std::uint64_t OriginPool::connects() const {
  std::uint64_t n = 0;
  for (const auto& o : origins_)
    n += o.client->connects();
  return n;
}

std::uint64_t OriginPool::stale_retries() const {
  std::uint64_t n = 0;
  for (const auto& o : origins_)
    n += o.client->stale_retries();
  return n;
}

std::uint64_t OriginPool::connect_backoffs() const {
  std::uint64_t n = 0;
  for (const auto& o : origins_)
    n += o.client->connect_backoffs();
  return n;
}

void OriginPool::shutdown() {
  for (auto& o : origins_)
    o.client->shutdown();
}

}  // namespace strain
