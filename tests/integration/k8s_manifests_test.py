"""The Kubernetes example (examples/kubernetes/), checked offline: the fields strain relies on.

Parses every YAML document there and checks the Indexed Job (completion mode, N, the index
variable, the command line, a bound on time and retries), the merge Job (it merges the same
directory's segment files), the volumes both mount, the ConfigMap and the PVC; that every
target URL is loopback; the Dockerfile and submit.sh lightly, as text. No cluster, no strain.
Usage: k8s_manifests_test.py [DIR]   (default: the repository's examples/kubernetes)
"""
import fnmatch
import glob
import os
import posixpath
import re
import shlex
import sys

import yaml

from harness import check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "examples", "kubernetes")
INDEX_VAR = "JOB_COMPLETION_INDEX"
INDEX_FIELDS = {f"metadata.{where}['batch.kubernetes.io/job-completion-index']"
                for where in ("annotations", "labels")}
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
MAX_DEADLINE_S = 24 * 3600
MAX_BACKOFF = 10

def k8s_refs(text):
    """$(NAME) references, as Kubernetes expands them in command, args and subPathExpr."""
    return set(re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", text))


def shell_refs(script):
    """$NAME and ${NAME} references left for a shell (sh -c) to expand."""
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", script)) - {"0", "1", "2"}


def argv_of(container):
    """(tokens, shell script or None): command + args, split again when run through sh -c."""
    tokens = [str(t) for t in (container.get("command") or []) + (container.get("args") or [])]
    if len(tokens) >= 3 and posixpath.basename(tokens[0]) in ("sh", "bash") and tokens[1] == "-c":
        script = tokens[2]
        return shlex.split(script.replace("exec ", "", 1) if script.startswith("exec ") else script), script
    return tokens, None


def flag(tokens, name):
    """The value after --name (or --name=value), None when absent."""
    for i, t in enumerate(tokens):
        if t == name and i + 1 < len(tokens):
            return tokens[i + 1]
        if t.startswith(name + "="):
            return t.split("=", 1)[1]
    return None


def env_of(container):
    return {e["name"]: e for e in container.get("env") or []}


def containers_of(pod):
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


def located(path, container, volumes):
    """(volume, subPath or subPathExpr, path inside it) for an absolute path under a mount."""
    best = None
    for m in container.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/")
        if path.startswith(mp + "/") and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    if best is None:
        return None
    rel = path[len(best["mountPath"].rstrip("/")) + 1:]
    return volumes.get(best["name"]), best.get("subPathExpr") or best.get("subPath") or "", rel


def bounded_int(value, lo, hi):
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


# --- Every YAML document ------------------------------------------------------------------------
docs = []
yaml_files = sorted(glob.glob(os.path.join(DIR, "*.yaml")) + glob.glob(os.path.join(DIR, "*.yml")))
check(len(yaml_files) >= 4, f"YAML manifests in {DIR}: {[os.path.basename(f) for f in yaml_files]}")
for path in yaml_files:
    try:
        with open(path, encoding="utf-8") as f:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        check(False, f"{os.path.basename(path)} parses as YAML: {e}")
        continue
    for d in loaded:
        ok = isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and \
            isinstance(d.get("metadata"), dict) and d["metadata"].get("name")
        if check(bool(ok), f"{os.path.basename(path)}: a document with apiVersion, kind and a name"):
            docs.append((os.path.basename(path), d))

by_kind = {}
for fname, d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
jobs = by_kind.get("Job", {})
configmaps = by_kind.get("ConfigMap", {})
pvcs = by_kind.get("PersistentVolumeClaim", {})

for name, j in jobs.items():
    check(j.get("apiVersion") == "batch/v1", f"Job {name}: apiVersion batch/v1")

# --- The load: an Indexed Job running `strain run ... --segments N` -----------------------------
load_jobs = [j for j in jobs.values() if (j.get("spec") or {}).get("completionMode") == "Indexed"]
check(len(load_jobs) == 1, f"one Job with completionMode Indexed (found {len(load_jobs)})")
merge_jobs = []
for j in jobs.values():
    for c in containers_of(j["spec"]["template"]["spec"]):
        tokens, _ = argv_of(c)
        if tokens[:2] == ["strain", "merge"]:
            merge_jobs.append(j)
check(len(merge_jobs) == 1, f"one Job running `strain merge` (found {len(merge_jobs)})")
if not load_jobs or not merge_jobs:
    finish()
load, merge = load_jobs[0], merge_jobs[0]
lname = load["metadata"]["name"]
lspec, lpod = load["spec"], load["spec"]["template"]["spec"]
lvolumes = {v["name"]: v for v in lpod.get("volumes") or []}

runs = [c for c in lpod.get("containers") or [] if argv_of(c)[0][:2] == ["strain", "run"]]
check(len(runs) == 1, f"Job {lname}: one container runs `strain run` (found {len(runs)})")
if not runs:
    finish()
strain = runs[0]
tokens, _ = argv_of(strain)
env = env_of(strain)
cmdline = " ".join(tokens)
print(f"     {lname}: {cmdline}")

segments = flag(tokens, "--segments")
check(segments is not None and segments.isdigit(), f"{lname}: --segments N on the command line ({segments})")
check(flag(tokens, "--segment") is None,
      f"{lname}: no --segment I/N (the index comes from {INDEX_VAR} with --segments)")
n = int(segments) if segments and segments.isdigit() else None
check(n is not None and lspec.get("completions") == n and lspec.get("parallelism") == n,
      f"{lname}: parallelism ({lspec.get('parallelism')}) == completions ({lspec.get('completions')})"
      f" == --segments ({segments})")
check(n is not None and n >= 2, f"{lname}: at least 2 segments ({n})")

# Time and retries are bounded; a segment is never rerun (strain refuses a --start-at that has
# passed) and one failing index never cuts the others short.
check(bounded_int(lspec.get("activeDeadlineSeconds"), 1, MAX_DEADLINE_S),
      f"{lname}: activeDeadlineSeconds set and bounded ({lspec.get('activeDeadlineSeconds')})")
check(bounded_int(lspec.get("backoffLimit"), 0, MAX_BACKOFF),
      f"{lname}: backoffLimit set and bounded ({lspec.get('backoffLimit')})")
check(lspec.get("backoffLimitPerIndex") == 0, f"{lname}: backoffLimitPerIndex 0 (no segment reruns)")
check(n is not None and isinstance(lspec.get("backoffLimit"), int) and lspec["backoffLimit"] >= n - 1,
      f"{lname}: backoffLimit >= N-1, so one failed index does not stop the running ones")
check(lpod.get("restartPolicy") == "Never", f"{lname}: restartPolicy Never")

# --start-at: one instant from the environment, set at submit time.
start_at = flag(tokens, "--start-at")
start_refs = k8s_refs(start_at or "")
check(len(start_refs) == 1, f"{lname}: --start-at comes from an env var ({start_at})")
for var in start_refs:
    value = str(env.get(var, {}).get("value", ""))
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)|\+\d+(ms|s|m|h)", value)
          is not None, f"{lname}: {var}'s default is RFC 3339 or +D ({value!r})")

# Every $(VAR) in any container's command, args and subPathExpr is declared in its env.
for job in (load, merge):
    jname = job["metadata"]["name"]
    for c in containers_of(job["spec"]["template"]["spec"]):
        text = " ".join(argv_of(c)[0]) + " " + " ".join(
            m.get("subPathExpr", "") for m in c.get("volumeMounts") or [])
        declared = set(env_of(c))
        for var in sorted(k8s_refs(text)):
            check(var in declared, f"{jname}/{c['name']}: declares env {var}, which its command or mounts use")
        _, script = argv_of(c)
        for var in sorted(shell_refs(script or "")):
            check(var in declared, f"{jname}/{c['name']}: declares env {var}, which its sh -c script uses")

# The index variable: set by the Job controller; if declared, from the completion index.
index = env.get(INDEX_VAR)
if check(index is not None, f"{lname}: {INDEX_VAR} declared in the strain container's env"):
    field = ((index.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
    check(field in INDEX_FIELDS, f"{lname}: {INDEX_VAR} from the completion index ({field})")

# Every volumeMount names a volume; the volumes name this directory's ConfigMap and PVC.
seen_claims = set()
for job in (load, merge):
    jname, pod = job["metadata"]["name"], job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for c in containers_of(pod):
        for m in c.get("volumeMounts") or []:
            check(m["name"] in volumes, f"{jname}/{c['name']}: mount {m['name']} is a volume of the pod")
    for v in volumes.values():
        if "configMap" in v:
            check(v["configMap"].get("name") in configmaps,
                  f"{jname}: volume {v['name']} is ConfigMap {v['configMap'].get('name')}, defined here")
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"].get("claimName")
            if check(claim in pvcs, f"{jname}: volume {v['name']} is PVC {claim}, defined here") \
                    and claim not in seen_claims:
                seen_claims.add(claim)
                modes = pvcs[claim]["spec"].get("accessModes") or []
                check("ReadWriteMany" in modes, f"PVC {claim}: ReadWriteMany (pods on many nodes) ({modes})")
        else:
            check(False, f"{jname}: volume {v['name']} is a ConfigMap or a PVC")

# The script: a .lua file from the ConfigMap's mount; every env.NAME it reads is declared.
script_path = tokens[2] if len(tokens) > 2 else ""
where = located(script_path, strain, lvolumes)
check(script_path.endswith(".lua") and where is not None and "configMap" in (where[0] or {}),
      f"{lname}: the script {script_path} is under a ConfigMap volume's mountPath")
if where and "configMap" in (where[0] or {}):
    cm = configmaps.get(where[0]["configMap"]["name"], {})
    items = {i["path"]: i["key"] for i in where[0]["configMap"].get("items") or []}
    key = items.get(where[2], where[2])
    lua = (cm.get("data") or {}).get(key)
    if check(lua is not None, f"{lname}: ConfigMap {cm.get('metadata', {}).get('name')} has key {key}"):
        for var in sorted(set(re.findall(r"\benv\.([A-Za-z_][A-Za-z0-9_]*)", lua))):
            check(var in env, f"{lname}: declares env {var}, which the script reads")

# --out: under the PVC's mount, one file per index.
out = flag(tokens, "--out") or flag(tokens, "-o") or ""
out_at = located(out, strain, lvolumes)
check(out_at is not None and "persistentVolumeClaim" in (out_at[0] or {}),
      f"{lname}: --out {out} is under a PVC volume's mountPath")
check(f"$({INDEX_VAR})" in posixpath.basename(out), f"{lname}: --out file name has $({INDEX_VAR})")

# --- The merge: the same directory's segment files ----------------------------------------------
mname, mspec, mpod = merge["metadata"]["name"], merge["spec"], merge["spec"]["template"]["spec"]
mvolumes = {v["name"]: v for v in mpod.get("volumes") or []}
check(bounded_int(mspec.get("activeDeadlineSeconds"), 1, MAX_DEADLINE_S),
      f"{mname}: activeDeadlineSeconds set and bounded ({mspec.get('activeDeadlineSeconds')})")
check(bounded_int(mspec.get("backoffLimit"), 0, MAX_BACKOFF),
      f"{mname}: backoffLimit set and bounded ({mspec.get('backoffLimit')})")
check(mpod.get("restartPolicy") == "Never", f"{mname}: restartPolicy Never")
merger = [c for c in mpod.get("containers") or [] if argv_of(c)[0][:2] == ["strain", "merge"]][0]
mtokens, mscript = argv_of(merger)
print(f"     {mname}: {' '.join(mtokens)}")
inputs = []
for t in mtokens[2:]:
    if t.startswith("-"):
        break
    inputs.append(t)
check(len(inputs) >= 1, f"{mname}: strain merge is given segment files ({inputs})")
if any(ch in t for t in inputs for ch in "*?["):
    check(mscript is not None, f"{mname}: the glob {inputs} runs through sh -c, which expands it")


def same_dir(a, b):
    """Both on the same PVC claim, the same subPath(Expr) and the same directory inside it."""
    return a is not None and b is not None and a[0] and b[0] and \
        a[0].get("persistentVolumeClaim") == b[0].get("persistentVolumeClaim") and \
        a[1] == b[1] and posixpath.dirname(a[2]) == posixpath.dirname(b[2])


for pattern in inputs:
    at = located(pattern, merger, mvolumes)
    check(same_dir(at, out_at), f"{mname}: {pattern} is in the directory {lname} writes ({out})")
    if at and out_at and n:
        names = [posixpath.basename(out).replace(f"$({INDEX_VAR})", str(i)) for i in range(n)]
        check(all(fnmatch.fnmatchcase(x, posixpath.basename(pattern)) for x in names),
              f"{mname}: {pattern} matches every segment file ({names[0]} .. {names[-1]})")
for name in ("--out", "--html", "--junit"):
    value = flag(mtokens, name)
    if name == "--out":
        check(value is not None, f"{mname}: --out given")
    if value is None:
        continue
    at = located(value, merger, mvolumes)
    check(at is not None and "persistentVolumeClaim" in (at[0] or {}),
          f"{mname}: {name} {value} is on the results volume")
    check(not any(fnmatch.fnmatchcase(posixpath.basename(value), posixpath.basename(p)) for p in inputs),
          f"{mname}: {name} {value} is not matched by the segment glob (a second merge stays exact)")
# Run by hand (kubectl apply -f both), the two Jobs still meet in one directory.
lrun = {k: v.get("value") for k, v in env.items() if "value" in v}
for var, e in env_of(merger).items():
    if var in lrun and "value" in e and var in k8s_refs(str(out_at[1] if out_at else "")):
        check(e["value"] == lrun[var], f"{mname}: {var}'s default equals {lname}'s ({e['value']!r})")

# --- The example's target: loopback, served in the pod ------------------------------------------
url_re = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://(\[[^\]]*\]|[^/\s\"'`:$)]+)(?::(\d+))?")
for path in sorted(glob.glob(os.path.join(DIR, "*"))):
    if not os.path.isfile(path):
        continue
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for m in url_re.finditer(text):
        check(m.group(1).lower() in LOOPBACK,
              f"{os.path.basename(path)}: URL host {m.group(1)} is loopback ({m.group(0)})")
for fname, d in docs:
    for c in containers_of(((d.get("spec") or {}).get("template") or {}).get("spec") or {}):
        for var, e in env_of(c).items():
            if "URL" in var and "value" in e:
                m = url_re.match(str(e["value"]))
                check(m is not None and m.group(1) in LOOPBACK, f"{fname}: {var} is a loopback URL ({e['value']})")
ports = set()
for c in lpod.get("initContainers") or []:
    if argv_of(c)[0][:1] == ["strain-target"]:
        check(c.get("restartPolicy") == "Always",
              f"{lname}: strain-target is a native sidecar (restartPolicy Always), stopped when strain exits")
        ports.add(flag(argv_of(c)[0], "--port"))
check(not any(argv_of(c)[0][:1] == ["strain-target"] for c in lpod.get("containers") or []),
      f"{lname}: strain-target is not a plain container (it would keep the pod from completing)")
for var, e in env.items():
    m = url_re.match(str(e.get("value", "")))
    if "URL" in var and m:
        check(m.group(2) in ports, f"{lname}: {var} port {m.group(2)} is served by the sidecar ({ports})")

# --- The Dockerfile and submit.sh, as text --------------------------------------------------------
with open(os.path.join(DIR, "Dockerfile"), encoding="utf-8") as f:
    dockerfile = re.sub(r"\\\n", " ", f.read())
runs_df = [l for l in dockerfile.splitlines() if l.strip().startswith("RUN ")]
froms = [l.split()[1] for l in dockerfile.splitlines() if l.startswith("FROM ")]
check(froms and all(f == "debian:bookworm-slim" for f in froms), f"Dockerfile: FROM debian:bookworm-slim ({froms})")
check(len(froms) >= 2, "Dockerfile: multi-stage (the build stage is not shipped)")
check(any("tools/install-deps.sh" in r for r in runs_df), "Dockerfile: a RUN uses tools/install-deps.sh")
check(any(re.search(r"cmake (--preset \S+|-S )", r) for r in runs_df) and
      any("cmake --build" in r for r in runs_df), "Dockerfile: a RUN configures and builds with cmake")
final = dockerfile.split("\nFROM ")[-1]
check(re.search(r"COPY --from=\S+ .*\bstrain\b.*\bstrain-target\b.* /usr/local/bin/", final) is not None,
      "Dockerfile: the final stage copies strain and strain-target onto PATH")
ignore = os.path.join(DIR, "Dockerfile.dockerignore")
check(os.path.isfile(ignore) and "build/" in open(ignore, encoding="utf-8").read().split(),
      "Dockerfile.dockerignore leaves out build/ (a host CMakeCache.txt breaks the image's configure)")

# submit.sh sets values the manifests declare (a misspelt name would leave the default in place).
with open(os.path.join(DIR, "submit.sh"), encoding="utf-8") as f:
    submit = re.sub(r"\\\n", " ", f.read())
applied = set()
for m in re.finditer(r"^apply (\S+) (\S+) (.*)$", submit, re.M):
    fname, cname = m.group(1), m.group(2)
    applied.add(fname)
    target = [c for _, d in docs if _ == fname
              for c in containers_of(d["spec"]["template"]["spec"]) if c["name"] == cname]
    if check(len(target) == 1, f"submit.sh: {fname} has a container {cname}"):
        for var in re.findall(r"\b([A-Z_][A-Z0-9_]*)=", m.group(3)):
            check(var in env_of(target[0]), f"submit.sh: {fname}/{cname} declares {var}, which submit.sh sets")
job_files = {f for f, d in docs if d["kind"] == "Job"}
check(job_files <= applied, f"submit.sh applies every Job with its values ({sorted(job_files)})")
check(re.search(r"date -u .*%Y-%m-%dT%H:%M:%SZ", submit) is not None, "submit.sh: START_AT as RFC 3339 UTC")

finish()
