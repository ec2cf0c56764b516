#include "engine/transport/curl/curl_library.hpp"

#include <curl/curl.h>

#include <string>

#include "engine/core/error.hpp"

namespace strain {

void curl_global_once() {
  // A function static: initialised once, thread-safe, before any handle is made.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw Error(std::string("libcurl: ") + curl_easy_strerror(rc));
}

bool curl_reuses_prior_knowledge() {
  return curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000;
}

}  // namespace strain
