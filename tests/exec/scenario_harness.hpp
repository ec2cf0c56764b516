// The harness of the ScenarioRunner and ScenarioSet tests: fake VU bodies on a real io_context. The
// scenario clock is driven by hand with tick(now) at synthetic times placed an hour in the past, so
// the runner's own clock reads (posted continuations, the pacer's timer) always come later than any
// of them.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/exec/recorder.hpp"
#include "engine/exec/scenario_runner.hpp"
#include "engine/exec/scenario_set.hpp"

namespace strain::exec_test {

using namespace strain;
using namespace std::chrono_literals;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000 * kMs;

// One begin() a body saw.
struct Begin {
  std::uint32_t vu_id = 0;
  std::uint32_t slot = 0;
  std::int64_t intended_ns = 0;
  std::int64_t now_ns = 0;
};

class FakeBodies;

// A VU body that does nothing by itself: the test ends its iterations through the sink.
class FakeBody final : public VuBody {
 public:
  FakeBody(FakeBodies& bodies, std::uint32_t vu_id, std::uint32_t slot, IterationSink& sink)
      : bodies_(bodies), vu_id_(vu_id), slot_(slot), sink_(sink) {}

  void begin(std::int64_t intended_ns, std::int64_t now_ns) override;
  void wind_down(std::int64_t now_ns) override;
  void interrupt(std::int64_t) override {
    ++interrupts;
    busy = false;
  }
  // Ends the iteration in progress, as a body does when its work is over.
  void end(IterationEnd how, bool waited, std::int64_t now_ns) {
    REQUIRE(busy);
    busy = false;
    ++ended;
    sink_.on_iteration_end(slot_, how, waited, now_ns);
  }

  std::uint32_t vu_id() const { return vu_id_; }
  bool busy = false;             // in an iteration
  bool end_on_wind_down = true;  // wind_down() ends the iteration at once (a VU asleep)
  int wind_downs = 0;            // wind_down() calls
  int interrupts = 0;            // interrupt() calls
  int begins = 0;                // begin() calls
  int ended = 0;                 // iterations ended through the sink
  std::int64_t last_intended_ns = 0;

 private:
  FakeBodies& bodies_;
  std::uint32_t vu_id_;
  std::uint32_t slot_;
  IterationSink& sink_;
};

class FakeBodies final : public BodyFactory {
 public:
  std::unique_ptr<VuBody> make_body(std::uint32_t vu_id, std::uint32_t slot,
                                    IterationSink& sink) override {
    CHECK(slot == bodies.size());  // slots are made in order
    auto body = std::make_unique<FakeBody>(*this, vu_id, slot, sink);
    bodies.push_back(body.get());
    return body;
  }
  Recorder& dropped() override { return dropped_recorder; }

  // Ends every body's iteration in progress (waited: it made a request).
  void end_busy(std::int64_t now_ns, bool waited = true) {
    // A body may begin again from inside end(): take the busy set first.
    std::vector<FakeBody*> busy;
    for (FakeBody* b : bodies) {
      if (b->busy) busy.push_back(b);
    }
    for (FakeBody* b : busy)
      b->end(IterationEnd::completed, waited, now_ns);
  }
  std::uint32_t busy_count() const {
    return static_cast<std::uint32_t>(
        std::count_if(bodies.begin(), bodies.end(), [](const FakeBody* b) { return b->busy; }));
  }
  int interrupts() const {
    int n = 0;
    for (const FakeBody* b : bodies)
      n += b->interrupts;
    return n;
  }
  RequestMetrics take_dropped() {
    RequestMetrics m;
    dropped_recorder.take_interval(m);
    return m;
  }

  std::vector<FakeBody*> bodies;  // by slot; owned by the runner
  std::vector<Begin> begins;      // every begin(), in order
  // Bodies end each iteration inside begin(), without waiting (a VU that makes no request).
  bool end_in_begin = false;
  int depth = 0;                    // begin() calls on the stack now
  int max_depth = 0;                // the most at once
  int end_in_begin_limit = 10'000;  // a guard, so a runner that recursed would not overflow
  Recorder dropped_recorder;
};

inline void FakeBody::begin(std::int64_t intended_ns, std::int64_t now_ns) {
  REQUIRE_FALSE(busy);
  busy = true;
  ++begins;
  last_intended_ns = intended_ns;
  bodies_.begins.push_back(Begin{vu_id_, slot_, intended_ns, now_ns});
  ++bodies_.depth;
  bodies_.max_depth = std::max(bodies_.max_depth, bodies_.depth);
  if (bodies_.end_in_begin && static_cast<int>(bodies_.begins.size()) <= bodies_.end_in_begin_limit)
    end(IterationEnd::completed, false, now_ns);
  --bodies_.depth;
}

inline void FakeBody::wind_down(std::int64_t now_ns) {
  ++wind_downs;
  if (end_on_wind_down && busy) end(IterationEnd::interrupted, true, now_ns);
}

// Synthetic times an hour ago: the runner's own clock reads are always later.
inline std::int64_t origin() {
  return now_ns() - 3600 * kSecond;
}

inline Scenario constant_vus(std::uint32_t vus, std::chrono::nanoseconds duration) {
  Scenario s;
  s.executor = ExecutorKind::constant_vus;
  s.vus = vus;
  s.duration = duration;
  return s;
}

inline ScenarioInterval take(ScenarioRunner& r) {
  ScenarioInterval out;
  HistogramStock stock;
  r.take_interval(out, stock);
  return out;
}

// Runs posted handlers until `pred` holds (bounded by real time).
template <class Pred>
inline void run_until(boost::asio::io_context& io, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(2ms);
  }
}

// Runs the handlers ready now (posted continuations, timers due), even after a run ran out of work.
inline void poll_ready(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

inline Histogram histogram_of(const std::vector<std::int64_t>& values_us) {
  Histogram h;
  for (const std::int64_t v : values_us)
    h.record(v);
  return h;
}

}  // namespace strain::exec_test
