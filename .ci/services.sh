# Servers the test suite talks to. Sourced by .ci/run.

start_services() {
  return 0
}

stop_services() {
  return 0
}
