#!/usr/bin/env bash
# Runs the example test on the current kubectl context: the script's ConfigMap and the results
# volume, the Indexed Job with every segment starting at one instant set now, then the merge Job
# once the segments are done; copies the run's files to ./strain-results/RUN_ID and exits with
# the merge's code (0 passed, 3 a threshold failed on the whole test).
# Usage: examples/kubernetes/submit.sh
#   IMAGE=strain:latest          the image built from Dockerfile, as the cluster can pull it
#   TARGET_URL=http://127.0.0.1:8080/   the target (default: the strain-target sidecar)
#   RATE=400 DURATION=2m         the whole test's rate and length (the script reads them)
#   START_IN=60                  seconds from now to the common start: time to schedule pods and
#                                pull the image on every node
#   ALLOW_PARTIAL=1              merge the segments there are when one failed
set -euo pipefail
out_dir="$PWD/strain-results"
cd "$(dirname "$0")"

image="${IMAGE:-strain:latest}"
target_url="${TARGET_URL:-http://127.0.0.1:8080/}"
rate="${RATE:-400}"
duration="${DURATION:-2m}"
start_in="${START_IN:-60}"
merge_flags=""
[[ "${ALLOW_PARTIAL:-0}" == 1 ]] && merge_flags="--allow-partial"
run_id="run-$(date -u +%Y%m%d-%H%M%S)"

# Applies a manifest with this run's values in its env and image.
apply() {  # FILE CONTAINER NAME=VALUE...
  local file="$1" container="$2"
  shift 2
  kubectl set env --local -f "$file" -c "$container" -o yaml "$@" \
    | kubectl set image --local -f - "*=$image" -o yaml \
    | kubectl apply -f -
}

# Waits until a Job is Complete or Failed, prints which; its activeDeadlineSeconds bounds this.
wait_job() {  # NAME
  local name="$1" limit state=""
  limit=$(kubectl get job "$name" -o jsonpath='{.spec.activeDeadlineSeconds}')
  local deadline=$((SECONDS + ${limit:-600} + 120))
  while ((SECONDS < deadline)); do
    state=$(kubectl get job "$name" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
    if [[ " $state " == *" Complete "* ]]; then echo Complete; return; fi
    if [[ " $state " == *" Failed "* ]]; then echo Failed; return; fi
    sleep 5
  done
  echo "submit.sh: job/$name did not finish in $((${limit:-600} + 120)) s" >&2
  return 1
}

kubectl apply -f pvc.yaml -f configmap.yaml
# Job templates are immutable: the previous run's Jobs go first (its files stay on the volume).
kubectl delete job strain-load strain-merge --ignore-not-found --wait=true

# One instant for every segment, RFC 3339 in UTC (GNU date, then BSD date).
t=$(($(date +%s) + start_in))
start_at=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$t" +%Y-%m-%dT%H:%M:%SZ)
echo "submit.sh: $run_id, 4 segments starting at $start_at against $target_url"
apply job.yaml strain START_AT="$start_at" RUN_ID="$run_id" TARGET_URL="$target_url" \
  RATE="$rate" DURATION="$duration"

load=$(wait_job strain-load)
echo "submit.sh: strain-load $load"
if [[ "$load" == Failed ]]; then
  kubectl get job strain-load -o jsonpath='{"failed indexes: "}{.status.failedIndexes}{"\n"}'
fi

# The verdict: merge whatever the load Job's state (a segment failing its own thresholds still
# wrote its result); strain merge says if a segment is missing.
apply merge-job.yaml strain-merge RUN_ID="$run_id" MERGE_FLAGS="$merge_flags"
merge=$(wait_job strain-merge)
kubectl logs job/strain-merge || true
code=$(kubectl get pods -l batch.kubernetes.io/job-name=strain-merge \
  -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')
echo "submit.sh: strain-merge $merge, exit code ${code:-unknown}"

# Copy the run's directory out through a short-lived pod that mounts the volume.
kubectl delete pod strain-fetch --ignore-not-found --wait=true
kubectl apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: strain-fetch
  labels: { app.kubernetes.io/name: strain }
spec:
  restartPolicy: Never
  securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 }
  containers:
    - name: fetch
      image: $image
      imagePullPolicy: IfNotPresent
      command: ["sleep", "300"]
      volumeMounts: [{ name: results, mountPath: /results }]
  volumes:
    - name: results
      persistentVolumeClaim: { claimName: strain-results }
YAML
kubectl wait --for=condition=Ready pod/strain-fetch --timeout=120s
mkdir -p "$out_dir"
kubectl cp "strain-fetch:/results/$run_id" "$out_dir/$run_id"
kubectl delete pod strain-fetch --wait=false
echo "submit.sh: results in $out_dir/$run_id (segment-*.json, merged.json, report.html, junit.xml)"
exit "${code:-1}"
