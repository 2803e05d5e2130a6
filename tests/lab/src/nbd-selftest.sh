#!/bin/sh
# nbd-selftest.sh - the lab's NBD tools on the build machine, no kernel
# NBD needed: nbdserve serves a file, nbdlink's user-space modes (info,
# read, write, trim) talk to it with NBD_OPT_GO and with
# NBD_OPT_EXPORT_NAME (-E), and a raw client (python3) checks what
# nbdlink cannot send: an unknown option (NBD_REP_ERR_UNSUP), NBD_OPT_ABORT,
# a bad request.  `sh tests/lab/src/nbd-selftest.sh`: "nbd-selftest: ok",
# exit 0.  (The kernel side, nbdlink connect, runs in the lab:
# scenario storage-shared.)
set -u
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
pids=
cleanup() {
    for p in $pids; do kill "$p" 2> /dev/null; done
    rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
    echo "nbd-selftest: FAIL: $*" >&2
    exit 1
}
for s in nbdserve nbdlink; do
    gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$t/$s" "$here/$s.c" ||
        fail "cannot build $s"
done
S=$t/nbdserve
# nbdlink, bounded: a server that answers wrong may leave it waiting
nbdl() { timeout 30 "$t/nbdlink" "$@"; }
port=$((20000 + $$ % 20000))
head -c 1048576 /dev/urandom > "$t/disk"
cp "$t/disk" "$t/orig"
# serve [ARGS]: nbdserve -d on the next port ($port)
serve() {
    local pid
    port=$((port + 1))
    pid=$("$S" -d -a 127.0.0.1 -p "$port" "$@" 2> "$t/serve.log") ||
        fail "nbdserve $*: $(cat "$t/serve.log")"
    pids="$pids $pid"
}

serve "$t/disk"
# 1. the handshake, both ways: size and flags (HAS_FLAGS SEND_FLUSH
#    SEND_FUA SEND_TRIM CAN_MULTI_CONN = 0x12d)
for e in "" -E; do
    # shellcheck disable=SC2086 # $e: an option or nothing
    got=$(nbdl info $e 127.0.0.1 "$port" any) || fail "info $e"
    [ "$got" = "size=1048576 flags=0x12d" ] || fail "info $e: $got"
    # shellcheck disable=SC2086
    nbdl read $e 127.0.0.1 "$port" x > "$t/read" || fail "read $e"
    cmp -s "$t/read" "$t/orig" || fail "read $e: not the file"
done
# 2. a write across chunk and block boundaries, with and without FUA
head -c 300000 /dev/urandom > "$t/data"
nbdl write -F 127.0.0.1 "$port" x 4095 < "$t/data" || fail "write -F"
nbdl write -E 127.0.0.1 "$port" x 700001 < "$t/data" || fail "write -E"
dd if="$t/data" of="$t/orig" bs=1 seek=4095 conv=notrunc 2> /dev/null
dd if="$t/data" of="$t/orig" bs=1 seek=700001 conv=notrunc 2> /dev/null
cmp -s "$t/disk" "$t/orig" || fail "the writes did not land where they should"
nbdl read 127.0.0.1 "$port" x 4000 300200 > "$t/part" || fail "read part"
dd if="$t/orig" bs=1 skip=4000 count=300200 2> /dev/null | cmp -s - "$t/part" ||
    fail "read at an offset"
# 3. several clients at once, each reading the whole export
for i in 1 2 3 4; do
    nbdl read 127.0.0.1 "$port" x > "$t/par$i" &
done
wait
for i in 1 2 3 4; do
    cmp -s "$t/par$i" "$t/orig" || fail "parallel read $i"
done
# 4. trim: where the file system punches, zeroes
nbdl trim 127.0.0.1 "$port" x 131072 65536 || fail "trim"
nbdl read 127.0.0.1 "$port" x 131072 65536 > "$t/trim" || fail "read trim"
head -c 65536 /dev/zero > "$t/zero"
if ! cmp -s "$t/trim" "$t/zero"; then
    dd if="$t/orig" bs=65536 skip=2 count=1 2> /dev/null | cmp -s - "$t/trim" ||
        fail "trim left neither zeroes nor the data"
    echo "nbd-selftest: trim kept the data (no hole here)"
fi
dd if="$t/trim" of="$t/orig" bs=65536 seek=2 conv=notrunc 2> /dev/null
# 5. out of range: an error, the server goes on
nbdl read 127.0.0.1 "$port" x 1048000 4096 > /dev/null 2>&1 &&
    fail "a read past the end succeeded"
printf 'x' | nbdl write 127.0.0.1 "$port" x 1048576 2> /dev/null &&
    fail "a write past the end succeeded"
nbdl info 127.0.0.1 "$port" x > /dev/null || fail "server gone after errors"
# 6. a named export: other names refused both ways
serve -e disk0 "$t/disk"
nbdl info 127.0.0.1 "$port" disk0 > /dev/null || fail "named export"
nbdl info 127.0.0.1 "$port" other 2> "$t/err" && fail "GO for another name"
grep -q 'reply 0x80000006' "$t/err" || fail "GO: $(cat "$t/err")"
nbdl info -E 127.0.0.1 "$port" other 2> /dev/null && fail "-E for another name"
# 7. read-only: writes refused, reads served
serve -r "$t/disk"
got=$(nbdl info 127.0.0.1 "$port" x) || fail "info -r"
[ "$got" = "size=1048576 flags=0x12f" ] || fail "info -r: $got"
printf 'x' | nbdl write 127.0.0.1 "$port" x 0 2> /dev/null &&
    fail "a write to a read-only export succeeded"
cmp -s "$t/disk" "$t/orig" || fail "the read-only export changed"
# 8. what nbdlink does not send, from a raw client
if command -v python3 > /dev/null; then
    serve "$t/disk"
    python3 - "$port" << 'EOF' || fail "raw client"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("server hung up")
        b += c
    return b
magic, opt, hf = struct.unpack(">QQH", rd(18))
assert magic == 0x4E42444D41474943 and opt == 0x49484156454F5054 and hf == 3
s.sendall(struct.pack(">I", 1))
def option(o, data=b""):
    s.sendall(struct.pack(">QII", 0x49484156454F5054, o, len(data)) + data)
    m, ro, t, n = struct.unpack(">QIII", rd(20))
    assert m == 0x3E889045565A9 and ro == o, (hex(m), ro)
    return t, rd(n)
t, _ = option(99, b"junk")
assert t == 0x80000001, hex(t)                   # NBD_REP_ERR_UNSUP
def info(o, data):  # NBD_OPT_INFO or _GO: the NBD_REP_INFOs, the final reply
    t, d = option(o, data)
    infos = {}
    while t == 3:
        infos[struct.unpack(">H", d[:2])[0]] = d
        m, ro, t, n = struct.unpack(">QIII", rd(20))
        d = rd(n)
    return t, infos
req = struct.pack(">I", 1) + b"x" + struct.pack(">HH", 1, 3)
t, infos = info(6, req)
assert t == 1 and 0 in infos and 3 in infos, (t, infos.keys())
assert struct.unpack(">QH", infos[0][2:]) == (1048576, 0x12d)
t, _ = option(6, struct.pack(">I", 200) + b"x")  # a name longer than the data
assert t == 0x80000003, hex(t)                   # NBD_REP_ERR_INVALID
t, infos = info(7, req)
assert t == 1 and 0 in infos and 3 in infos, (t, infos.keys())
# transmission: an unknown command and an unknown flag are EINVAL
s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 9, 7, 0, 0))
m, err, h = struct.unpack(">IIQ", rd(16))
assert m == 0x67446698 and err == 22 and h == 7, (hex(m), err, h)
s.sendall(struct.pack(">IHHQQI", 0x25609513, 4, 1, 8, 0, 2) + b"zz")
m, err, h = struct.unpack(">IIQ", rd(16))
assert err == 22 and h == 8, (err, h)
s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 3, 9, 0, 0))   # FLUSH
m, err, h = struct.unpack(">IIQ", rd(16))
assert err == 0 and h == 9
s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 2, 10, 0, 0))  # DISC
assert s.recv(1) == b""
# a second session ends with NBD_OPT_ABORT, acknowledged
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
rd(18)
s.sendall(struct.pack(">I", 3))
t, _ = option(2)
assert t == 1
assert s.recv(1) == b""
EOF
    cmp -s "$t/disk" "$t/orig" || fail "the raw client changed the export"
else
    echo "nbd-selftest: no python3: raw protocol checks skipped"
fi
echo "nbd-selftest: ok"
