#!/usr/bin/env bash
# Sonde demo, from a fresh Debian 12 machine: the whole path, from the host process to the
# console's database (docs/delivery.md).
#   1. installs the build dependencies that are missing (scripts/deps.sh: apt-get; sudo only
#      when not root),
#   2. builds the plugin, the emulated host (sonde-shim), the operator tool (sonde-ctl, whose
#      `upload` runs the uplink's engine) and the console's service (sonde-console) in build/,
#   3. creates the snapshot channel's keys (`sonde-ctl keygen`: one console key, one server key
#      per base) and enables four bases with snapshots on (`sonde-ctl enable --spool-dir ...`),
#   4. replays a simulated month, the 28 days up to yesterday, of 4 establishments (3 in
#      Toulouse's time zone, 1 in Réunion's; 2 server processes and 600 students each) through
#      the real libsonde.so, which ships sealed snapshots into the spool; the shim checks the
#      live segments and the decrypted snapshots (as the console ingests them) against its
#      oracle (the replay reaches the current month: only a segment's first latching is zero,
#      docs/snapshot.md, "Replays"),
#   5. prints the console's report (`sonde-ctl open` of a base's spool, summarised),
#   6. prints, for one base, the connections of one day hour by hour as `sonde-ctl open` has
#      them beside the oracle's (they must agree),
#   7. starts a real `sonde-console` on loopback (a TLS certificate made by openssl, each base's
#      sender key enrolled for that base), uploads the spool over HTTPS with `sonde-ctl upload`
#      (the console's key pinned; each file deleted only on the console's verified receipt),
#      waits until the console has applied every file to its SQLite database, prints the same
#      hour table read from that database beside the oracle's (they must agree),
#   8. prints the start of the live indicators of one base (`sonde-ctl dump`),
#   9. leaves the console running with its pages (docs/console.md): a collectivité (D031) with
#      the four establishments, an administrator created for the demo whose random password is
#      printed once, the address to open and the command that stops it.
#
# Usage: bash scripts/demo.sh
# Environment (optional): SONDE_DEMO_BUILD_DIR (default <repo>/build), SONDE_DEMO_SOURCE_DIR
# (default <repo>), SONDE_DEMO_WORK_DIR (default: a fresh /tmp/sonde-demo.XXXXXX), JOBS,
# SONDE_DEMO_PORT (the console's port on 127.0.0.1, default: a free one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE_DIR="${SONDE_DEMO_SOURCE_DIR:-$ROOT}"
BUILD_DIR="${SONDE_DEMO_BUILD_DIR:-$ROOT/build}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
BASES=(0310001A 0310002B 0310003C 0310004D)  # the shim's first four bases: collèges and lycées
ZONES=Europe/Paris,Europe/Paris,Europe/Paris,Indian/Reunion
DAYS=28
START="$(date -u -d "-$DAYS days" +%F)"  # the simulated month ends yesterday (UTC)
SEED=1

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# Runs a noisy command with its output in a log; shows the log's tail if it fails.
quietly() {
    local log="$1"; shift
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "failed: $* (full log: $log)"
    fi
}

# ---------------------------------------------------------------------------------------------
step "Build dependencies"
# One list for the demo, CI and developers: scripts/deps.sh installs what is missing.
quietly /tmp/sonde-demo-deps.log bash "$ROOT/scripts/deps.sh"
note "all present (scripts/deps.sh)"

# ---------------------------------------------------------------------------------------------
step "Build ($BUILD_DIR, optimised: RelWithDebInfo)"
mkdir -p "$BUILD_DIR"
# -O2 rather than Release's -O3: GCC 12 at -O3 reports a false -Wstringop-overflow (an error
# under -Werror) in plugin/crypto/hkdf.cc.
quietly "$BUILD_DIR/demo-configure.log" \
    cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONDE_BENCH=OFF
quietly "$BUILD_DIR/demo-build.log" cmake --build "$BUILD_DIR" -j "$JOBS" --target sonde sonde-shim sonde-console
note "built: libsonde.so, sonde-shim, sonde-console"
LIB="$BUILD_DIR/plugin/libsonde.so"
SHIM="$BUILD_DIR/shim/sonde-shim"
CTL="$BUILD_DIR/tools/sonde-ctl"
CONSOLE="$BUILD_DIR/console/sonde-console"
# The operator tool is optional here: the replay and its check do not need it.
HAVE_CTL=0
targets="$(cmake --build "$BUILD_DIR" --target help 2>/dev/null || true)"  # no early-exit pipe
if ! grep -qw 'sonde-ctl' <<<"$targets"; then
    note "sonde-ctl is not part of this tree yet (tools/ctl): its steps are skipped"
elif ! cmake --build "$BUILD_DIR" -j "$JOBS" --target sonde-ctl >"$BUILD_DIR/demo-build-ctl.log" 2>&1; then
    note "sonde-ctl does not build (see $BUILD_DIR/demo-build-ctl.log): its steps are skipped"
elif [ -x "$CTL" ]; then
    HAVE_CTL=1
    note "built: sonde-ctl"
fi

WORK="${SONDE_DEMO_WORK_DIR:-$(mktemp -d /tmp/sonde-demo.XXXXXX)}"
CONF="$WORK/conf"
SHM="$WORK/shm"
SNAP="$WORK/snapshots"  # keys/ and spool/
KEYS="$SNAP/keys"
SPOOL="$SNAP/spool"
mkdir -p "$CONF" "$SHM" "$KEYS" "$SPOOL"
CONSOLE_KEY="$KEYS/console.key"

# ---------------------------------------------------------------------------------------------
step "Snapshot keys and ${#BASES[@]} bases enabled with snapshots on"
if ((HAVE_CTL)); then
    "$CTL" keygen --out "$CONSOLE_KEY" --public "$KEYS/console.pub" | sed 's/^/    /'
    IFS=, read -r -a zone_of <<<"$ZONES"
    for i in "${!BASES[@]}"; do
        base="${BASES[$i]}"
        "$CTL" keygen --out "$KEYS/$base.server.key" --public "$KEYS/$base.server.pub" --base "$base" | sed 's/^/    /'
        # One snapshot an hour (the default is every 15 minutes): a month is then about 680
        # files per base to upload rather than 2,700, and every hour figure is still checked.
        "$CTL" enable "$base" --config-dir "$CONF" --spool-dir "$SPOOL" --timezone "${zone_of[$i]}" \
            --interval 60 --console-key "$KEYS/console.pub" --sender-key "$KEYS/$base.server.key" \
            | sed 's/^/    /'
    done
else
    note "no sonde-ctl: the shim creates the keys and the configuration of each base itself"
fi

# ---------------------------------------------------------------------------------------------
step "Replay a month ($DAYS days from $START) through libsonde.so; check the segments and the snapshots"
REPORT="$WORK/report.json"
set +e
"$SHIM" --lib "$LIB" --config-dir "$CONF" --shm-dir "$SHM" --bases ${#BASES[@]} \
    --processes 2 --students 600 --days "$DAYS" --start "$START" --timezones "$ZONES" \
    --snapshot-interval 60 --seed "$SEED" --scenario week --check \
    --snapshots "$SNAP" --console-key "$CONSOLE_KEY" --json "$REPORT"
status=$?
set -e
[ "$status" -eq 0 ] || die "the replay did not match the oracle (exit $status); see $REPORT"

# ---------------------------------------------------------------------------------------------
step "Console report: the spool opened and ingested by sonde-ctl open (summary)"
if ((HAVE_CTL)); then
    for base in "${BASES[@]}"; do
        files=("$SPOOL/$base"-*.sonde)
        bytes="$(cat "${files[@]}" | wc -c)"
        "$CTL" open "${files[@]}" --key "$CONSOLE_KEY" --trust "$KEYS/$base.server.pub" \
            >"$WORK/console-$base.json"
        python3 "$ROOT/scripts/console_summary.py" "$WORK/console-$base.json" "${#files[@]}" "$bytes"
    done
    step "Privacy audit: could a console user who kept every snapshot derive a count from 1 to k-1?"
    trust="$(printf "$KEYS/%s.server.pub," "${BASES[@]}")"
    "$CTL" audit "$SPOOL" --key "$CONSOLE_KEY" --trust "${trust%,}" --max-reported 5 \
        || die "the privacy audit found small counts a console user could derive"
else
    note "skipped (no sonde-ctl); the shim's report above has the snapshot section"
fi

# ---------------------------------------------------------------------------------------------
DAY="$START"
step "Hour by hour: ${BASES[0]} on $DAY, connections at the console beside the oracle's"
if ((HAVE_CTL)); then
    python3 "$ROOT/scripts/hours_table.py" "$REPORT" "${BASES[0]}" "$DAY" \
        "$WORK/console-${BASES[0]}.json" || die "the console's hours differ from the oracle's"
else
    python3 "$ROOT/scripts/hours_table.py" "$REPORT" "${BASES[0]}" "$DAY" \
        || die "the console's hours differ from the oracle's"
fi

# ---------------------------------------------------------------------------------------------
step "Delivery: the spools uploaded over HTTPS to a real sonde-console on loopback"
CONSOLE_PID=""
CONSOLE_RUNNING=0
stop_console() {
    if [ -n "$CONSOLE_PID" ]; then
        kill "$CONSOLE_PID" 2>/dev/null || true
        wait "$CONSOLE_PID" 2>/dev/null || true
        CONSOLE_PID=""
    fi
}
trap stop_console EXIT
db_count() {  # db_count DB SQL: one number from the console's SQLite database (0 if not there yet)
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
try:
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    print(db.execute(sys.argv[2]).fetchone()[0])
except sqlite3.Error:
    print(0)
PY
}
if ((HAVE_CTL)) && [ -x "$CONSOLE" ]; then
    CDIR="$WORK/console"
    mkdir -p "$CDIR/data"
    # A throwaway TLS certificate for 127.0.0.1; the upload pins its public key.
    quietly "$CDIR/openssl.log" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -keyout "$CDIR/tls.key" -out "$CDIR/tls.crt" -days 2 -subj /CN=localhost \
        -addext subjectAltName=IP:127.0.0.1
    PIN="sha256//$(openssl x509 -in "$CDIR/tls.crt" -pubkey -noout | openssl pkey -pubin -outform der \
        | openssl dgst -sha256 -binary | base64)"
    # A fixed port (a free one unless SONDE_DEMO_PORT says), so that the links of the mails and
    # of the invitation printed below (public_url) are the address the console listens on.
    PORT="${SONDE_DEMO_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
    printf '%s\n' "listen = 127.0.0.1:$PORT" "public_url = https://127.0.0.1:$PORT" \
        "port_file = $CDIR/port" "tls_certificate = $CDIR/tls.crt" \
        "tls_private_key = $CDIR/tls.key" "console_key = $CONSOLE_KEY" "data_dir = $CDIR/data" \
        "min_free_bytes = 0" "rate_limit_burst = 2000" >"$CDIR/console.conf"
    # rate_limit_burst: each base arrives with a whole replayed month at once (about 680 files
    # at one snapshot an hour), more than a real server's backlog after a 72-hour outage (288),
    # for which the default is sized (docs/delivery.md#rate-limit).
    for base in "${BASES[@]}"; do  # enrolment: each base's sender key, for that base only
        "$CONSOLE" keys add "$base" "$KEYS/$base.server.pub" --config "$CDIR/console.conf" | sed 's/^/    /'
    done
    # The pages' collectivité: the four establishments (Réunion's in its own time zone), and
    # an administrator, invited as `sonde-console users add-admin` does (docs/console.md).
    {
        printf '0310001A\tCollège Jean Jaurès\tToulouse\tEurope/Paris\tD031\n'
        printf '0310002B\tLycée Pierre de Fermat\tToulouse\tEurope/Paris\tD031\n'
        printf '0310003C\tCollège Les Tilleuls\tMuret\tEurope/Paris\tD031\n'
        printf '0310004D\tLycée Leconte de Lisle\tSaint-Denis\tIndian/Reunion\tD031\n'
    } >"$CDIR/etablissements.tsv"
    "$CONSOLE" collectivites add D031 Haute-Garonne --config "$CDIR/console.conf" | sed 's/^/    /'
    "$CONSOLE" establishments import "$CDIR/etablissements.tsv" --config "$CDIR/console.conf" | sed 's/^/    /'
    ADMIN_EMAIL="admin@demo.sonde.example"
    "$CONSOLE" users add-admin --collectivite D031 --email "$ADMIN_EMAIL" --name DEMO \
        --first-name Administrateur --config "$CDIR/console.conf" >"$CDIR/invitation.txt"
    INVITATION="$(grep -o 'https://[^ ]*/invitation?token=[^ ]*' "$CDIR/invitation.txt")"
    # setsid: the console outlives this script (step 9); it is stopped here only on a failure.
    setsid "$CONSOLE" serve --config "$CDIR/console.conf" </dev/null >/dev/null 2>"$CDIR/console.log" &
    CONSOLE_PID=$!
    for _ in $(seq 600); do  # hang guard: 60 s
        [ -s "$CDIR/port" ] && break
        kill -0 "$CONSOLE_PID" 2>/dev/null || { cat "$CDIR/console.log" >&2; die "sonde-console did not start"; }
        sleep 0.1
    done
    [ -s "$CDIR/port" ] || die "sonde-console did not listen (log: $CDIR/console.log)"
    note "sonde-console listening on https://127.0.0.1:$PORT, key pinned: $PIN"
    sent="$(find "$SPOOL" -maxdepth 1 -name '*.sonde' | wc -l)"
    if ! "$CTL" upload "$SPOOL" --url "https://127.0.0.1:$PORT" --pin "$PIN" >"$CDIR/upload.log" 2>&1; then
        tail -n 20 "$CDIR/upload.log" >&2
        die "the upload left files in the spool (log: $CDIR/upload.log)"
    fi
    left="$(find "$SPOOL" -maxdepth 1 \( -name '*.sonde' -o -name '*.receipt' \) | wc -l)"
    note "sonde-ctl upload: $sent files sent, each deleted on the console's verified receipt; left: $left"
    [ "$left" -eq 0 ] || die "files left in the spool"
    # The ingestor applies the inbox apart from the acknowledgements: wait until it has.
    applied=0
    for _ in $(seq 1200); do  # hang guard: 120 s
        applied="$(db_count "$CDIR/data/figures.sqlite" "SELECT COUNT(*) FROM snapshots WHERE status = 'applied'")"
        [ "$applied" -ge "$sent" ] && break
        sleep 0.1
    done
    [ "$applied" -eq "$sent" ] || die "the console applied $applied of $sent files"
    figures="$(db_count "$CDIR/data/figures.sqlite" "SELECT COUNT(*) FROM figures")"
    note "sonde-console applied $applied snapshots: $figures figures in $CDIR/data/figures.sqlite"
    step "Hour by hour: ${BASES[0]} on $DAY, connections in the console's database beside the oracle's"
    python3 "$ROOT/scripts/hours_table.py" "$REPORT" "${BASES[0]}" "$DAY" "$CDIR/data/figures.sqlite" \
        || die "the console's database differs from the oracle"
    # The administrator's password: random, set through the invitation page as a person would
    # (the form's CSRF field and cookie, the password twice), printed once at the end. It must
    # not contain the name or the login (the guide's rule): hence no "demo" nor "admin" in it.
    ADMIN_PASSWORD="$(python3 -c 'import secrets; print("Console#" + secrets.token_urlsafe(12) + "7")')"
    python3 - "$INVITATION" "$ADMIN_PASSWORD" "$CDIR/tls.crt" <<'PY' || die "the invitation could not be accepted"
import http.cookiejar, re, ssl, sys, urllib.parse, urllib.request
link, password, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False  # the certificate names 127.0.0.1 as an IP address
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx),
                                  urllib.request.HTTPCookieProcessor(jar))
page = web.open(link, timeout=60).read().decode()
csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
form = urllib.parse.urlencode({"csrf": csrf, "token": token, "password": password,
                               "confirmation": password}).encode()
answer = web.open(link.split("?")[0], data=form, timeout=60)
sys.exit(0 if answer.status == 200 else 1)
PY
    CONSOLE_RUNNING=1
else
    note "skipped (sonde-ctl or sonde-console missing)"
fi

# ---------------------------------------------------------------------------------------------
END_UNIX="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["simulated"]["end_unix"])' "$REPORT")"
step "Live indicators of ${BASES[0]} at the end of the simulated week (unix $END_UNIX)"
if ((HAVE_CTL)); then
    "$CTL" dump "${BASES[0]}" --shm-dir "$SHM" --config-dir "$CONF" --at "$END_UNIX" >"$WORK/dump.txt"
    head -n 60 "$WORK/dump.txt"
    note "... ($(wc -l <"$WORK/dump.txt") lines in all: $WORK/dump.txt)"
else
    note "skipped (no sonde-ctl). The segment is $SHM/sonde.${BASES[0]}; once the tool exists:"
    note "  $CTL dump ${BASES[0]} --shm-dir $SHM --config-dir $CONF --at $END_UNIX"
fi

step "Done"
note "configuration: $CONF"
note "segments:      $SHM"
note "snapshots:     $SPOOL (keys in $KEYS)"
note "shim report:   $REPORT"
if ((CONSOLE_RUNNING)); then
    step "The console is running: its pages over the simulated month ($START to yesterday)"
    note "address:   https://127.0.0.1:$PORT/   (a self-signed certificate: accept it in the browser)"
    note "login:     $ADMIN_EMAIL"
    note "password:  $ADMIN_PASSWORD   (printed only here)"
    note "database:  $CDIR/data/figures.sqlite; log: $CDIR/console.log"
    note "stop it:   kill $CONSOLE_PID"
    CONSOLE_PID=""  # left running on purpose: the trap does not stop it
fi
