// The seam between executors and what one iteration does: a --url request, a Lua VU's function.
#pragma once

#include <cstdint>
#include <memory>

namespace strain {

class Recorder;

// How an iteration ended.
enum class IterationEnd : std::uint8_t {
  completed,    // ran to its end
  failed,       // ended by an error in the body (a script error)
  interrupted,  // cut short: the load phase ended, or its scenario's graceful stop ran out
};

// The runner's side of a VU: told when the iteration it began has ended.
class IterationSink {
 public:
  // Called on the worker's thread, once per VuBody::begin() unless interrupt() came first; it
  // may come from inside begin(). `waited`: the iteration waited at least once for a response
  // or a timer (one that never did goes through the event loop before the next, so a body that
  // never waits cannot starve timers, reports and stop). now_ns: the current time.
  virtual void on_iteration_end(std::uint32_t slot, IterationEnd end, bool waited,
                                std::int64_t now_ns) = 0;

 protected:
  ~IterationSink() = default;
};

// One VU: runs one iteration at a time. Owned by its ScenarioRunner, on the worker's thread.
class VuBody {
 public:
  virtual ~VuBody() = default;
  // Begins an iteration that was due at `intended_ns` (now_ns: the current time, so its lag is
  // now_ns − intended_ns: latency counts from intended_ns).
  virtual void begin(std::int64_t intended_ns, std::int64_t now_ns) = 0;
  // The load phase is over: a request in flight completes and is recorded, and nothing more of
  // the iteration runs; it ends (IterationSink) as soon as nothing is in flight, perhaps at once.
  virtual void wind_down(std::int64_t now_ns) = 0;
  // The run gives up on the iteration now, without calling the sink: a request in flight is
  // abandoned and recorded as such (ErrorKind::abandoned, its wait a lower bound).
  virtual void interrupt(std::int64_t now_ns) = 0;
};

// Makes the VUs of one scenario on one worker, and says where its given-up arrivals go.
class BodyFactory {
 public:
  virtual ~BodyFactory() = default;
  // VU `vu_id` (1-based, unique in the run) reports its iterations to `sink` as `slot`.
  virtual std::unique_ptr<VuBody> make_body(std::uint32_t vu_id, std::uint32_t slot,
                                            IterationSink& sink) = 0;
  // Where the scenario's dropped arrivals are recorded (Recorder::record_dropped).
  virtual Recorder& dropped() = 0;
};

}  // namespace strain
