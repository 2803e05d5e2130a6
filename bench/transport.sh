#!/bin/bash
# transport.sh BUILD - `make bench-transport`: the same synthetic migration
# stream (1 GiB by default) over loopback through each transport a Xen
# migration can take, in one run:
#
#   raw      relocd-bench send -> TCP -> relocd-bench listen   (the limit)
#   ssh      relocd-bench send -> ssh -> sshd -> relocd-bench receive
#            (what stock `xl migrate` does), default cipher and aes128-gcm
#   relocd   xl-relocate migrate --offline -> relocd-fake (simulated guest)
#            -> TCP or TLS 1.3 PSK -> relocd-fake -> relocd-bench receive
#
# Each is run BENCH_RUNS times, round-robin so that other load on the host
# spreads over all of them; a failed run is reported and tried once more.
# Prints a table on stdout and writes
# bench/results/transport-<timestamp>.json.  It reports numbers; it never
# passes or fails.  See bench/README.md.
#
# Environment: BENCH_MIB (1024), BENCH_RUNS (3), BENCH_PORT_BASE (18000:
# uses +2 relocd TCP, +3 relocd TLS, +10 raw, +22 sshd), BENCH_KEEP=1
# keeps the work directory (logs, configs) for a look afterwards,
# BENCH_ONLY="raw relocd-tls" runs only the transports named (of raw ssh
# ssh-aes relocd-tcp relocd-tls).
set -eu

B=${1:?usage: transport.sh BUILD-DIR}
B=$(cd "$B" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=$B/bench/relocd-bench
MIB=${BENCH_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
ONLY=" ${BENCH_ONLY:-raw ssh ssh-aes relocd-tcp relocd-tls} "
BASE=${BENCH_PORT_BASE:-18000}
PORT_TCP=$((BASE + 2)) PORT_TLS=$((BASE + 3))
PORT_RAW=$((BASE + 10)) PORT_SSH=$((BASE + 22))
T=$(mktemp -d /tmp/relocd-bench.XXXXXX)
BG=          # runners started in the background (each leads its own group)
FG=          # the measured command now running
MADE_PRIVSEP=

want() { case $ONLY in *" $1 "*) return 0 ;; esac; return 1; }
say() { echo "bench-transport: $*" >&2; }
die() { say "$*"; exit 1; }

alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]
}

# stop PID: SIGTERM to a runner (it passes it on: relocd drains, sshd
# exits), then its whole group if it lingers.
stop() {
    local i=0
    kill -TERM "$1" 2>/dev/null || true
    while alive "$1"; do
        sleep 0.05
        i=$((i + 1))
        if [ $i -ge 100 ]; then
            kill -KILL -- "-$1" 2>/dev/null || true
            break
        fi
    done
    wait "$1" 2>/dev/null || true
    BG=$(echo "$BG" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ' || true)
}

cleanup() {
    local p
    trap - EXIT INT TERM HUP
    [ -z "$FG" ] || kill -TERM "$FG" 2>/dev/null || true
    for p in $BG; do kill -TERM -- "-$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $BG; do kill -KILL -- "-$p" 2>/dev/null || true; done
    [ -z "$MADE_PRIVSEP" ] || rmdir /run/sshd 2>/dev/null || true
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start NAME CMD...: CMD under `relocd-bench run` in its own session, so a
# cleanup can end the whole tree by group; its CPU goes to $T/NAME.cpu,
# its pid to $T/NAME.pid, its output to $T/NAME.log.
start() {
    local name=$1
    shift
    rm -f "$T/$name.pid"
    setsid "$TOOL" run -p "$T/$name.pid" "$T/$name.cpu" "$@" \
        >"$T/$name.log" 2>&1 &
    LAST=$!
    BG="$BG $LAST"
}

# measure CMD...: a measured command, waited for so that a signal to this
# script is handled at once, not when the command ends.
measure() {
    local rc=0
    "$@" &
    FG=$!
    wait "$FG" || rc=$?
    FG=
    return $rc
}

# wait_for TEST RUNNER WHAT: until TEST succeeds, while the runner lives.
wait_for() {
    local i=0
    until eval "$1"; do
        alive "$2" || die "$3 exited: $(tail -n 5 "$T"/*.log 2>/dev/null)"
        sleep 0.05
        i=$((i + 1))
        [ $i -lt 200 ] || die "$3 did not start"
    done
}
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# Fields of a runner's report: wall_s, or cpu (user + sys).
wall_of() { sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$1"; }
cpu_of() {
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "=");
           if (kv[1] == "user_s" || kv[1] == "sys_s") s += kv[2] } }
         END { printf "%.6f", s }' "$1"
}
# Bytes of the last stream a receiver logged, 0 when none.
bytes_of() {
    [ -f "$1" ] || { echo 0; return; }
    sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$1" | tail -n 1 | grep . || echo 0
}
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }'; }

# record TRANSPORT RUN WALL BYTES CPU_SEND CPU_RECV OK WIRE_BYTES ERROR
record() {
    local err
    err=$(printf '%s' "$9" | tr '\t\n' '  ')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" \
        "$5" "$6" "$7" "$8" "$err" >>"$T/runs.tsv"
    say "$(printf '%-11s run %s: %6.2f s, %s bytes%s' "$1" "$2" "$3" "$4" \
        "$([ "$7" = 1 ] || echo ", FAILED: $err")")"
    LAST_OK=$7
}

# attempt RUN-FUNCTION ARGS...: a failed run is recorded and tried once more.
attempt() {
    "$@"
    [ "$LAST_OK" = 1 ] || "$@"
}

# --- set-up -----------------------------------------------------------------

[ -x "$TOOL" ] || die "$TOOL missing: run 'make bench-transport'"
for f in relocd-fake xl-relocate; do
    [ -x "$B/$f" ] || die "$B/$f missing: run 'make' first"
done
command -v ss >/dev/null || die "ss (iproute2) is needed"
for p in $PORT_TCP $PORT_TLS $PORT_RAW $PORT_SSH; do
    listening "$p" && die "port $p is in use: set BENCH_PORT_BASE"
done
LOAD=$(cut -d' ' -f1 /proc/loadavg)
openssl rand -hex 32 >"$T/psk"
chmod 600 "$T/psk"

# OpenSSH: installed with apt-get when missing (as tests/deps.sh installs
# the build's packages); sshd runs from $T only: no system ssh
# configuration is used, nothing in /etc is changed.
SSH_OK=1 SSH_WHY=
if ! [ -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing openssh-server and openssh-client"
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends openssh-server openssh-client \
            >/dev/null 2>&1 || true
    fi
    [ -x /usr/sbin/sshd ] || { SSH_OK=0; SSH_WHY="openssh-server missing"; }
fi
[ "$(id -u)" -eq 0 ] || { SSH_OK=0; SSH_WHY="sshd needs root"; }
want ssh || want ssh-aes || { SSH_OK=0; SSH_WHY="not in BENCH_ONLY"; }

setup_ssh() {
    local d=$T/ssh
    mkdir -m 700 "$d"
    ssh-keygen -q -t ed25519 -N '' -C relocd-bench-host -f "$d/host" </dev/null
    ssh-keygen -q -t ed25519 -N '' -C relocd-bench-user -f "$d/user" </dev/null
    cp "$d/user.pub" "$d/authorized_keys"
    echo "[127.0.0.1]:$PORT_SSH $(cut -d' ' -f1,2 "$d/host.pub")" \
        >"$d/known_hosts"
    cat >"$d/sshd_config" <<EOF
Port $PORT_SSH
ListenAddress 127.0.0.1
HostKey $d/host
PidFile none
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PermitUserRC no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
LogLevel ERROR
EOF
    # Debian's sshd insists on its privilege separation directory.
    if ! [ -d /run/sshd ]; then
        mkdir -m 755 /run/sshd
        MADE_PRIVSEP=1
    fi
    # One line: it goes into the `sh -c` command xl would run.
    SSH="ssh -F /dev/null -p $PORT_SSH -i $d/user -o IdentitiesOnly=yes"
    SSH="$SSH -o BatchMode=yes -o UserKnownHostsFile=$d/known_hosts"
    SSH="$SSH -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes"
    SSH="$SSH -o UpdateHostKeys=no -o LogLevel=ERROR"
    # Which cipher does the default negotiate?  One probe connection.
    start sshd-probe /usr/sbin/sshd -f "$d/sshd_config" -D -e
    wait_for "listening $PORT_SSH" "$LAST" sshd
    SSH_CIPHER=$($SSH -v root@127.0.0.1 true 2>&1 |
        sed -n 's/.*kex: client->server cipher: \([^ ]*\).*/\1/p' | head -n 1)
    stop "$LAST"
    [ -n "$SSH_CIPHER" ] ||
        die "ssh to the bench sshd failed: $(cat "$T/sshd-probe.log")"
}

# The two relocds of each mode: plain TCP and TLS with a pre-shared key.
setup_relocd() {
    cat >"$T/dst-tcp.sxp" <<EOF
(xend-relocation-server yes)
(xend-relocation-port $PORT_TCP)
(xend-relocation-address 127.0.0.1)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^127\\\\.0\\\\.0\\\\.1\$')
(relocd-control-socket $T/dst-tcp.sock)
EOF
    cat >"$T/src-tcp.sxp" <<EOF
(xend-relocation-port $PORT_TCP)
(relocd-control-socket $T/src-tcp.sock)
EOF
    cat >"$T/dst-tls.sxp" <<EOF
(xend-relocation-ssl-server yes)
(xend-relocation-ssl-port $PORT_TLS)
(xend-relocation-address 127.0.0.1)
(relocd-psk-file $T/psk)
(relocd-control-socket $T/dst-tls.sock)
EOF
    cat >"$T/src-tls.sxp" <<EOF
(xend-relocation-ssl yes)
(xend-relocation-ssl-port $PORT_TLS)
(relocd-psk-file $T/psk)
(relocd-control-socket $T/src-tls.sock)
EOF
    mkdir "$T/state"
}

# --- one run of each transport ------------------------------------------------

run_raw() {
    local r=$1 ok=1 log=$T/recv-raw-$1.log
    start "raw-recv-$r" env BENCH_RECV_LOG="$log" "$TOOL" listen 127.0.0.1 \
        "$PORT_RAW"
    local rpid=$LAST
    wait_for "listening $PORT_RAW" "$rpid" "raw receiver"
    measure "$TOOL" run "$T/raw-send-$r.cpu" "$TOOL" send -m "$MIB" \
        tcp 127.0.0.1 "$PORT_RAW" >"$T/raw-send-$r.log" 2>&1 || ok=0
    "$TOOL" quiesce 10 "$rpid" || true
    stop "$rpid"
    record raw "$r" "$(wall_of "$T/raw-send-$r.cpu")" "$(bytes_of "$log")" \
        "$(cpu_of "$T/raw-send-$r.cpu")" "$(cpu_of "$T/raw-recv-$r.cpu")" $ok \
        0 "$(grep -h '^relocd-bench' "$T/raw-send-$r.log" "$T/raw-recv-$r.log" |
            head -n 1)"
}

# run_ssh NAME RUN [ssh options]: stock xl's way, `ssh HOST xl
# migrate-receive`, with relocd-bench on both ends of the pipe.
run_ssh() {
    local name=$1 r=$2 ok=1 log=$T/recv-$1-$2.log
    shift 2
    start "$name-recv-$r" /usr/sbin/sshd -f "$T/ssh/sshd_config" -D -e
    local rpid=$LAST
    wait_for "listening $PORT_SSH" "$rpid" sshd
    measure "$TOOL" run "$T/$name-send-$r.cpu" "$TOOL" send -m "$MIB" cmd \
        "exec $SSH $* root@127.0.0.1 BENCH_RECV_LOG=$log $TOOL receive" \
        >"$T/$name-send-$r.log" 2>&1 || ok=0
    # sshd's session processes end after the client: wait for them.
    "$TOOL" quiesce 10 "$(cat "$T/$name-recv-$r.pid")" || true
    stop "$rpid"
    record "$name" "$r" "$(wall_of "$T/$name-send-$r.cpu")" \
        "$(bytes_of "$log")" "$(cpu_of "$T/$name-send-$r.cpu")" \
        "$(cpu_of "$T/$name-recv-$r.cpu")" $ok 0 \
        "$(grep -hv '^sent ' "$T/$name-send-$r.log" | head -n 1)"
}

# run_relocd MODE RUN: xl-relocate asks the source relocd to send g1.
run_relocd() {
    local m=$1 r=$2 ok=1 log=$T/recv-relocd-$1-$2.log port wire
    port=$([ "$m" = tls ] && echo $PORT_TLS || echo $PORT_TCP)
    start "dst-$m-$r" env RELOCD_FAKE_RECEIVER="$TOOL" BENCH_RECV_LOG="$log" \
        "$B/relocd-fake" -d -f "$T/dst-$m.sxp"
    local dpid=$LAST
    start "src-$m-$r" env RELOCD_FAKE_DOMAINS=g1 RELOCD_FAKE_GUEST_MB="$MIB" \
        RELOCD_FAKE_STATE="$T/state" "$B/relocd-fake" -d -f "$T/src-$m.sxp"
    local spid=$LAST
    wait_for "listening $port" "$dpid" "target relocd"
    wait_for "[ -S $T/src-$m.sock ]" "$spid" "source relocd"
    measure "$TOOL" run "$T/xlr-$m-$r.cpu" "$B/xl-relocate" -f "$T/src-$m.sxp" \
        migrate --offline --json g1 127.0.0.1 >"$T/xlr-$m-$r.log" 2>&1 || ok=0
    "$TOOL" quiesce 10 "$(cat "$T/src-$m-$r.pid")" || true
    "$TOOL" quiesce 10 "$(cat "$T/dst-$m-$r.pid")" || true
    stop "$spid"
    stop "$dpid"
    wire=$(sed -n 's/.*"event":"result".*"bytes":\([0-9]*\).*/\1/p' \
        "$T/xlr-$m-$r.log")
    record "relocd-$m" "$r" "$(wall_of "$T/xlr-$m-$r.cpu")" \
        "$(bytes_of "$log")" \
        "$(sum "$(cpu_of "$T/src-$m-$r.cpu")" "$(cpu_of "$T/xlr-$m-$r.cpu")")" \
        "$(cpu_of "$T/dst-$m-$r.cpu")" $ok "${wire:-0}" \
        "$([ $ok = 1 ] || sed -n \
            's/.*"ok":false.*"message":"\([^"]*\)".*/\1/p' "$T/xlr-$m-$r.log")"
}

# --- main -------------------------------------------------------------------

SSH_CIPHER=
[ $SSH_OK = 1 ] && setup_ssh
setup_relocd
"$TOOL" ktls "$T/psk" >"$T/ktls.txt" 2>&1 || true
KTLS=$(sed -n 's/^ktls=//p' "$T/ktls.txt")
KTLS_DETAIL="$(sed -n 's/^kernel=no: //p' "$T/ktls.txt")"
KTLS_DETAIL="${KTLS_DETAIL:+$KTLS_DETAIL; }tcp_available_ulp: $(sed -n \
    's/^tcp_available_ulp=//p' "$T/ktls.txt")"
TLS_SUITE=$(sed -n 's/.* cipher=//p' "$T/ktls.txt")
# The floor of issue 16: raw TCP plus the suite's AEAD at each end, at
# what `openssl speed` measures for one core here, now.
case $TLS_SUITE in
*CHACHA20*) AEAD=chacha20-poly1305 ;;
*AES_256_GCM*) AEAD=aes-256-gcm ;;
*) AEAD=aes-128-gcm ;;
esac
AEAD_BPS=$(openssl speed -mr -evp "$AEAD" -bytes 16384 -seconds 2 2>/dev/null |
    sed -n 's/^+F:[0-9]*:[^:]*:\([0-9.]*\)$/\1/p' | tail -n 1)
: >"$T/runs.tsv"
say "$MIB MiB per run, $RUNS runs of each transport, load average $LOAD"
for r in $(seq 1 "$RUNS"); do
    ! want raw || attempt run_raw "$r"
    if [ $SSH_OK = 1 ]; then
        ! want ssh || attempt run_ssh ssh "$r"
        ! want ssh-aes || attempt run_ssh ssh-aes "$r" -c aes128-gcm@openssh.com
    fi
    ! want relocd-tcp || attempt run_relocd tcp "$r"
    ! want relocd-tls || attempt run_relocd tls "$r"
done

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$HERE/results"
JSON=$HERE/results/transport-$STAMP.json
awk -F '\t' -f "$HERE/transport-report.awk" \
    -v json="$JSON" -v stamp="$STAMP" -v mib="$MIB" -v runs="$RUNS" \
    -v loadavg="$LOAD" -v ncpu="$(nproc)" -v kernel="$(uname -r)" \
    -v cpu="$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)" \
    -v openssl="$(openssl version | cut -d' ' -f1,2)" \
    -v openssh="$(ssh -V 2>&1 | cut -d, -f1)" \
    -v ssh_ok="$SSH_OK" -v ssh_why="$SSH_WHY" -v ssh_cipher="$SSH_CIPHER" \
    -v tls_suite="$TLS_SUITE" -v ktls="$KTLS" -v ktls_detail="$KTLS_DETAIL" \
    -v aead="$AEAD" -v aead_bps="${AEAD_BPS:-0}" \
    "$T/runs.tsv"
