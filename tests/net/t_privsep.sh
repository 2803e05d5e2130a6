# Privilege separation (README.xen 10): the process that reads the peer's
# bytes -- TLS handshake, frames, JSON -- is not root: it runs as
# relocd-privsep-user in an empty chroot with no new privileges and a
# seccomp filter, while its root monitor keeps the Xen work.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "openssl not installed"
net_up

field() { sed -n "s/^$2:[[:space:]]*\([^[:space:]]*\).*/\1/p" "/proc/$1/status"; }

# sandboxed WHAT: the session's processes while a peer holds it open.
sandboxed() {
    i=0
    monitor=
    slave=
    while [ -z "$slave" ]; do
        sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "$1: no session processes"
        monitor=$(pgrep -P "$RELOCD_PID" | head -n 1)
        [ -n "$monitor" ] && slave=$(pgrep -P "$monitor" | head -n 1)
    done
    # The filter is the sandbox's last step (sandbox.h): a slave just
    # forked on a loaded machine may not have got there yet.
    i=0
    while [ "$(field "$slave" Seccomp)" != 2 ]; do
        sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && break
    done
    echo "$1: monitor $monitor uid $(field "$monitor" Uid);" \
        "slave $slave uid $(field "$slave" Uid)" \
        "NoNewPrivs $(field "$slave" NoNewPrivs)" \
        "Seccomp $(field "$slave" Seccomp) root $(readlink "/proc/$slave/root")"
    [ "$(field "$monitor" Uid)" = 0 ] || die "$1: the monitor is not root"
    [ "$(field "$slave" Uid)" = "$(id -u nobody)" ] ||
        die "$1: the slave is not nobody"
    [ "$(field "$slave" NoNewPrivs)" = 1 ] ||
        die "$1: the slave may gain privileges"
    [ "$(field "$slave" Seccomp)" = 2 ] || die "$1: the slave has no seccomp"
    [ "$(readlink "/proc/$slave/root")" = "$T/empty" ] ||
        die "$1: the slave is not chrooted to $T/empty"
    [ -z "$(ls -A "$T/empty")" ] || die "$1: $T/empty is not empty"
    # The slave holds the peer's socket: it is the one that reads it.
    held=
    for f in /proc/"$slave"/fd/*; do
        case $(readlink "$f") in socket:*) held=1 ;; esac
    done
    [ -n "$held" ] || die "$1: the slave holds no socket"
}

# The plain port: a peer that says HELLO, then holds the connection.
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-handshake-timeout 8)"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"
nsx "$NS_SRC" python3 -c 'import json, socket, struct, time
s = socket.create_connection(("10.77.0.2", 8002))
b = json.dumps({"proto": "relocd", "version": 1, "min_version": 1,
                "software": "holder", "host": "holder"}).encode()
s.sendall(struct.pack(">IHH", len(b), 1, 0) + b)
s.recv(4096)
time.sleep(6)' &
holder=$!
i=0
until grep -q "HELLO from holder" "$T/relocd.log"; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "no HELLO from the holder"
done
sandboxed "after HELLO"
wait "$holder"
# And with all of that, a guest still moves.
expect_ok migrate "$NS_SRC" --name sandboxed
received sandboxed || die "sandboxed not received"
alive
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# The TLS port: the handshake itself runs in the sandbox.
openssl rand -hex 32 >"$T/psk"
chmod 600 "$T/psk"
start_relocd "(xend-relocation-ssl-server yes)
(relocd-handshake-timeout 8)
(relocd-psk-file $T/psk)" 8003
# the first byte of a ClientHello: the TLS port hands over only a
# connection that has spoken (TCP_DEFER_ACCEPT)
nsx "$NS_SRC" python3 -c 'import socket, time
s = socket.create_connection(("10.77.0.2", 8003))
s.send(b"\x16")
time.sleep(4)' &
holder=$!
sandboxed "in the TLS handshake"
wait "$holder"
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk)\n' "$T" >"$T/client.sxp"
expect_ok migrate "$NS_SRC" --name overtls --mib 8
received overtls || die "overtls not received"
alive
grep "the stream" "$T/relocd.log" | tail -n 1
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# The slave's log lines go through the monitor, which asks the parent's
# per-source limit only for failures before admission: a guest received
# must not use up the address's refusal line.
: >"$T/relocd.log"
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)" 8003
expect_ok migrate "$NS_SRC" --name logged --mib 1
openssl rand -hex 32 >"$T/psk2"
chmod 600 "$T/psk2"
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk2)\n' "$T" >"$T/client.sxp"
expect_fail "TLS|handshake|alert|decrypt" migrate "$NS_SRC" --name wrongkey
i=0
until grep -q "TLS handshake failed" "$T/relocd.log"; do
    sleep 0.1; i=$((i + 1))
    [ $i -gt 50 ] && die "a refusal after a received guest was not logged"
done
grep -q "authenticated as" "$T/relocd.log" || die "no peer identity logged"
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# The allow-list's reverse DNS lookup parses answers anyone on the path
# may forge: it runs as nobody too.  dst's resolver never answers, so the
# lookup for 10.77.0.4 (no hosts entry) lasts until the deadline.
ip -n "$NS_EVL" addr add 10.77.0.4/24 dev eth0
ip -n "$NS_EVL" addr add 10.77.0.53/24 dev eth0
printf 'nameserver 10.77.0.53\n' >"/etc/netns/$NS_DST/resolv.conf"
nsx "$NS_EVL" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.53", 53))
time.sleep(30)' &
# Until it is bound, the lookup's query meets a port unreachable and
# fails at once: no lookup process left to look at.
i=0
until nsx "$NS_EVL" ss -lun | grep -q "10.77.0.53:53 "; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "no silent resolver"
done
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^src\\\\.relocd\\\\.test\$')
(relocd-handshake-timeout 8)"
nsx "$NS_EVL" python3 -c 'import socket
s = socket.socket(); s.bind(("10.77.0.4", 0)); s.settimeout(10)
s.connect(("10.77.0.2", 8002)); s.recv(4096)' &
holder=$!
i=0
lookup=
while [ -z "$lookup" ]; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 60 ] && die "no lookup process"
    monitor=$(pgrep -P "$RELOCD_PID" | head -n 1)
    [ -n "$monitor" ] && lookup=$(pgrep -P "$monitor" | head -n 1)
done
# It drops root first thing: give a loaded machine time to get there.
i=0
while [ "$(field "$lookup" Uid)" = 0 ]; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && break
done
echo "DNS lookup: $lookup uid $(field "$lookup" Uid)" \
    "NoNewPrivs $(field "$lookup" NoNewPrivs)"
[ "$(field "$lookup" Uid)" = "$(id -u nobody)" ] || die "the lookup is root"
[ "$(field "$lookup" NoNewPrivs)" = 1 ] || die "the lookup may gain privileges"
wait "$holder"
grep -q "Rejected connection from 10.77.0.4 (10.77.0.4)" "$T/relocd.log" ||
    die "10.77.0.4 was not rejected"
echo "ok"
