"""Every Lua example in examples/ runs clean against a fresh strain-target, and what strain
reports agrees with what the target itself counted (its /__strain/stats API counters)."""
import glob
import os

from harness import Target, check, finish, passed_or_late
from script_support import (EXAMPLES, failed_thresholds, responses_named, run_script,
                            target_stats, check_named)

# https.lua needs a TLS server: tls_test.py runs it through nginx over HTTPS and HTTP/2.
covered = {"hello.lua", "crud.lua", "data_driven.lua", "checkout.lua", "custom_metrics.lua",
           "open_model.lua", "https.lua"}
found = {os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "*.lua"))}
check(found == covered, f"this test covers every example script (found {sorted(found)})")


def ran_clean(label, code, err, r):
    """Exit 0, a result, every threshold passed, no script error, nothing cut short."""
    check(passed_or_late(code, r), f"{label}: exit 0 (got {code}; stderr {err.strip()[-400:]!r})")
    if r is None:
        check(False, f"{label}: result JSON written")
        return False
    s = r["script"]
    check(s["iterations"] > 0, f"{label}: iterations ran ({s['iterations']})")
    check(s["iterations_failed"] == 0 and not s["errors"],
          f"{label}: no script errors ({s['iterations_failed']}, {s['errors'][:1]})")
    check(s["iterations_interrupted"] == 0,
          f"{label}: no iteration interrupted ({s['iterations_interrupted']})")
    check(r["summary"]["errors"] == 0, f"{label}: no failed requests ({r['summary']['errors']})")
    check(r["generator"]["in_flight_at_stop"] == 0, f"{label}: nothing in flight at stop")
    return True


def thresholds_passed(label, r, expected):
    exprs = sorted(t["expression"] for t in r["thresholds"])
    check(exprs == sorted(expected), f"{label}: the script's thresholds were judged ({exprs})")
    bad = failed_thresholds(r)
    check(not bad, f"{label}: every threshold passed ({bad})")


# hello.lua: one GET and one check per iteration; briefly.
with Target() as t:
    code, out, err, r, _ = run_script(os.path.join(EXAMPLES, "hello.lua"), t, "-c", "2", "-d",
                                      "1s", "-t", "1")
    served = t.stop()
    if ran_clean("hello", code, err, r):
        s = r["script"]
        check(served == r["summary"]["requests"],
              f"hello: target served {served} = strain's responses {r['summary']['requests']}")
        check(s["iterations"] == served, f"hello: one request per iteration ({s['iterations']})")
        c = check_named(r, "status is 200")
        check(c is not None and c["passes"] == served and c["fails"] == 0,
              f"hello: the check passed once per request ({c})")

# crud.lua: login in setup(), then create → read → update → delete per iteration.
with Target("--threads", "2") as t:
    code, out, err, r, secs = run_script(os.path.join(EXAMPLES, "crud.lua"), t, "-t", "2")
    api = target_stats(t)["api"]
    served = t.stop()
    if ran_clean("crud", code, err, r):
        n = r["script"]["iterations"]
        check(api["logins_ok"] == 1 and api["logins_failed"] == 0,
              f"crud: exactly one login, setup()'s ({api['logins_ok']}, {api['logins_failed']})")
        check(api["items_created"] == n,
              f"crud: target created {api['items_created']} items = iterations {n}")
        check(api["items_deleted"] == n and api["items_updated"] == n and api["items_read"] == n,
              f"crud: read/updated/deleted {api['items_read']}/{api['items_updated']}/"
              f"{api['items_deleted']} = {n}")
        check(api["item_count"] == 0, f"crud: no item left over ({api['item_count']})")
        for step, counted in (("create", api["items_created"]), ("read", api["items_read"]),
                              ("update", api["items_updated"]), ("delete", api["items_deleted"])):
            check(responses_named(r, step) == counted,
                  f"crud: strain's '{step}' responses {responses_named(r, step)} = target's "
                  f"{counted}")
        check(served == r["summary"]["requests"] + 1,
              f"crud: served {served} = strain's {r['summary']['requests']} + setup()'s login")
        check(responses_named(r, "login") == 0, "crud: setup()'s request is not in the load stats")
        for name in ("create: status 201", "read: status 200", "update: status 200",
                     "delete: status 204"):
            c = check_named(r, name)
            check(c is not None and c["passes"] == n and c["fails"] == 0,
                  f"crud: check '{name}' passed {n} times ({c})")
        thresholds_passed("crud", r, ["checks{rate}", "latency{name:read,p95}", "errors{rate}"])
        check(secs < 15, f"crud: done in {secs:.1f}s")

# data_driven.lua: each iteration logs in as a row of users.csv.
with Target() as t:
    code, out, err, r, secs = run_script(os.path.join(EXAMPLES, "data_driven.lua"), t, "-t", "2")
    api = target_stats(t)["api"]
    served = t.stop()
    if ran_clean("data_driven", code, err, r):
        n = r["script"]["iterations"]
        logins = responses_named(r, "login")
        check(api["logins_ok"] == logins == n,
              f"data_driven: target's logins_ok {api['logins_ok']} = strain's login requests "
              f"{logins} = iterations {n}")
        check(api["logins_failed"] == 0 and api["unauthorized"] == 0,
              f"data_driven: no failed login or bad token ({api['logins_failed']}, "
              f"{api['unauthorized']})")
        check(served == r["summary"]["requests"] == 2 * n,
              f"data_driven: served {served} = strain's {r['summary']['requests']} = 2 x {n}")
        login_series = [m for m in r["by_name"] if m["name"] == "login"]
        check(all(m["tags"].get("flow") == "login" for m in login_series) and login_series,
              "data_driven: the login series carries the request's tags")
        c = check_named(r, "login: as the right user")
        check(c is not None and c["passes"] == n, f"data_driven: every login was the row's ({c})")
        thresholds_passed("data_driven", r,
                          ["checks{rate}", "latency{name:login,p95}", "errors{rate}"])
        check(secs < 15, f"data_driven: done in {secs:.1f}s")

# checkout.lua: browsers (constant-vus) beside buyers (per-vu-iterations, 3 VUs x 3 orders).
with Target() as t:
    code, out, err, r, secs = run_script(os.path.join(EXAMPLES, "checkout.lua"), t, "-t", "2")
    api = target_stats(t)["api"]
    served = t.stop()
    if ran_clean("checkout", code, err, r):
        orders = 3 * 3
        check(api["orders"] == orders == responses_named(r, "checkout"),
              f"checkout: target's orders {api['orders']} = strain's checkout requests "
              f"{responses_named(r, 'checkout')} = {orders}")
        check(api["carts_created"] == responses_named(r, "new cart") == orders,
              f"checkout: carts {api['carts_created']} = strain's 'new cart' requests")
        check(api["cart_adds"] == responses_named(r, "add to cart") == 2 * orders,
              f"checkout: cart adds {api['cart_adds']} = strain's 'add to cart' requests")
        check(served == r["summary"]["requests"] + 1,
              f"checkout: served {served} = strain's {r['summary']['requests']} + setup()'s login")
        check(sorted(r["config"]["scenarios"]) == ["browsers", "buyers"],
              f"checkout: both scenarios ran ({r['config']['scenarios']})")
        co = [m for m in r["by_name"] if m["name"] == "checkout"]
        check(len(co) == 1 and co[0]["tags"] == {"scenario": "buyers", "flow": "buy",
                                                  "group": "::checkout"},
              f"checkout: checkout requests tagged with scenario, its tags and group "
              f"({[m['tags'] for m in co]})")
        browse = [m for m in r["by_name"] if m["tags"].get("scenario") == "browsers"]
        check(browse and all(m["tags"].get("flow") == "browse" and m["tags"].get("group") == "::browse"
                             for m in browse),
              "checkout: browsers' requests carry flow=browse and group ::browse")
        c = check_named(r, "::checkout::order placed")
        check(c is not None and c["passes"] == orders and c["fails"] == 0,
              f"checkout: '::checkout::order placed' passed {orders} times ({c})")
        c = check_named(r, "::checkout::total is right")
        check(c is not None and c["passes"] == orders, f"checkout: totals agree ({c})")
        thresholds_passed("checkout", r, ["checks{rate}", "checks{group:checkout,rate}",
                                          "latency{scenario:buyers,p95}",
                                          "latency{name:checkout,p99}", "errors{rate}"])
        check(secs < 15, f"checkout: done in {secs:.1f}s")

# custom_metrics.lua: a trend, a counter and a rate fed from responses.
with Target() as t:
    code, out, err, r, secs = run_script(os.path.join(EXAMPLES, "custom_metrics.lua"), t,
                                         "-t", "2")
    api = target_stats(t)["api"]
    served = t.stop()
    if ran_clean("custom_metrics", code, err, r):
        m = {x["name"]: x for x in r["script"]["metrics"]}
        check(sorted(m) == ["cart_ok", "checkout_ms", "orders"], f"custom_metrics: metrics {sorted(m)}")
        if sorted(m) == ["cart_ok", "checkout_ms", "orders"]:
            check(m["orders"]["kind"] == "counter" and m["orders"]["sum"] == api["orders"] > 0,
                  f"custom_metrics: counter orders {m['orders']['sum']} = target's {api['orders']}")
            check(m["checkout_ms"]["kind"] == "trend" and
                  m["checkout_ms"]["count"] == responses_named(r, "checkout") == api["orders"],
                  f"custom_metrics: one checkout_ms value per checkout "
                  f"({m['checkout_ms']['count']})")
            check(m["cart_ok"]["kind"] == "rate" and m["cart_ok"]["count"] == api["cart_adds"]
                  and m["cart_ok"]["nonzero"] == api["cart_adds"],
                  f"custom_metrics: cart_ok {m['cart_ok']['nonzero']}/{m['cart_ok']['count']} "
                  f"= target's cart adds {api['cart_adds']}")
            check("custom metrics" in out and "checkout_ms" in out,
                  "custom_metrics: the summary lists the custom metrics")
        check(api["carts_created"] == r["script"]["iterations"],
              f"custom_metrics: one cart per iteration ({api['carts_created']})")
        thresholds_passed("custom_metrics", r, ["checkout_ms{p95}", "checkout_ms{avg}",
                                                "orders{count}", "cart_ok{rate}"])
        check(secs < 15, f"custom_metrics: done in {secs:.1f}s")

# open_model.lua: browse at a uniform 50/s for 6 s (exactly 300 iterations) beside a Poisson
# checkout ramping to 20/s; every arrival started, and the target's orders match.
with Target("--threads", "2") as t:
    code, out, err, r, secs = run_script(os.path.join(EXAMPLES, "open_model.lua"), t, "-t", "2")
    api = target_stats(t)["api"]
    served = t.stop()
    if ran_clean("open_model", code, err, r):
        sched = r["schedule"]
        check(sched["due"] == sched["started"] == r["script"]["iterations"],
              f"open_model: due {sched['due']} = started {sched['started']} = iterations "
              f"{r['script']['iterations']}")
        check(responses_named(r, "products") == 300,
              f"open_model: browse ran exactly 50/s x 6 s ({responses_named(r, 'products')})")
        orders = responses_named(r, "checkout")
        check(api["orders"] == orders == sched["due"] - 300,
              f"open_model: target's orders {api['orders']} = strain's checkouts {orders}")
        # 0 → 20/s over 3 s then 20/s for 3 s: 90 expected; Poisson, so within 5 sigma.
        check(abs(orders - 90) <= 5 * 90 ** 0.5, f"open_model: about 90 checkouts ({orders})")
        check(served == r["summary"]["requests"] + 1,
              f"open_model: served {served} = strain's {r['summary']['requests']} + setup()'s login")
        check(r["summary"]["offered_rps"] > 0 and r["summary"]["schedule_lag_ms"]["count"] ==
              sched["due"], "open_model: offered rate and one schedule-lag sample per arrival")
        thresholds_passed("open_model", r, ["latency{scenario:browse,p99}", "schedule_lag{p99}",
                                            "errors{rate}"])

finish()
