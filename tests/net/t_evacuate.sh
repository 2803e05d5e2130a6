# xl-relocate evacuate with three hosts (relocd-fake and fake xl): src's
# guests go to dst and evl by free memory, biggest first, two at a time;
# one guest that fits nowhere is reported (each host's refusal) and left
# running, and the exit status says the host is not empty; --dry-run moves
# nothing; a move that fails is retried on the next host.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
mkdir -p "$T/state" "$T/bin" "$T/xl-src" "$T/xl-dst" "$T/xl-evl"
export RELOCD_FAKE_STATE="$T/state"
addhost "$NS_EVL" 10.77.0.1 src.relocd.test

PY=$(command -v /usr/bin/python3 || command -v python3)
# xl on src lists the guests named in $T/src-domains (relocd-fake's state
# decides which still run there), and an old NAME--migratedaway left over.
cat >"$T/bin/xl" <<XL
#!/bin/sh
RELOCD_FAKE_DOMAINS=\$(cat "$T/src-domains") FAKE_XL_DIR="$T/xl-src" \
    exec $PY "$NETDIR/fake_xl.py" xl "\$@"
XL
chmod +x "$T/bin/xl"
: >"$T/xl-src/old--migratedaway"
srcguests="g1 g2 g3 big r1 r2"
for g in $srcguests; do echo running >"$T/state/$g"; done
echo 120 >"$T/state/g1.mb"; echo 100 >"$T/state/g2.mb"
echo 60 >"$T/state/g3.mb"; echo 400 >"$T/state/big.mb"
echo 50 >"$T/state/r1.mb"; echo 40 >"$T/state/r2.mb"

receiver_conf="(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')"
# dst: 200 MiB free; evl: 160 MiB free, each with its own xl.
FAKE_XL_DIR="$T/xl-dst" FAKE_XL_LOG="$T/dst-received.log" \
    RELOCD_FAKE_FREE_MB=200 start_relocd "$receiver_conf
(relocd-control-socket $T/dst.sock)"
printf '%s\n(relocd-control-socket %s/evl.sock)\n' "$receiver_conf" "$T" \
    >"$T/evl.sxp"
FAKE_XL_DIR="$T/xl-evl" FAKE_XL_LOG="$T/evl-received.log" \
    RELOCD_FAKE_FREE_MB=160 nsx "$NS_EVL" "$BUILD/relocd-fake" -d \
    -f "$T/evl.sxp" >"$T/evl.log" 2>&1 &
EVL_PID=$!
i=0
until nsx "$NS_EVL" sh -c "ss -ltn | grep -q ':8002 '"; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "evl relocd did not listen"
done
start_src_relocd "$srcguests" \
    "(relocd-evacuate-hosts '10.77.0.2, 10.77.0.3')"
trap 'kill $SRC_PID $EVL_PID 2>/dev/null; cleanup' EXIT
evac() { PATH="$T/bin:$PATH" xlr evacuate "$@"; }
landed() { grep -q "received $1 " "$T/$2-received.log" 2>/dev/null; }

# --dry-run: the plan, biggest first, by free memory left: g1 (120) to
# dst (200 free), g2 (100) to evl (160 > 80), g3 (60) to dst (80 >= 60).
echo "g1 g2 g3" >"$T/src-domains"
expect_ok evac --dry-run
grep -Eq '^  g1 +120 MiB -> 10\.77\.0\.2$' "$T/out" || die "g1's place: $(cat "$T/out")"
grep -Eq '^  g2 +100 MiB -> 10\.77\.0\.3$' "$T/out" || die "g2's place"
grep -Eq '^  g3 +60 MiB -> 10\.77\.0\.2$' "$T/out" || die "g3's place"
grep -q "old--migratedaway\|Domain-0" "$T/out" && die "planned a non-guest"
[ "$(state g1)" = running ] && ! landed g1 dst || die "a dry run moved g1"

# A guest that fits nowhere: each host's refusal; the dry run fails.
echo "g1 g2 g3 big" >"$T/src-domains"
expect_fail "big +400 MiB -> nowhere" evac --dry-run --to 10.77.0.2,10.77.0.3
grep -q "10.77.0.2: pre-flight memory: needs 400 MiB, 200 MiB free in Xen" \
    "$T/out" || die "no refusal of dst: $(cat "$T/out")"
grep -q "10.77.0.3: pre-flight memory: needs 400 MiB, 160 MiB free in Xen" \
    "$T/out" || die "no refusal of evl"

# The real thing, two at a time: slow rounds keep both moves in flight.
for g in g1 g2; do echo 1500 >"$T/state/$g.round_ms"; done
expect_fail "still here: big" evac --parallel 2
cp "$T/out" "$T/evac1.out"
sed -n '/^moving/,$p' "$T/out" | head -n 2 | grep -c '^moving' | grep -q 2 ||
    die "not two moves at once: $(cat "$T/out")"
landed g1 dst && landed g3 dst && landed g2 evl ||
    die "guests not where planned: $(cat "$T/out")"
for g in g1 g2 g3; do [ "$(state $g)" = destroyed ] || die "$g left on src"; done
[ "$(state big)" = running ] || die "big is '$(state big)', not running here"
grep -Eq '^g1 +10\.77\.0\.2 +migrated +[0-9.]+ s' "$T/out" || die "table: g1"
grep -Eq '^big +- +NOT MOVED ' "$T/out" || die "table: big"

# A move that fails on its planned host is tried on the next one: r1 (50)
# goes to dst first (more room), whose xl fails to create it.  Then the
# host is empty and the exit status 0.
echo ready >"$T/xl-dst/r1.fail"
echo destroyed >"$T/state/big"
echo "r1 r2" >"$T/src-domains"
expect_ok evac
grep -q "r1: 10.77.0.2 failed (.*); trying 10.77.0.3" "$T/out" ||
    die "no retry of r1: $(cat "$T/out")"
landed r1 evl && ! landed r1 dst || die "r1 not on evl"
grep -Eq '^r1 +10\.77\.0\.3 +migrated' "$T/out" || die "table: r1"
alive
