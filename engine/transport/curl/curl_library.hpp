// libcurl as a process-wide library: set up once, before the first handle of any worker.
#pragma once

namespace strain {

// curl_global_init, once per process; safe to call from every worker thread. Throws
// strain::Error when libcurl cannot start.
void curl_global_once();

}  // namespace strain
