# Privilege separation (README.xen 10): the process that reads the peer's
# bytes -- TLS handshake, frames, JSON -- is not root: it runs as
# relocd-privsep-user in an empty chroot with no new privileges and a
# seccomp filter, while its root monitor keeps the Xen work.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-handshake-timeout 8)"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"

field() { sed -n "s/^$2:[[:space:]]*\([^[:space:]]*\).*/\1/p" "/proc/$1/status"; }

# A peer that says HELLO and then holds the connection open.
nsx "$NS_SRC" python3 -c 'import json, socket, struct, time
s = socket.create_connection(("10.77.0.2", 8002))
b = json.dumps({"proto": "relocd", "version": 1, "min_version": 1,
                "software": "holder", "host": "holder"}).encode()
s.sendall(struct.pack(">IHH", len(b), 1, 0) + b)
s.recv(4096)
time.sleep(6)' &
HOLDER=$!
i=0
monitor=
slave=
while [ -z "$slave" ]; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "no session processes"
    grep -q "HELLO from holder" "$T/relocd.log" 2>/dev/null || continue
    monitor=$(pgrep -P "$RELOCD_PID" | head -n 1)
    [ -n "$monitor" ] && slave=$(pgrep -P "$monitor" | head -n 1)
done
echo "monitor $monitor: uid $(field "$monitor" Uid)"
echo "slave $slave: uid $(field "$slave" Uid) nnp $(field "$slave" NoNewPrivs)" \
    "seccomp $(field "$slave" Seccomp) root $(readlink "/proc/$slave/root")"
[ "$(field "$monitor" Uid)" = 0 ] || die "the monitor is not root"
[ "$(field "$slave" Uid)" = "$(id -u nobody)" ] || die "the slave is not nobody"
[ "$(field "$slave" NoNewPrivs)" = 1 ] || die "the slave may gain privileges"
[ "$(field "$slave" Seccomp)" = 2 ] || die "the slave has no seccomp filter"
[ "$(readlink "/proc/$slave/root")" = "$T/empty" ] ||
    die "the slave is not chrooted to $T/empty"
[ -z "$(ls -A "$T/empty")" ] || die "$T/empty is not empty"
# The slave holds the peer's socket: it is the one that reads it.
held=
for f in /proc/"$slave"/fd/*; do
    case $(readlink "$f") in socket:*) held=1 ;; esac
done
[ -n "$held" ] || die "the slave holds no socket"
wait "$HOLDER"

# And with all of that, a guest still moves.
expect_ok migrate "$NS_SRC" --name sandboxed
received sandboxed || die "sandboxed not received"
alive
echo "ok"
