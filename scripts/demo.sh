#!/usr/bin/env bash
# The main job on an embedded default: builds everything, then replicates a demo database with live
# writes to a local file replica, lists the replica, restores it (latest and point in time) and checks
# that every row came back.
#   usage: scripts/demo.sh [DEMO_DIR]        (default: a fresh temp dir, kept for inspection)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" release >/dev/null
BIN="$ROOT/build/bin"
DEMO=${1:-$(mktemp -d /tmp/litestream-demo.XXXXXX)}
mkdir -p "$DEMO"
DB="$DEMO/app.db"
REPLICA="$DEMO/replica"
rm -rf "$DB" "$DB-wal" "$DB-shm" "$DEMO/.app.db-litestream" "$REPLICA" "$DEMO"/restored*.db*

# The embedded default configuration: one database, one file replica, quick compaction for the demo.
cat > "$DEMO/litestream.yml" <<YAML
dbs:
  - path: $DB
    replica:
      url: file://$REPLICA
levels:
  - interval: 5s
  - interval: 30s
YAML

sql() { "$BIN/sqlite3" -cmd '.timeout 5000' "$DB" "$@"; }
sql "PRAGMA journal_mode=wal; CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT, payload BLOB);" >/dev/null

echo "== replicating $DB -> file://$REPLICA"
"$BIN/litestream" replicate -config "$DEMO/litestream.yml" > "$DEMO/replicate.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT

for i in $(seq 1 40); do
  sql "INSERT INTO events (at, payload) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'), randomblob(2000));"
  if [ "$i" = 20 ]; then sleep 1.5; MID=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ); MID_COUNT=20; sleep 1.5; fi
  sleep 0.05
done
sleep 2
kill -TERM $PID; wait $PID || true; trap - EXIT
grep -E 'level=(ERROR|WARN)' "$DEMO/replicate.log" || true

echo "== replica contents"
"$BIN/litestream" ltx -level all "file://$REPLICA"

echo "== restore latest"
"$BIN/litestream" restore -integrity-check full -o "$DEMO/restored.db" "file://$REPLICA"
want=$(sql "SELECT count(*), sum(length(payload)), max(id) FROM events;")
got=$("$BIN/sqlite3" "$DEMO/restored.db" "SELECT count(*), sum(length(payload)), max(id) FROM events;")
echo "source:   $want"
echo "restored: $got"
[ "$want" = "$got" ] || { echo "FAIL: restored database differs"; exit 1; }

echo "== restore at $MID (point in time)"
"$BIN/litestream" restore -timestamp "$MID" -o "$DEMO/restored-mid.db" "file://$REPLICA"
mid=$("$BIN/sqlite3" "$DEMO/restored-mid.db" "SELECT count(*) FROM events;")
echo "rows at $MID: $mid (expected $MID_COUNT)"
[ "$mid" = "$MID_COUNT" ] || { echo "FAIL: point-in-time restore has $mid rows"; exit 1; }

echo "OK: demo passed; files in $DEMO"
