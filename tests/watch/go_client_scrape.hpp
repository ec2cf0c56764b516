// A scrape shaped like a Go client's /metrics (client_golang), written out by hand.
#pragma once

#include <string_view>

namespace strain::watch::test {

inline constexpr std::string_view go_client_scrape =
    R"(# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.1e-05
go_gc_duration_seconds{quantile="0.25"} 3.4e-05
go_gc_duration_seconds{quantile="0.5"} 4.9e-05
go_gc_duration_seconds{quantile="0.75"} 7.2e-05
go_gc_duration_seconds{quantile="1"} 0.000388
go_gc_duration_seconds_sum 0.0125
go_gc_duration_seconds_count 211
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version="go1.21.5"} 1
# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 8.290304e+06
# HELP http_request_duration_seconds A histogram of latencies for requests.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/api",le="0.005"} 24054
http_request_duration_seconds_bucket{handler="/api",le="0.1"} 33444
http_request_duration_seconds_bucket{handler="/api",le="1"} 100392
http_request_duration_seconds_bucket{handler="/api",le="+Inf"} 144320
http_request_duration_seconds_sum{handler="/api"} 53423.5
http_request_duration_seconds_count{handler="/api"} 144320
# HELP http_requests_total Total HTTP requests, with a doc\\string that has \n escapes.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get",path="C:\\dir \"q\"\nline2"} 1027 1395066363000
http_requests_total{code="500",method="get"} 3 1395066363000
http_requests_total{code="200",method="post",} 90 -1
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.47
# HELP process_max_fds Maximum number of open file descriptors.
# TYPE process_max_fds gauge
process_max_fds 1.048576e+06
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 17
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.3552e+07

# A comment that is neither HELP nor TYPE.
cache_hit_ratio NaN
  temperature_celsius { room = "lab" , rack="7" } -Inf
queue_limit{q="jobs"}	+Inf
)";

}  // namespace strain::watch::test
