# Slow and silent peers time out and never block others; the pending and
# the concurrent-migration limits hold with typed 'busy' errors.  The
# source is allowed by name, so the global pending limit applies to it
# (an address the list admits by itself only meets the per-host cap).
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^src\\\\.relocd\\\\.test\$')
(relocd-handshake-timeout 3)
(relocd-max-pending 3)
(relocd-max-migrations 1)"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"
raw() { nsx "$NS_SRC" "$NETDIR/rawpeer.py" 10.77.0.2 8002 "$1"; }

# A slow-loris client is cut off by the handshake timeout (timed by the
# client from its connect: process start-up under load is not the daemon's).
out=$(raw slowloris)
echo "$out" | grep -q "ERROR timeout" || die "slowloris: got '$out'"
dt=$(echo "$out" | sed -n 's/^after \([0-9.]*\) s$/\1/p')
[ "$(echo "$dt <= 6" | bc)" = 1 ] || die "slowloris took $dt s"

# Three silent peers fill relocd-max-pending; a fourth is refused busy;
# once they time out, a migration goes through.
pids=
for i in 1 2 3; do
    raw silent >"$T/silent$i" &
    pids="$pids $!"
done
sleep 1
out=$(raw silent)
echo "$out" | grep -q "ERROR busy" || die "4th pending peer: got '$out'"
# shellcheck disable=SC2086 # pids: a list of PIDs, split
wait $pids
grep -q "ERROR timeout" "$T/silent1" || die "silent peer: $(cat "$T/silent1")"
expect_ok migrate "$NS_SRC" --name after-silent

# One slow migration holds the only slot; a second is refused busy.
migrate "$NS_SRC" --name slow --mib 6 --slow 0.5 >"$T/slow.out" 2>&1 &
slow=$!
sleep 1.5
expect_fail "refused \(busy\): 1 migrations are already running" \
    migrate "$NS_SRC" --name second
wait $slow || { cat "$T/slow.out"; die "the slow migration failed"; }
received slow || die "slow not received"
alive
