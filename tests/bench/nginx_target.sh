# Sourced by benchmarks: start_nginx PORT CPU (start_nginx_tls PORT CPU CERT KEY for TLS) /
# stop_nginx. A private nginx on 127.0.0.1 only, one worker pinned to CPU, answering a 14-byte
# body with keep-alive that never expires early.
start_nginx() {
  local port=$1 cpu=$2
  run_nginx "$cpu" "listen 127.0.0.1:$port backlog=16384;" "" "http://127.0.0.1:$port/"
}

# start_nginx_tls PORT CPU CERT KEY: the same target over TLS, HTTP/2 offered by ALPN beside
# HTTP/1.1 (h2load and `strain --http2` get h2, wrk and strain's https get HTTP/1.1). No session
# cache or tickets: each new connection pays a full handshake. Stopped by stop_nginx.
start_nginx_tls() {
  local port=$1 cpu=$2 cert=$3 key=$4
  run_nginx "$cpu" "listen 127.0.0.1:$port ssl http2 backlog=16384;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_session_cache off;
    ssl_session_tickets off;" "http2_max_concurrent_streams 128;" "https://127.0.0.1:$port/"
}

# run_nginx CPU SERVER_LINES HTTP_LINES PROBE_URL: writes the config, starts nginx, waits (5 s at
# most) until PROBE_URL answers.
run_nginx() {
  local cpu=$1 server_lines=$2 http_lines=$3 probe=$4
  NGINX_DIR=$(mktemp -d /tmp/strain-bench-nginx.XXXXXX)
  # worker_cpu_affinity takes a bit mask: CPU n is a 1 followed by n zeros ("1" for CPU 0).
  local mask=1
  for ((i = 0; i < cpu; i++)); do mask+=0; done
  cat >"$NGINX_DIR/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity $mask;
daemon on;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
worker_rlimit_nofile 40000;
events { worker_connections 30000; use epoll; multi_accept on; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  $http_lines
  client_body_temp_path $NGINX_DIR;
  proxy_temp_path $NGINX_DIR;
  fastcgi_temp_path $NGINX_DIR;
  uwsgi_temp_path $NGINX_DIR;
  scgi_temp_path $NGINX_DIR;
  server {
    $server_lines
    location / { return 200 "hello, strain\n"; }
  }
}
CONF
  nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e "$NGINX_DIR/error.log"
  for _ in $(seq 50); do
    curl -sfk "$probe" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nginx did not start: $probe" >&2
  return 1
}

stop_nginx() {
  [[ -n "${NGINX_DIR:-}" && -f "$NGINX_DIR/nginx.pid" ]] && kill "$(cat "$NGINX_DIR/nginx.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "${NGINX_DIR:-/nonexistent}"
}
