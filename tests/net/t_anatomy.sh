# The downtime's anatomy (issue 16 section 1): a migration's result, its
# JSON and the summary say where the downtime went, on both hosts.  The
# simulated guest takes 80 ms to suspend; fake xl takes 150 ms to restore
# and 40 ms to start, and prints xl 4.17's messages, which the target's
# relocd stamps and sends back in an ANATOMY frame.  Over plain TCP (xl
# writes to the socket itself) and over TLS (relays on both sides).
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
mkdir -p "$T/state"
export RELOCD_FAKE_STATE="$T/state"
export FAKE_XL_RESTORE_MS=150 FAKE_XL_START_MS=40
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-control-socket $T/dst.sock)"
openssl rand -hex 32 >"$T/psk" && chmod 600 "$T/psk"
start_src_relocd "an1 an2 an3 an4" "(relocd-psk-file $T/psk)"
for g in an1 an2 an3 an4; do echo 80 >"$T/state/$g.suspend_ms"; done

# check_anatomy FILE: the result's anatomy is complete and in order.
check_anatomy() {
    python3 - "$1" <<'EOF' || die "bad anatomy: $(cat "$1")"
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if '"event":"result"' in l]
assert res and res[-1]["ok"], "no successful result"
a = res[-1]["anatomy"]
t = a["target"]
phases = ["suspend_ms", "final_copy_ms", "end_ms", "restore_ms",
          "rename_ms", "go_ms", "start_ms"]
for k in phases:
    assert a[k] >= 0, k
assert a["suspend_ms"] >= 80, "suspend %r" % a["suspend_ms"]
# What the sender saw of a target step holds what the target measured,
# but the target stamps xl's lines when it reads them, which a loaded
# host delays: a late stamp may lengthen or shorten a target step by the
# delay, so only the fake's own pauses are sure.
# The target's own restore is unknown when it read xl's "Transfer
# complete" only after it had fed "go" (wire/anatomy.c): a loaded host.
assert a["restore_ms"] >= 150, (a, t)
assert "restore_ms" not in t or t["restore_ms"] >= 150, (a, t)
assert a["start_ms"] >= 40 and t["start_ms"] > 0, (a, t)
assert t["go_wait_ms"] > 0, t
assert abs(a["total_ms"] - sum(a[k] for k in phases)) < 0.01, a
# The guest's downtime (from suspended) is the total less the suspend.
down = res[-1]["downtime_ms"]
assert abs(down - (a["total_ms"] - a["suspend_ms"])) < 5, (down, a)
EOF
}

expect_ok xlr migrate --json an1 10.77.0.2
received an1 || die "an1 not received"
check_anatomy "$T/out"
# The first move to a target teaches its downtime floor (README.xen 5.2).
grep -q "no downtime floor known for 10.77.0.2 yet" "$T/out" ||
    die "no word of the unknown floor: $(cat "$T/out")"
floor_file=$T/floor/10.77.0.2
read -r floor moves <"$floor_file" || die "no floor learned"
# suspend 80 + restore 150 + start 40 at least, the final copy left out
awk -v f="$floor" 'BEGIN { exit !(f >= 270 && f < 5000) }' ||
    die "floor $floor ms"
[ "$moves" = 1 ] || die "floor learned from $moves moves"

# People get one line more under the summary; the floor counts now.
expect_ok xlr migrate --max-downtime 5000 an2 10.77.0.2
received an2 || die "an2 not received"
grep -Eq "^downtime: floor to 10\.77\.0\.2: [0-9]+ ms \(learned from 1 move\); the final copy gets [0-9]+ ms of --max-downtime 5000 ms$" \
    "$T/out" || die "no floor line: $(cat "$T/out")"
read -r _ moves <"$floor_file"
[ "$moves" = 2 ] || die "the second move did not teach the floor"
grep -Eq "^downtime anatomy: suspend [0-9]+ ms, final copy .*, restore [0-9]+ ms( \(target [0-9]+ ms.*\))?, rename .*, start [0-9]+ ms \(target [0-9.]+ ms.*; total [0-9]+ ms$" \
    "$T/out" || die "no anatomy line: $(cat "$T/out")"
grep -q "downtime of an2 here: restore [0-9]* us" "$T/relocd.log" ||
    die "the target did not log its side"

# Over TLS: relays on both hosts carry the ANATOMY frame too.
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)
(relocd-control-socket $T/dst.sock)" 8003
expect_ok xlr migrate --ssl --json --max-downtime 100 an3 10.77.0.2
received an3 || die "an3 not received over TLS"
check_anatomy "$T/out"
# A floor beyond --max-downtime: said, and in the result
grep -q "the downtime floor to 10.77.0.2 is [0-9]* ms .* the guest will be down longer than --max-downtime 100 ms" \
    "$T/out" || die "no floor warning: $(cat "$T/out")"
grep -q '"event":"result".*"floor_ms":' "$T/out" || die "no floor_ms in the result"

# -s: no relocd on the target, so nothing to ask for and nothing to wait
# for: the result follows the report at once, even when the receiving
# command holds the stream open (here for 8 s after xl's report).
stamp() { while IFS= read -r l; do echo "$(date +%s.%N) $l"; done; }
xlr migrate --json -s "" an4 "$NETDIR/fake_xl.py receive; sleep 8" 2>&1 |
    stamp >"$T/via.out"
received an4 || die "an4 not received by a bare receiver"
# -s: the receiver's command names the floor, made a safe file name
set -- "$T"/floor/_*_fake_xl.py_receive__sleep_8
[ -f "$1" ] || die "no floor for the -s receiver: $(ls "$T/floor")"
python3 - "$T/via.out" <<'EOF2' || die "result late: $(cat "$T/via.out")"
import json, sys
t = {}
for line in open(sys.argv[1]):
    at, _, text = line.partition(" ")
    if text.startswith("{"):
        t[json.loads(text)["event"]] = float(at)
res = [json.loads(l.partition(" ")[2]) for l in open(sys.argv[1])
       if '"event":"result"' in l][-1]
assert res["ok"] and "target" not in res["anatomy"], res
assert t["result"] - t["suspended"] < 3, t
EOF2
alive
