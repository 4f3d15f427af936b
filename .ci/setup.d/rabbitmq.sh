#!/usr/bin/env bash
# RabbitMQ for the queue checks' tests (issue 10): broker up, management API on 127.0.0.1:15672.
# Idempotent: safe to run on a machine where all of this is already done.
set -euo pipefail
command -v rabbitmq-server >/dev/null || { echo "setup.d/rabbitmq: rabbitmq-server is not installed" >&2; exit 1; }

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # port what
  for _ in $(seq 1 120); do up "$1" && return 0; sleep 0.5; done
  echo "setup.d/rabbitmq: $2 did not come up on 127.0.0.1:$1" >&2
  return 1
}

# The API must listen on loopback only, as every service the tests use; the
# setting takes effect for a broker started later, the set_env below for one running now.
conf=/etc/rabbitmq/rabbitmq.conf
mkdir -p /etc/rabbitmq
grep -q '^management.tcp.ip' "$conf" 2>/dev/null || echo 'management.tcp.ip = 127.0.0.1' >>"$conf"

if ! up 5672; then
  # .ci/services starts the broker when it is installed before it runs; on a fresh machine it is not yet.
  rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  rabbitmq-server -detached
  wait_for 5672 RabbitMQ
fi
if ! up 15672; then
  rabbitmqctl -q eval 'application:set_env(rabbitmq_management, tcp_config, [{ip, "127.0.0.1"}, {port, 15672}]).' >/dev/null
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_for 15672 "RabbitMQ management API"
fi
