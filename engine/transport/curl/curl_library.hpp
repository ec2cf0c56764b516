// libcurl as a process-wide library: set up once, before the first handle of any worker.
#pragma once

namespace strain {

// curl_global_init, once per process; safe to call from every worker thread. Throws
// strain::Error when libcurl cannot start.
void curl_global_once();

// True when this libcurl keeps HTTP/2 with prior knowledge (cleartext h2) working on a reused
// connection: before 8.0.0 the second request on one fails (curl#10634, fixed by curl#10643).
bool curl_reuses_prior_knowledge();

}  // namespace strain
