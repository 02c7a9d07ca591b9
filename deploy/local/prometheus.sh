#!/usr/bin/env bash
# Starts Debian's Prometheus (package prometheus, /usr/bin/prometheus) on
# loopback, scraping one mmsimd. The configuration is generated from
# deploy/prometheus/prometheus.yml with the target replaced by --target.
#
#   deploy/local/prometheus.sh [--listen HOST:PORT] [--target HOST:PORT]
#                              [--storage DIR] [--pid-file PATH]
#                              [--background] [--ready-timeout SECONDS]
#
#   --listen     Prometheus web/API address   (default 127.0.0.1:9090, env PROMETHEUS_LISTEN)
#   --target     mmsimd's --metrics_address   (default 127.0.0.1:9464, env MMSIM_METRICS_TARGET)
#   --storage    TSDB directory; the generated prometheus.yml and, with
#                --background, prometheus.log go there too
#                (default: a new temporary directory; in the foreground it is
#                removed when Prometheus stops, in the background it is kept)
#   --pid-file   write Prometheus's pid to this file
#   --background start it, wait until /-/ready answers, print its pid, exit 0
#                (stop it with: kill "$(cat PID_FILE)")
#   --ready-timeout  how long --background waits for /-/ready (default 30)
#
# Environment: PROMETHEUS_BIN (default /usr/bin/prometheus).
# Exit status: 0 started (background) or stopped cleanly (foreground),
# 1 Prometheus failed, 2 usage error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="$here/../prometheus/prometheus.yml"
prometheus_bin="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
listen="${PROMETHEUS_LISTEN:-127.0.0.1:9090}"
target="${MMSIM_METRICS_TARGET:-127.0.0.1:9464}"
storage=""
pid_file=""
background=0
ready_timeout=30

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit 0
}
die() {
  echo "prometheus.sh: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --listen) [ $# -ge 2 ] || die "--listen needs a value"; listen="$2"; shift 2 ;;
    --listen=*) listen="${1#*=}"; shift ;;
    --target) [ $# -ge 2 ] || die "--target needs a value"; target="$2"; shift 2 ;;
    --target=*) target="${1#*=}"; shift ;;
    --storage) [ $# -ge 2 ] || die "--storage needs a value"; storage="$2"; shift 2 ;;
    --storage=*) storage="${1#*=}"; shift ;;
    --pid-file) [ $# -ge 2 ] || die "--pid-file needs a value"; pid_file="$2"; shift 2 ;;
    --pid-file=*) pid_file="${1#*=}"; shift ;;
    --ready-timeout) [ $# -ge 2 ] || die "--ready-timeout needs a value"; ready_timeout="$2"; shift 2 ;;
    --ready-timeout=*) ready_timeout="${1#*=}"; shift ;;
    --background) background=1; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done

# host:port with a DNS name, an IPv4 address or a [bracketed] IPv6 address.
# Checked strictly because the target is substituted into the config by sed.
addr_re='^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$'
[[ "$listen" =~ $addr_re ]] || die "--listen '$listen' is not HOST:PORT"
[[ "$target" =~ $addr_re ]] || die "--target '$target' is not HOST:PORT"
[[ "$ready_timeout" =~ ^[0-9]+$ ]] || die "--ready-timeout must be a whole number of seconds"
[ -x "$prometheus_bin" ] || die "$prometheus_bin not found (apt-get install prometheus, or set PROMETHEUS_BIN)"
[ -r "$template" ] || die "cannot read $template"
case "${listen%:*}" in
  127.* | localhost | "[::1]") ;;
  *) echo "prometheus.sh: warning: --listen $listen is not loopback; Prometheus has no authentication" >&2 ;;
esac

made_storage=0
if [ -z "$storage" ]; then
  storage="$(mktemp -d "${TMPDIR:-/tmp}/mmsim-prometheus.XXXXXX")"
  made_storage=1
fi
mkdir -p "$storage"
config="$storage/prometheus.yml"
sed "s/127\.0\.0\.1:9464/$target/" "$template" >"$config"
grep -qF "\"$target\"" "$config" || die "the template $template has no 127.0.0.1:9464 target to replace"

args=(
  "--config.file=$config"
  "--storage.tsdb.path=$storage/data"
  "--storage.tsdb.retention.time=1d"
  "--web.listen-address=$listen"
  "--web.console.templates=/etc/prometheus/consoles"
  "--web.console.libraries=/etc/prometheus/console_libraries"
)

if [ "$background" -eq 1 ]; then
  log="$storage/prometheus.log"
  "$prometheus_bin" "${args[@]}" >"$log" 2>&1 </dev/null &
  pid=$!
  [ -z "$pid_file" ] || echo "$pid" >"$pid_file"
  for ((i = 0; i < ready_timeout * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "prometheus.sh: prometheus exited at startup; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    if curl -fsS -o /dev/null "http://$listen/-/ready" 2>/dev/null; then
      echo "prometheus.sh: prometheus pid $pid on http://$listen scraping $target" >&2
      echo "prometheus.sh: storage $storage, log $log" >&2
      echo "$pid"
      exit 0
    fi
    sleep 0.1
  done
  echo "prometheus.sh: prometheus (pid $pid) not ready after ${ready_timeout}s; stopping it" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
fi

# Foreground: Prometheus is a child so that a temporary storage directory can
# be removed afterwards; SIGINT/SIGTERM are passed on to it.
"$prometheus_bin" "${args[@]}" </dev/null &
pid=$!
[ -z "$pid_file" ] || echo "$pid" >"$pid_file"
echo "prometheus.sh: prometheus pid $pid on http://$listen scraping $target (storage $storage)" >&2
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
status=0
wait "$pid" || status=$?
# A trapped signal ends the first wait early (status 128+N); the second wait
# returns Prometheus's own exit status (127: it was already collected).
if [ "$status" -gt 128 ]; then
  again=0
  wait "$pid" 2>/dev/null || again=$?
  [ "$again" -eq 127 ] || status=$again
fi
[ -z "$pid_file" ] || rm -f "$pid_file"
[ "$made_storage" -eq 0 ] || rm -rf "$storage"
exit "$status"
