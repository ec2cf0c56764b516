"""`strain demo`: starts strain-target itself, loads it, prints the summary and its count."""
from harness import run_strain, check, finish

code, out, err, r = run_strain("demo", "-d", "2s", "-c", "10", "-q", timeout_s=60)
check(code == 0, f"demo exits 0 (got {code}; {err.strip()[-300:]!r})")
check("requests" in out and "response time" in out, "summary printed")
check("the counts reconcile" in out, "target count printed and reconciled")
check(r is not None and r["summary"]["requests"] > 0, "demo result has requests")
finish()
