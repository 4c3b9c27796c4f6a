#!/usr/bin/env bash
# A throw-away single-node Ceph cluster with a RADOS Gateway: a real S3 server (SigV4 enforced) on
# 127.0.0.1, for the S3 tests. The mon and one OSD run on memstore (RAM, no disks), cephx is off inside the
# cluster; S3 users and signatures are still checked by rgw. Verified recipe: ../shared/TEST-INFRA.md §1.3.
#
# usage: radosgw.sh start DIR   -> writes DIR/env (LITESTREAM_TEST_S3_ENDPOINT/KEY/SECRET/BUCKET/DIR), prints it
#        radosgw.sh stop DIR    -> stops rgw, osd, mon (in that order) and removes DIR
#        radosgw.sh stop-gateway|start-gateway DIR   -> stops / restarts only the S3 gateway (fault tests)
#        radosgw.sh pause|resume DIR                 -> SIGSTOP / SIGCONT the gateway (a hung server)
# Packages (scripts/setup.sh): ceph-mon ceph-osd radosgw awscli.
set -euo pipefail
CMD=${1:?usage: radosgw.sh start|stop DIR}
DIR=$(realpath -m "${2:?usage: radosgw.sh start|stop DIR}")
ACCESS_KEY=LITESTREAMTESTKEY
SECRET_KEY=litestreamtestsecret
BUCKET=litestream-test

stop_cluster() {
  # Our own copies of the pids (the daemons delete their pid files while shutting down), or the daemons'
  # files when an attempt was cut short before copying them. rgw first, then the OSD, then the mon (an OSD
  # whose mon is gone waits before exiting).
  local f pid
  for f in "$DIR"/pids/1-rgw "$DIR"/run/client.rgw.*.pid "$DIR"/pids/2-osd "$DIR"/run/osd.*.pid \
           "$DIR"/pids/3-mon "$DIR"/run/mon.*.pid; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

# Polls CONDITION (a command) until it succeeds, at most TRIES times SECONDS apart; fails at once if the
# daemon whose pid file is PIDFILE has exited, so a dead daemon never costs the whole wait.
wait_for() {
  local pidfile=$1 tries=$2 seconds=$3; shift 3
  for _ in $(seq 1 "$tries"); do
    "$@" && return 0
    if [ -s "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "daemon $(basename "$pidfile") exited while waiting for: $*" >&2; return 1
    fi
    sleep "$seconds"
  done
  echo "timed out waiting for: $*" >&2; return 1
}

osd_is_up() { timeout 10 ceph -c "$DIR/ceph.conf" osd stat 2>/dev/null | grep -q '1 up'; }
gateway_answers() { curl -s --max-time 2 -o /dev/null "$1/"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_once() {
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,mon,osd,pids,rgw}
  local rgw_port mon_port fsid conf
  rgw_port=$(free_port); mon_port=$(free_port)
  fsid=$(cat /proc/sys/kernel/random/uuid)
  conf="$DIR/ceph.conf"
  cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
keyring = $DIR/keyring
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 3221225472
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
# The cluster lives in RAM: a mon that refuses to start on a nearly full disk (below 5 % free by default)
# only makes the tests fail on busy CI disks.
mon data avail crit = 0
mon data avail warn = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $DIR/rgw
rgw dns name = localhost
rgw thread pool size = 64
# SSE-C over plain HTTP (loopback only) and a built-in test KMS key for SSE-KMS tests.
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = litestream-test-key=k5Ydy5zM1EjfB5XxtPVRLa6+gQ2hiWITP20SUHV9VGE=
CONF
  local c=(-c "$conf")
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  # An explicit v1 address: with a plain ip:port any port but 6789 is taken as msgr2 and clients hang.
  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  ceph-mon "${c[@]}" -i a
  for _ in $(seq 1 50); do [ -s "$DIR/run/mon.a.pid" ] && break; sleep 0.1; done
  cp "$DIR/run/mon.a.pid" "$DIR/pids/3-mon"
  timeout 30 ceph "${c[@]}" -s >/dev/null
  local osd_uuid osd_id
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(timeout 30 ceph "${c[@]}" osd new "$osd_uuid")
  mkdir -p "$DIR/osd/ceph-$osd_id"
  ceph-osd "${c[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/mkfs.log"
  timeout 30 ceph "${c[@]}" osd crush add-bucket localhost host >>"$DIR/log/setup.log" 2>&1 || true
  timeout 30 ceph "${c[@]}" osd crush move localhost root=default >>"$DIR/log/setup.log" 2>&1 || true
  timeout 30 ceph "${c[@]}" osd crush add "osd.$osd_id" 1.0 host=localhost >>"$DIR/log/setup.log" 2>&1 || true
  ceph-osd "${c[@]}" -i "$osd_id"
  for _ in $(seq 1 50); do [ -s "$DIR/run/osd.$osd_id.pid" ] && break; sleep 0.1; done
  cp "$DIR/run/osd.$osd_id.pid" "$DIR/pids/2-osd"
  wait_for "$DIR/pids/2-osd" 60 0.5 osd_is_up
  radosgw "${c[@]}" -n client.rgw.a
  for _ in $(seq 1 50); do [ -s "$DIR/run/client.rgw.a.pid" ] && break; sleep 0.1; done
  cp "$DIR/run/client.rgw.a.pid" "$DIR/pids/1-rgw"
  local endpoint="http://127.0.0.1:$rgw_port"
  wait_for "$DIR/pids/1-rgw" 120 0.5 gateway_answers "$endpoint"
  timeout 60 radosgw-admin "${c[@]}" user create --uid litestream --display-name litestream \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >/dev/null
  # The tests' bucket, created with the AWS CLI: also proves a standard client can talk to the server.
  for _ in $(seq 1 20); do
    AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_DEFAULT_REGION=us-east-1 \
      timeout 30 aws --endpoint-url "$endpoint" s3 mb "s3://$BUCKET" >/dev/null 2>&1 && break
    sleep 0.5
  done
  AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_DEFAULT_REGION=us-east-1 \
    timeout 30 aws --endpoint-url "$endpoint" s3api head-bucket --bucket "$BUCKET" >/dev/null
  cat > "$DIR/env" <<ENV
LITESTREAM_TEST_S3_ENDPOINT=$endpoint
LITESTREAM_TEST_S3_ACCESS_KEY=$ACCESS_KEY
LITESTREAM_TEST_S3_SECRET_KEY=$SECRET_KEY
LITESTREAM_TEST_S3_BUCKET=$BUCKET
LITESTREAM_TEST_S3_DIR=$DIR
ENV
}

mkdir -p "$(dirname "$DIR")"
case "$CMD" in
  start)
    [ -s "$DIR/env" ] && [ -s "$DIR/pids/1-rgw" ] && kill -0 "$(cat "$DIR/pids/1-rgw")" 2>/dev/null && { cat "$DIR/env"; exit 0; }
    # Under CPU contention about 1 start in 4 fails (TEST-INFRA.md): up to 3 attempts on a fresh directory,
    # each a process of its own (so `set -e` stops it at the first failing step) bounded to 120 s, which
    # keeps all three inside the ctest fixture's timeout.
    for attempt in 1 2 3; do
      if timeout -k 5 120 "$0" start-attempt "$DIR" >"$DIR.start.log" 2>&1; then cat "$DIR/env"; exit 0; fi
      echo "radosgw start attempt $attempt failed:" >&2
      tail -n 8 "$DIR.start.log" "$DIR"/log/*.log >&2 2>/dev/null || true
      stop_cluster
    done
    echo "radosgw: could not start a test S3 server (see $DIR.start.log)" >&2
    exit 1 ;;
  start-attempt) start_once ;;
  stop)
    stop_cluster
    rm -rf "$DIR" "$DIR.start.log" ;;
  stop-gateway)
    pid=$(cat "$DIR/pids/1-rgw")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true ;;
  start-gateway)
    endpoint=$(grep ENDPOINT "$DIR/env" | cut -d= -f2)
    radosgw -c "$DIR/ceph.conf" -n client.rgw.a
    for _ in $(seq 1 50); do [ -s "$DIR/run/client.rgw.a.pid" ] && break; sleep 0.1; done
    cp "$DIR/run/client.rgw.a.pid" "$DIR/pids/1-rgw"
    wait_for "$DIR/pids/1-rgw" 120 0.25 gateway_answers "$endpoint" || { echo "radosgw: gateway did not come back" >&2; exit 1; } ;;
  pause) kill -STOP "$(cat "$DIR/pids/1-rgw")" ;;
  resume) kill -CONT "$(cat "$DIR/pids/1-rgw")" ;;
  *) echo "usage: radosgw.sh start|stop DIR" >&2; exit 2 ;;
esac
