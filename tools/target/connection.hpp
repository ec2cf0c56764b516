// One client connection of strain-target: reads pipelined requests, answers them in order.
#pragma once

#include <boost/asio/buffer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/clock.hpp"
#include "tools/target/asio_types.hpp"
#include "tools/target/behaviour.hpp"
#include "tools/target/phases.hpp"
#include "tools/target/request_parser.hpp"

namespace strain::target {

class Worker;

// Lives on its worker's thread and is owned by it. Deletes itself through Worker::destroy once
// it is closed and its last handler has run. connection.cpp reads requests and decides their
// answers; connection_write.cpp writes them.
class Connection {
 public:
  Connection(Worker& worker, Socket socket, std::size_t index);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Closes the socket and the timer at once. May delete *this: call last.
  void close();
  // The worker's periodic sweep: closes the connection if it has been silent too long.
  // May delete *this: call last.
  void on_tick(std::uint64_t tick);

  std::size_t index() const noexcept { return index_; }
  void set_index(std::size_t index) noexcept { index_ = index; }

 private:
  // Responses queued per connection; beyond this reading pauses until writes catch up.
  static constexpr std::size_t kMaxPipeline = 64;

  // An /api request: copies of its head (whose views die with the read buffer), its body, and
  // its answer's extra field. Lives in its slot; the body is dropped once it is answered.
  struct ApiCall {
    std::string method;
    std::string target;
    std::string authorization;
    std::string body;              // filled by the parser, up to kMaxApiBodyBytes
    std::string_view extra_field;  // of the answer (Allow, WWW-Authenticate); static storage
  };
  // One response to write, in request order. message, json and metrics send `message`.
  enum class Body : std::uint8_t { pattern, message, json, metrics, none };
  struct Slot {
    TimePoint ready_at{};                  // not before; TimePoint{} for no delay
    std::chrono::nanoseconds delay{0};     // applied once the request has been read
    std::chrono::nanoseconds service{0};   // under --workers: time in service, before the delay
    std::chrono::nanoseconds cpu_work{0};  // thread CPU time burnt once read (--cpu-work)
    std::uint64_t body_bytes = 0;          // advertised body size (sent unless head_only)
    std::uint32_t head_bytes = 0;          // formatted head, known once writing has begun
    int status = 200;
    Body body = Body::pattern;
    bool complete = false;         // the request has been read to its end
    bool counted = true;           // served (not 100 Continue, /__strain/stats nor /metrics)
    bool stats = false;            // body is the stats JSON, made when the request completes
    bool head_only = false;        // HEAD: headers only
    bool http10 = false;           // HTTP/1.0 client: keep-alive must be said
    bool close_after = false;      // the last response on this connection
    bool gated = false;            // waits for a --workers slot once read
    bool retry_after = false;      // a 429: says Retry-After: 1
    bool injected = false;         // the status came from the error rates
    std::string message;           // body when body is message, json or metrics
    std::unique_ptr<ApiCall> api;  // an /api request; null for every other

    Fault fault = Fault::none;        // a hang, reset or garbage instead of a response (on_fault)
    std::uint32_t header_pad = 0;     // padding header bytes (?header_bytes)
    std::uint32_t trickle_bytes = 0;  // body piece size when trickled; 0: not trickled
    // Between trickled pieces, and between the head and the first.
    std::chrono::nanoseconds trickle_every{0};
    std::uint8_t phase = kNoPhase;  // --phases: the phase its head was read in
  };
  // A piece of the next write: bytes of wbuf_ (ptr null) or of the static body pattern.
  struct Piece {
    const char* ptr;
    std::size_t offset;
    std::size_t len;
  };

  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process();
  void on_head(const RequestHead& head);
  void on_api_head(const RequestHead& head, Slot& s, std::chrono::nanoseconds delay);
  void on_complete();
  void on_api_complete(Slot& s);
  void on_parse_error(RequestError error);
  void on_eof();
  void on_rate_limited(Slot& s, bool api);
  void on_fault_head(Slot& s, const Behaviour& b, Fault fault);
  void on_injected(Slot& s, bool api, int status, const Behaviour& b);
  void on_admit(Slot& s);
  bool stalled();

  void flush();
  bool build_batch();
  std::size_t add_padding(std::size_t at, std::size_t head_bytes, std::size_t pad_bytes);
  void on_fault();
  void on_fault_written(const boost::system::error_code& ec, Fault fault);
  void arm_timer(TimePoint at);
  void on_write(const boost::system::error_code& ec);
  void on_timer(const boost::system::error_code& ec);
  void begin_drain();
  void maybe_destroy();

  bool ready(const Slot& slot, TimePoint& now) const;
  Slot& slot(std::size_t i) noexcept { return ring_[(ring_head_ + i) & (ring_.size() - 1)]; }
  Slot& push_slot();
  void pop_slot() noexcept;
  void append_body(std::uint64_t from, std::uint64_t n, bool copy);
  void add_piece(const char* ptr, std::size_t offset, std::size_t len);

  Worker& worker_;
  Socket socket_;
  Timer timer_;
  std::size_t index_;
  RequestParser parser_;

  std::unique_ptr<char[]> rbuf_;
  std::size_t rcap_ = 0;
  std::size_t rbeg_ = 0;  // first byte not yet given up by the parser
  std::size_t rend_ = 0;  // end of bytes read

  std::vector<Slot> ring_;  // power-of-two capacity, grown up to kMaxPipeline
  std::size_t ring_head_ = 0;
  std::size_t count_ = 0;
  std::uint64_t front_sent_ = 0;  // bytes of the front slot already written

  std::string wbuf_;                            // heads and small bodies of the write batch
  std::vector<Piece> pieces_;                   // the write batch, in order
  std::vector<boost::asio::const_buffer> iov_;  // pieces_ as buffers
  std::size_t batch_done_ = 0;                  // slots the batch finishes
  std::uint64_t batch_partial_ = 0;             // bytes of one more slot it starts

  std::uint64_t close_count_ = 0;  // requests that asked for close_every, for its Nth
  std::uint64_t active_tick_ = 0;  // worker tick of the last progress
  std::uint64_t drained_bytes_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool timer_armed_ = false;
  bool stop_parsing_ = false;  // after Connection: close or a bad request: read no more
  bool eof_ = false;           // the client will send no more
  bool draining_ = false;      // final response written; waiting for the client to close
  bool hanging_ = false;       // a hang was read: nothing more is parsed; bytes are dropped
  bool closing_ = false;       // socket closed; waiting for handlers to finish
};

}  // namespace strain::target
