# A throwaway 3-master Redis Cluster on loopback ports, for the tests of
# @mqtt-sessions/session-store-redis (and anything else that needs Redis Cluster).
#
# Meant to be sourced by .ci/services.sh: start_redis_cluster starts it and exports
# REDIS_CLUSTER_URLS (comma-separated host:port seeds, which the tests read); stop_redis_cluster
# stops it and removes its files. It needs redis-server and redis-cli (Debian package
# redis-server), which start_services installs. No persistence: the cluster is for tests.
#
# Each node also listens on its port + 10000 (the cluster bus), so the ports and those above them
# must be free. Override the ports with CI_REDIS_CLUSTER_PORTS="7000 7001 7002".

CI_REDIS_CLUSTER_PORTS="${CI_REDIS_CLUSTER_PORTS:-7000 7001 7002}"
CI_REDIS_CLUSTER_DIR="${CI_REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/mqtt-sessions-ci-redis-cluster}"

start_redis_cluster() {
  local port attempt seeds=() ready
  rm -rf "$CI_REDIS_CLUSTER_DIR"
  mkdir -p "$CI_REDIS_CLUSTER_DIR" || return 1
  for port in $CI_REDIS_CLUSTER_PORTS; do
    redis-server --port "$port" --bind 127.0.0.1 \
      --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 5000 \
      --save '' --appendonly no --daemonize yes --dir "$CI_REDIS_CLUSTER_DIR" \
      --pidfile "$CI_REDIS_CLUSTER_DIR/redis-$port.pid" \
      --logfile "$CI_REDIS_CLUSTER_DIR/redis-$port.log" || return 1
    seeds+=("127.0.0.1:$port")
  done
  for port in $CI_REDIS_CLUSTER_PORTS; do
    for attempt in $(seq 1 50); do
      [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ] && break
      sleep 0.1
    done
    if [ "$(redis-cli -p "$port" ping 2>/dev/null)" != "PONG" ]; then
      echo "redis-server (cluster node) did not answer on port $port; log:" >&2
      cat "$CI_REDIS_CLUSTER_DIR/redis-$port.log" >&2 2>/dev/null
      return 1
    fi
  done
  redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes >/dev/null || {
    echo "redis-cli --cluster create failed" >&2
    return 1
  }
  # Every node must see every slot covered before clients use it.
  for attempt in $(seq 1 100); do
    ready=yes
    for port in $CI_REDIS_CLUSTER_PORTS; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ready=no
    done
    if [ "$ready" = yes ]; then
      REDIS_CLUSTER_URLS=$(IFS=,; echo "${seeds[*]}")
      export REDIS_CLUSTER_URLS
      echo "redis cluster ready on $REDIS_CLUSTER_URLS (after $attempt checks)"
      return 0
    fi
    sleep 0.1
  done
  echo "redis cluster on ${seeds[*]} did not reach cluster_state:ok" >&2
  return 1
}

stop_redis_cluster() {
  local port
  for port in $CI_REDIS_CLUSTER_PORTS; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$CI_REDIS_CLUSTER_DIR"
  return 0
}
