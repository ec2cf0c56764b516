// The stale-connection resend rule as a decision matrix: one honest case, and each way out of it.
#include "engine/transport/resend_rule.hpp"

#include <doctest/doctest.h>

using strain::FailedSend;
using strain::may_resend;

namespace {

// A GET on a reused connection, nothing received, the close seen 30 us after the send on a
// connection whose handshake took 50 us: the server closed it before our request reached it.
FailedSend honest() {
  FailedSend f;
  f.reused = true;
  f.idempotent = true;
  f.resent = false;
  f.bytes_in = 0;
  f.sent_ns = 1'000'000;
  f.failed_ns = 1'030'000;
  f.round_trip_ns = 50'000;
  return f;
}

}  // namespace

TEST_CASE("resend rule: only a close seen within one round trip of the send is resent") {
  CHECK(may_resend(honest()));

  FailedSend at_round_trip = honest();
  at_round_trip.failed_ns = at_round_trip.sent_ns + at_round_trip.round_trip_ns;
  CHECK(may_resend(at_round_trip));

  FailedSend in_the_send = honest();  // send() itself hit EPIPE/ECONNRESET
  in_the_send.failed_ns = in_the_send.sent_ns;
  in_the_send.round_trip_ns = 0;
  CHECK(may_resend(in_the_send));

  FailedSend later = honest();  // the server may have read it: a hang then a close, a drop
  later.failed_ns = later.sent_ns + later.round_trip_ns + 1;
  CHECK_FALSE(may_resend(later));

  FailedSend held = honest();  // strain-target --hang-for: held 2 s, then closed
  held.failed_ns = held.sent_ns + 2'000'000'000;
  CHECK_FALSE(may_resend(held));
}

TEST_CASE("resend rule: never a fresh connection, a POST, a partial response or a second time") {
  FailedSend fresh = honest();
  fresh.reused = false;
  CHECK_FALSE(may_resend(fresh));

  FailedSend post = honest();
  post.idempotent = false;
  CHECK_FALSE(may_resend(post));

  FailedSend partial = honest();
  partial.bytes_in = 1;
  CHECK_FALSE(may_resend(partial));

  FailedSend twice = honest();
  twice.resent = true;
  CHECK_FALSE(may_resend(twice));
}
