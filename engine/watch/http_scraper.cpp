#include "engine/watch/http_scraper.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "engine/core/error.hpp"

namespace strain::watch {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return s;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    in6_addr v6{};
    const std::string bare = host.substr(1, host.size() - 2);
    return ::inet_pton(AF_INET6, bare.c_str(), &v6) == 1 &&
           std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  }
  return false;
}

// The parts curl's URL parser gives back, owned.
std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* s = nullptr;
  if (curl_url_get(u, part, &s, flags) != CURLUE_OK || s == nullptr) return {};
  std::string out = s;
  curl_free(s);
  return out;
}

}  // namespace

LoopbackUrl parse_loopback_url(const std::string& url) {
  std::unique_ptr<CURLU, void (*)(CURLU*)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    throw UsageError("not a URL");
  if (lower(url_part(u.get(), CURLUPART_SCHEME)) != "http")
    throw UsageError("not an http:// URL (strain scrapes plain HTTP only)");
  LoopbackUrl out;
  out.url = url;
  out.host = lower(url_part(u.get(), CURLUPART_HOST));
  out.port = url_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!is_loopback_host(out.host))
    throw UsageError("host " + out.host +
                     " is not loopback: strain only scrapes loopback "
                     "(127.0.0.1, localhost, [::1])");
  return out;
}

struct HttpScraper::Impl {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  bool oversized = false;
  char error[CURL_ERROR_SIZE] = {};

  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<Impl*>(user);
    const std::size_t bytes = size * n;
    if (self->body.size() + bytes > max_body_bytes) {
      self->oversized = true;
      return 0;  // anything but `bytes` makes curl abort with CURLE_WRITE_ERROR
    }
    self->body.append(data, bytes);
    return bytes;
  }
};

HttpScraper::HttpScraper(std::string url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  // curl_global_init is not thread-safe on every build: once, from the thread that builds the
  // watchers at start-up, before the sampler thread exists.
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* c = impl_->curl = curl_easy_init();
  if (c == nullptr) return;
  const long ms = std::max<long>(1, static_cast<long>(timeout_.count()));
  impl_->headers = curl_slist_append(nullptr, "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1");
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");     // http_proxy in the environment must not reroute
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // the sampler thread must not take SIGALRM
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, impl_->headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "strain");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Impl::on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, impl_.get());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl_->error);
}

HttpScraper::~HttpScraper() {
  if (impl_->curl != nullptr) curl_easy_cleanup(impl_->curl);
  curl_slist_free_all(impl_->headers);
}

ScrapeResult HttpScraper::get() {
  ScrapeResult r;
  if (impl_->curl == nullptr) {
    r.error = "libcurl could not start";
    return r;
  }
  impl_->body.clear();
  impl_->oversized = false;
  impl_->error[0] = '\0';
  const CURLcode rc = curl_easy_perform(impl_->curl);
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(impl_->curl, CURLINFO_OS_ERRNO, &os_errno);
    if (impl_->oversized || rc == CURLE_FILESIZE_EXCEEDED) {
      r.error = "response larger than 8 MiB";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      r.error = "timed out after " + std::to_string(timeout_.count()) + " ms";
    } else if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
      r.error = "connection refused";
    } else if (rc == CURLE_COULDNT_CONNECT && os_errno != 0) {
      r.error = std::string("could not connect: ") + std::strerror(static_cast<int>(os_errno));
    } else {
      r.error = impl_->error[0] != '\0' ? impl_->error : curl_easy_strerror(rc);
    }
    impl_->body.clear();
    return r;
  }
  long status = 0;
  curl_easy_getinfo(impl_->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    r.error = "HTTP " + std::to_string(status);
    impl_->body.clear();
    return r;
  }
  r.ok = true;
  r.body = std::move(impl_->body);
  impl_->body.clear();
  return r;
}

}  // namespace strain::watch
