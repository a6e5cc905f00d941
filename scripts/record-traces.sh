#!/usr/bin/env bash
# record-traces.sh: re-records the library of real-workload traces in
# workloads/traces/ and regenerates its README.md.
#
# Each trace is one process of a real program under a real load, recorded
# with `migsim trace record --backend uffd-wp` (exact write tracking; shared
# memory included; docs/recording.md). Servers
# listen on 127.0.0.1 only, every load is bounded in time, and everything
# the script starts is stopped and reaped when it exits (also on error or
# Ctrl-C). Runs as root (apt-get, ptrace rights, postgres via runuser).
#
# usage: scripts/record-traces.sh [--build DIR] [--no-install] [NAME...]
#   NAME        redis memcached postgres gcc stress pykv sqlite (default: all)
#   --build DIR migsim build directory (default: build/, built if missing)
#   --no-install  do not apt-get install the workloads' packages
#   --readme-only regenerate README.md from the traces as they are
# environment: BACKEND (default uffd-wp; hash where the kernel lacks it),
#   DURATION (default 25s), INTERVAL (default 100ms), PG_INTERVAL (default
#   100ms; it was 200ms with the hash backend, whose scan of a backend and
#   its 128 MiB of shared buffers took ~120 ms), GCC_DURATION (default 90s:
#   long enough for the whole compile), GCC_INTERVAL (default 100ms; 250ms
#   with hash), GCC_DELAY (default 5s), REDIS_WARMUP (default 10s: load
#   before the recording starts, so that the data set has been built)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
INSTALL=1
README_ONLY=0
BACKEND=${BACKEND:-uffd-wp}
DURATION=${DURATION:-25s}
INTERVAL=${INTERVAL:-100ms}
PG_INTERVAL=${PG_INTERVAL:-100ms}
GCC_DURATION=${GCC_DURATION:-90s}
GCC_INTERVAL=${GCC_INTERVAL:-100ms}
GCC_DELAY=${GCC_DELAY:-5s}
REDIS_WARMUP=${REDIS_WARMUP:-10s}
OUT=$ROOT/workloads/traces
NAMES=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --readme-only) INSTALL=0; README_ONLY=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    redis|memcached|postgres|gcc|stress|pykv|sqlite) NAMES+=("$1"); shift ;;
    *) echo "record-traces: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ ${#NAMES[@]} -gt 0 ] || [ $README_ONLY = 1 ] || NAMES=(redis memcached postgres gcc stress pykv sqlite)

log() { echo "record-traces: $*" >&2; }
die() { log "$*"; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (apt-get, ptrace rights over the servers)"

PACKAGES=(redis-server redis-tools memcached libmemcached-tools postgresql
          postgresql-client stress-ng gcc tcl xz-utils dpkg-dev python3 sqlite3)
if [ $INSTALL = 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    # policy-rc.d keeps the packages' own services from starting, if present.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x "$BUILD/migsim" ]; then
  log "building migsim in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target migsim >/dev/null
fi
MIGSIM=$BUILD/migsim

WORK=$(mktemp -d /tmp/record-traces.XXXXXX)
chmod 755 "$WORK"
STARTED=()   # pids of everything started in the background
PGDATA=""
cleanup() {
  set +e
  for pid in "${STARTED[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  if [ -n "$PGDATA" ] && [ -f "$PGDATA/postmaster.pid" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
  fi
  for pid in "${STARTED[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  STARTED=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a command in the background and remembers it for cleanup.
bg() { "$@" & STARTED+=($!); }

# Waits until `$@` succeeds (up to 20 s).
wait_for() {
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "timed out waiting for: $*"
}

# Records pid $1 into workloads/traces/$2.mtr with the library's settings;
# the remaining arguments are extra `trace record` options (a later
# --interval overrides the default).
record() {
  local pid=$1 name=$2
  shift 2
  log "recording $name (pid $pid) for $DURATION"
  "$MIGSIM" trace record --backend "$BACKEND" --interval "$INTERVAL" --duration "$DURATION" \
    -m "workload=$name" "$@" --pid "$pid" -o "$OUT/$name.mtr"
}

version() { dpkg-query -W -f='${Package} ${Version}' "$1"; }

mkdir -p "$OUT"
PORT_BASE=16379

record_redis() {
  local port=$PORT_BASE
  bg redis-server --bind 127.0.0.1 --port $port --save '' --appendonly no \
    --protected-mode yes --daemonize no --logfile "$WORK/redis.log"
  local server=${STARTED[-1]}
  wait_for redis-cli -h 127.0.0.1 -p $port ping
  # A mixed command load on 200k random keys with 256-byte values, looping
  # over the tests until killed (bounded by timeout).
  local load="redis-benchmark -h 127.0.0.1 -p $port -c 16 -n 200000 -r 200000 -d 256 -t set,get,incr,lpush,lpop,sadd,hset -l -q"
  bg timeout 70 $load >"$WORK/redis-benchmark.log" 2>&1
  local bench=${STARTED[-1]}
  sleep "$REDIS_WARMUP"
  record "$server" redis -m "load=$load" \
    -m "versions=$(version redis-server); $(version redis-tools)" \
    -m "description=redis-server (jemalloc) serving redis-benchmark over loopback"
  kill "$bench" 2>/dev/null || true
  redis-cli -h 127.0.0.1 -p $port shutdown nosave >/dev/null 2>&1 || true
}

record_memcached() {
  local port=$((PORT_BASE + 1))
  bg memcached -l 127.0.0.1 -p $port -U 0 -m 256 -t 2 -u memcache
  local server=${STARTED[-1]}
  wait_for memcping --servers=127.0.0.1:$port
  # memaslap's default mix (9 get : 1 set, 10k-key window per connection)
  # with 512-byte values.
  local load="memcaslap -s 127.0.0.1:$port -T 1 -c 16 -X 512 -t 60s"
  bg $load >"$WORK/memaslap.log" 2>&1
  local bench=${STARTED[-1]}
  sleep 2
  record "$server" memcached -m "load=$load" \
    -m "versions=$(version memcached); $(version libmemcached-tools)" \
    -m "description=memcached -m 256 -t 2 serving memaslap over loopback"
  kill "$bench" 2>/dev/null || true
}

record_postgres() {
  local port=$((PORT_BASE + 2))
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGDATA=$WORK/pgdata
  install -d -o postgres -m 700 "$PGDATA"
  install -d -o postgres -m 755 "$WORK/pgsock" "$WORK/pglog"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres --no-sync >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pglog/pg.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$WORK/pgsock" start >/dev/null
  local conn=(-h 127.0.0.1 -p $port -U postgres)
  pgbench "${conn[@]}" -i -s 10 -q postgres >/dev/null 2>&1
  # TPC-B-like transactions from 4 clients; the trace follows one backend
  # and the shared buffers it shares with the other three.
  local load="pgbench -h 127.0.0.1 -p $port -U postgres -c 4 -j 2 -T 60 postgres"
  bg timeout 70 $load >"$WORK/pgbench.log" 2>&1
  local bench=${STARTED[-1]}
  sleep 2
  local backend
  backend=$(psql "${conn[@]}" -Atc \
    "select pid from pg_stat_activity where application_name = 'pgbench' order by pid limit 1" postgres)
  [ -n "$backend" ] || die "no pgbench backend found"
  record "$backend" postgres --interval "$PG_INTERVAL" -m "load=$load" \
    -m "versions=$(version postgresql); $("$PGBIN/postgres" --version)" \
    -m "description=one PostgreSQL backend (private memory + shared buffers) under pgbench -s 10"
  kill "$bench" 2>/dev/null || true
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
}

# The SQLite amalgamation (one 8 MiB C file) from Debian's source package,
# made with the package's own tool (needs tclsh).
sqlite_source() {
  local apt=$WORK/apt
  mkdir -p "$apt/parts" "$apt/lists/partial"
  # deb-src entries for the archives apt already uses (no hosts named here).
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/*.sources > "$apt/parts/src.sources"
  fi
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$apt/parts/src.list"
  fi
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts"
              -o "Dir::State::Lists=$apt/lists")
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$WORK" && apt-get "${opts[@]}" source --download-only -qq sqlite3 >/dev/null 2>&1)
  SQLITE_VERSION=$(ls "$WORK"/sqlite3_*.dsc | sed 's/.*sqlite3_\(.*\)\.dsc/\1/')
  tar -xJf "$WORK"/sqlite3_*.orig.tar.xz -C "$WORK"
  local src
  src=$(ls -d "$WORK"/sqlite3-*/ | head -1)
  (cd "$src" && ./configure >/dev/null 2>&1 && make sqlite3.c >/dev/null 2>&1)
  gcc -E -DSQLITE_THREADSAFE=1 "$src/sqlite3.c" -o "$WORK/sqlite3.i"
}

record_gcc() {
  sqlite_source
  local cc1
  cc1=$(gcc -print-prog-name=cc1)
  # cc1 itself (the driver only forks it), compiling the whole amalgamation
  # at -O2: about 25 s and 350 MB here. The first scan comes GCC_DELAY
  # into the compile, so that the initial image is a compiler at work and
  # not a process that has just been exec'ed; the trace ends when cc1 exits.
  log "recording gcc for up to $GCC_DURATION"
  "$MIGSIM" trace record --backend "$BACKEND" --interval "$GCC_INTERVAL" --duration "$GCC_DURATION" \
    --delay "$GCC_DELAY" \
    -m workload=gcc -m "load=none (compiler run to completion or to the duration)" \
    -m "versions=$(version gcc-12 2>/dev/null || version gcc); sqlite3 source $SQLITE_VERSION" \
    -m "description=gcc cc1 -O2 compiling the SQLite amalgamation (sqlite3.c), from $GCC_DELAY in to its exit" \
    -o "$OUT/gcc.mtr" -- "$cc1" -quiet -O2 -fpreprocessed "$WORK/sqlite3.i" -o "$WORK/sqlite3.s"
}

record_stress() {
  # One vm stressor sweeping 64 MiB with its rotating mix of write
  # patterns; the trace follows the process that touches the memory.
  local load="stress-ng --vm 1 --vm-bytes 64M --vm-keep --timeout 60s"
  bg $load >"$WORK/stress-ng.log" 2>&1
  local root=${STARTED[-1]} pid
  sleep 2
  pid=$root
  while child=$(pgrep -P "$pid" | tail -1) && [ -n "$child" ]; do pid=$child; done
  [ "$pid" != "$root" ] || die "no stress-ng worker found"
  record "$pid" stress -m "load=$load" -m "versions=$(version stress-ng)" \
    -m "description=stress-ng vm stressor worker, 64 MiB, all methods"
  kill -TERM "$root" 2>/dev/null || true
}

# A Python service with a large heap: an HTTP key-value store (the standard
# library's ThreadingHTTPServer) holding 300k values of 512 bytes in a dict
# (~300 MiB of heap), loaded by 4 client threads doing 70 % GET, 30 % PUT of
# random keys over loopback. PUT replaces the value object, so the
# allocator's free lists and the dict churn too.
record_pykv() {
  local port=$((PORT_BASE + 3))
  cat > "$WORK/kv.py" <<'PY'
import http.client, http.server, os, random, sys, threading, time

def serve(port, entries):
    store = {i: os.urandom(512) for i in range(entries)}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args):
            pass
        def do_GET(self):
            value = store.get(int(self.path[1:]), b"")
            self.send_response(200)
            self.send_header("Content-Length", str(len(value)))
            self.end_headers()
            self.wfile.write(value)
        def do_PUT(self):
            length = int(self.headers["Content-Length"])
            store[int(self.path[1:])] = self.rfile.read(length)
            self.send_response(204)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()

def load(port, entries, seconds, threads):
    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        end = time.time() + seconds
        rnd = random.Random()
        while time.time() < end:
            key = rnd.randrange(entries)
            if rnd.random() < 0.7:
                conn.request("GET", "/%d" % key)
            else:
                conn.request("PUT", "/%d" % key, body=os.urandom(512))
            conn.getresponse().read()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        load(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
PY
  bg /usr/bin/python3 "$WORK/kv.py" serve $port 300000 >"$WORK/kv.out" 2>&1
  local server=${STARTED[-1]}
  wait_for grep -q ready "$WORK/kv.out"
  local load="python3 kv.py load $port 300000 60 4"
  bg timeout 70 /usr/bin/python3 "$WORK/kv.py" load $port 300000 60 4 >"$WORK/kv-load.log" 2>&1
  local bench=${STARTED[-1]}
  sleep 2
  record "$server" pykv -m "load=$load" -m "versions=$(version python3); $(/usr/bin/python3 --version)" \
    -m "description=Python 3 HTTP key-value service, 300k x 512 B values in a dict, 4 clients 70% GET / 30% PUT"
  kill "$bench" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
}

# An in-memory analytics job: the sqlite3 shell builds a 1.5M-row sales
# table in an in-memory database, indexes it, and runs aggregate, join and
# update queries over it in a loop. Recorded through `-- CMD` from the
# exec of sqlite3 to its exit (or the duration).
record_sqlite() {
  {
    echo "PRAGMA cache_size = -600000;"
    echo "CREATE TABLE sales(id INTEGER PRIMARY KEY, day INT, store INT, item INT, qty INT, price REAL, note TEXT);"
    echo "CREATE TABLE items(item INTEGER PRIMARY KEY, category INT, name TEXT);"
    echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)"
    echo "  INSERT INTO sales SELECT x, abs(random()) % 365, abs(random()) % 200, abs(random()) % 20000,"
    echo "  1 + abs(random()) % 9, (abs(random()) % 10000) / 100.0, hex(randomblob(12)) FROM c;"
    echo "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 19999)"
    echo "  INSERT INTO items SELECT x, x % 50, 'item' || x FROM c;"
    echo "CREATE INDEX sales_day ON sales(day);"
    for round in $(seq 8); do
      echo "SELECT store, sum(qty * price) AS revenue FROM sales GROUP BY store ORDER BY revenue DESC LIMIT 3;"
      echo "SELECT i.category, count(*), avg(s.price) FROM sales s JOIN items i USING(item) GROUP BY i.category;"
      echo "SELECT day, count(DISTINCT item) FROM sales WHERE day BETWEEN $((round * 30)) AND $((round * 30 + 60)) GROUP BY day;"
      echo "UPDATE sales SET price = price * 1.01 WHERE store = $((round * 7 % 200));"
      echo "CREATE TEMP TABLE top$round AS SELECT item, sum(qty) q FROM sales GROUP BY item ORDER BY q DESC LIMIT 1000;"
    done
  } > "$WORK/analytics.sql"
  log "recording sqlite for up to $DURATION"
  "$MIGSIM" trace record --backend "$BACKEND" --interval "$INTERVAL" --duration "$DURATION" \
    -m workload=sqlite -m "load=analytics.sql: build 1.5M rows, then 8 rounds of 5 queries" \
    -m "versions=$(version sqlite3)" \
    -m "description=sqlite3 in-memory analytics: build a 1.5M-row table, aggregate/join/update queries" \
    -o "$OUT/sqlite.mtr" -- sqlite3 :memory: <"$WORK/analytics.sql" >/dev/null
}

for name in "${NAMES[@]+"${NAMES[@]}"}"; do
  "record_$name"
done

# The trace `migsim compare` uses when given none (cli/cmd_compare.c).
[ -f "$OUT/postgres.mtr" ] && ln -sfn postgres.mtr "$OUT/default.mtr"

# ---------------------------------------------------------------- README
# Regenerated from the traces' own metadata and `migsim trace info/stats`.
# The metadata lines of a trace (via a CSV export: cached per trace).
meta() {
  local hdr=$WORK/meta-$(basename "$1" .mtr)
  if [ ! -f "$hdr" ]; then
    "$MIGSIM" trace export "$1" "$hdr.csv"
    sed '/^[^#]/q' "$hdr.csv" > "$hdr"
    rm -f "$hdr.csv"
  fi
  sed -n "s/^# $2=//p" "$hdr" | head -1
}
info_field() { # trace, column name of `trace info --csv`
  "$MIGSIM" trace info --csv "$1" | awk -F, -v col="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i }
    NR == 2 { print $c }'
}
ws_1s() { # mean distinct pages written in 1 s windows
  local dir=$WORK/stats-$(basename "$1" .mtr)
  "$MIGSIM" trace stats "$1" --out "$dir" --min-window 1s >/dev/null
  awk -F, 'NR == 2 { print $3 }' "$dir/working_set.csv"
}

{
  cat <<'EOF'
# Real-workload traces

Dirty-page traces of real programs under real load, recorded with
`migsim trace record` (docs/recording.md) on the machine each trace's
provenance names (`host_cpu`, `kernel`): with the exact `uffd-wp` backend, shared memory
included, unless the provenance below says `backend: hash` (traces
recorded before that backend existed: private memory only, identical
rewrites not seen; they have no write B / compr.). Re-record them
all with `scripts/record-traces.sh` (it installs the packages, starts and
stops the servers on 127.0.0.1 and regenerates this file). Each trace
carries its full provenance in its metadata (the `#` lines of
`migsim trace export FILE out.csv`): command line, load, package
versions, date, machine, kernel, interval, backend, mapping kinds, and the
recorder's own cost (scan time, overruns).
`default.mtr` is a link to `postgres.mtr`: the trace `migsim compare`
(and so the main job) uses when given no workload.

Columns: *memory* = the trace's pfn space (pages ever in use by the
process, in 64 KiB blocks); *non-zero* = pages non-zero at time 0;
*interval* = the recorder's epoch (all writes to a page within one epoch
are one event); *dirty rate* = page-write events per second; *WS 1 s* =
mean distinct pages written in a 1 s window; *written* = distinct pages
written over the whole trace; *scan* = the recorder's mean scan time and
overruns (scans that ended after the next deadline; the trace is then
coarser there, never wrong); *write B* and *compr.* = the page-content
attributes `write_bytes` (mean bytes one write changes) and
`compress_ratio` (zlib-1 compressed / raw size of non-zero pages),
estimated from sampled pages. A recorded load runs slower than it would
alone by what the recorder costs it: one write-protect fault per page
and interval (0.6 µs on a VM with hardware page tables, ~50 µs on one
without: docs/recording.md, "Cost, measured"), and the recorder's scans
on the same cores. Traces recorded where faults are slow understate the
program's dirty rate.

| trace | what | memory | non-zero | duration | interval | dirty rate | WS 1 s | written | write B | compr. | scan (overruns) | size |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
EOF
  for t in "$OUT"/*.mtr; do
    [ -L "$t" ] && continue # default.mtr
    name=$(basename "$t" .mtr)
    pages=$(info_field "$t" pages)
    mib() { awk -v p="$1" 'BEGIN { printf "%.1f MiB", p * 4096 / 1048576 }'; }
    printf '| %s | %s | %s | %s | %.1f s | %d ms | %.0f pages/s (%.1f MiB/s) | %s | %s | %s | %s | %.1f ms (%s) | %s |\n' \
      "$name" "$(meta "$t" description)" "$(mib "$pages")" "$(mib "$(info_field "$t" nonzero_pages)")" \
      "$(info_field "$t" duration_s)" "$(( $(meta "$t" interval_ns) / 1000000 ))" \
      "$(info_field "$t" write_rate_pages_per_s)" \
      "$(info_field "$t" write_rate_mib_per_s)" "$(mib "$(ws_1s "$t")")" \
      "$(mib "$(info_field "$t" distinct_pages_written)")" "$(meta "$t" write_bytes)" \
      "$(meta "$t" compress_ratio)" "$(meta "$t" scan_ms_mean)" \
      "$(meta "$t" overruns)" "$(du -h "$t" | cut -f1)"
  done
  echo
  echo "## Provenance"
  for t in "$OUT"/*.mtr; do
    [ -L "$t" ] && continue
    echo
    echo "### $(basename "$t")"
    echo
    for k in command load versions date host_cpu kernel backend mappings interval_ns end; do
      echo "- $k: \`$(meta "$t" $k)\`"
    done
  done
} > "$OUT/README.md.tmp"
mv "$OUT/README.md.tmp" "$OUT/README.md"
log "done: README regenerated"
