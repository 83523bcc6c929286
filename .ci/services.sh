# Servers and tools the test suite talks to. Sourced by .ci/run.
#
# Redis for @mqtt-sessions/retain-redis: a throwaway server on a loopback port, with no
# persistence, installed from the Debian packages when missing. Its URL is exported as REDIS_URL,
# which the retain-redis tests require when CI is set.
# A 3-master Redis Cluster for @mqtt-sessions/session-store-redis, whose seeds are exported as
# REDIS_CLUSTER_URLS (packages/session-store-redis/ci/redis-cluster.sh).
# mosquitto-clients for the broker's end-to-end tests: MQTT clients nobody here wrote.

# shellcheck source=../packages/session-store-redis/ci/redis-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages/session-store-redis/ci/redis-cluster.sh"

CI_REDIS_PORT="${CI_REDIS_PORT:-6390}"
CI_REDIS_DIR="${TMPDIR:-/tmp}/mqtt-sessions-ci-redis"

start_services() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "installing ${missing[*]} from the Debian packages"
    $sudo apt-get update -qq &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      return 1
  fi
  mkdir -p "$CI_REDIS_DIR"
  redis-server --port "$CI_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$CI_REDIS_DIR" --pidfile "$CI_REDIS_DIR/redis.pid" \
    --logfile "$CI_REDIS_DIR/redis.log" || return 1
  local attempt
  for attempt in $(seq 1 50); do
    if [ "$(redis-cli -p "$CI_REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; then
      export REDIS_URL="redis://127.0.0.1:$CI_REDIS_PORT"
      echo "redis-server ready on $REDIS_URL (after $attempt checks)"
      start_redis_cluster
      return
    fi
    sleep 0.1
  done
  echo "redis-server did not answer on port $CI_REDIS_PORT; log:" >&2
  cat "$CI_REDIS_DIR/redis.log" >&2 2>/dev/null
  return 1
}

stop_services() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -p "$CI_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    stop_redis_cluster
  fi
  return 0
}
