# A sender worker killed while its guest is suspended (issue 13 item 3):
# the guest must still run on exactly one host.  Before "go" the source
# holds the only copy that may run (xl migrate-receive never unpauses its
# copy without "go"), so relocd resumes it, whether the worker died under
# a living relocd or relocd died too and was restarted; after "go" it
# stays suspended, as xl's failed_badly leaves it, and the log and the
# client name the commands that settle it.  The target's receivers hang
# (fake_xl.py hold, holdgo) and keep their slots: it takes 8.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
mkdir -p "$T/state"
export RELOCD_FAKE_STATE="$T/state"
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-max-migrations 8)
(relocd-control-socket $T/dst/relocd.sock)"
start_src_relocd "w1 w2 w3"

# wait_for WHAT CMD...: CMD succeeds within 10 s
wait_for() {
    what=$1; shift; i=0
    until "$@" 2>/dev/null; do
        sleep 0.1; i=$((i + 1)); [ $i -gt 100 ] && die "never: $what"
    done
}
is_state() { [ "$(state "$1")" = "$2" ]; }
# $SRC_PID is the shell that runs ip netns exec relocd-fake; the source
# relocd's only child is the sender worker
srcd() { pgrep -P "$SRC_PID"; }
worker() { pgrep -P "$(srcd)"; }

# 1. Killed while the target holds "ready" back: resumed here at once.
echo hold >"$FAKE_XL_DIR/w1.fail"
xlr migrate w1 10.77.0.2 >"$T/w1.out" 2>&1 &
mig=$!
wait_for "w1 suspended" is_state w1 suspended
kill -9 "$(worker)"
wait $mig && die "migration with a killed worker reported success"
wait_for "w1 resumed on the source (is '$(state w1)')" is_state w1 running
grep -q "sending w1 to 10.77.0.2: the sender worker died of signal 9 before the hand-over to 10.77.0.2; w1 was resumed here" \
    "$T/src.log" || die "the source's log does not say w1 was resumed"
grep -q "migration of w1 to 10.77.0.2 failed: the sender worker died of signal 9 before the hand-over to 10.77.0.2; w1 was resumed here" \
    "$T/w1.out" || die "the client was not told: $(cat "$T/w1.out")"
[ -e "$FAKE_XL_DIR/w1" ] && die "w1 runs on the target too"
[ -z "$(ls "$T/outgoing")" ] || die "markers left: $(ls "$T/outgoing")"

# 2. Killed after "go": the target may run it; the source keeps its copy
# suspended and prints what xl's failed_badly asks the admin to do.
echo holdgo >"$FAKE_XL_DIR/w2.fail"
xlr migrate w2 10.77.0.2 >"$T/w2.out" 2>&1 &
mig=$!
wait_for "w2 started on the target" test -e "$FAKE_XL_DIR/w2"
kill -9 "$(worker)"
wait $mig && die "migration with a killed worker reported success"
sleep 1
is_state w2 renamed:w2--migratedaway ||
    die "w2 is '$(state w2)' on the source: two copies may run"
grep -q "during the final handshake with 10.77.0.2: w2 may run there now, and stays suspended here as w2--migratedaway (domain [0-9]*). Check both hosts before resuming at most one copy: if \`xl list w2\` on 10.77.0.2 shows it, run \`xl destroy [0-9]*\` here; if not, run \`relocd --resume [0-9]* w2\` here" \
    "$T/src.log" || die "the source's log does not give the commands for w2"
grep -q "migration of w2 to 10.77.0.2 failed: the sender worker died of signal 9 during the final handshake" \
    "$T/w2.out" || die "the client was not told: $(cat "$T/w2.out")"
# Say the admin found it does not run there: the printed command brings it
# back here, once; a running guest is never resumed twice.
rm "$FAKE_XL_DIR/w2"
id=$(sed -n 's/.*if not, run .relocd --resume \([0-9]*\) w2. here.*/\1/p' "$T/src.log")
cmd="relocd --resume $id w2"
"$BUILD/relocd-fake" --resume "$id" w2 >"$T/resume.out" 2>&1 ||
    die "$cmd failed: $(cat "$T/resume.out")"
is_state w2 running || die "w2 is '$(state w2)' after $cmd"
grep -q "domain $id resumed here as w2" "$T/resume.out" ||
    die "$cmd said: $(cat "$T/resume.out")"
"$BUILD/relocd-fake" --resume "$id" w2 >"$T/resume.out" 2>&1 &&
    die "a second $cmd succeeded"
grep -q "is not suspended; left as it is" "$T/resume.out" ||
    die "a second $cmd said: $(cat "$T/resume.out")"

# 3. relocd and its worker both killed while w3 is suspended: the next
# relocd finds the marker and resumes w3.
echo hold >"$FAKE_XL_DIR/w3.fail"
xlr migrate w3 10.77.0.2 >"$T/w3.out" 2>&1 &
mig=$!
wait_for "w3 suspended" is_state w3 suspended
w=$(worker)
kill -9 "$(srcd)"
kill -9 "$w"
wait $mig
grep -q "lost relocd (.*) while it moved w3 to 10.77.0.2: .*check with xl list w3" \
    "$T/w3.out" || die "xl-relocate, relocd gone: $(cat "$T/w3.out")"
# gone, or a zombie nobody reaps (PID 1 of a container may not)
gone() { ! kill -0 "$1" || grep -q ') Z' "/proc/$1/stat"; }
wait_for "the worker of w3 dead" gone "$w"
[ -e "$T/outgoing/$w" ] || die "no marker of the move of w3 in $T/outgoing"
is_state w3 suspended || die "w3 is '$(state w3)' before the restart"
start_src_relocd "w1 w2 w3"
wait_for "w3 resumed after the restart (is '$(state w3)')" is_state w3 running
grep -q "sending w3 to 10.77.0.2: relocd died before the hand-over to 10.77.0.2; w3 was resumed here" \
    "$T/src.log" || die "the restarted relocd does not say w3 was resumed"
[ -e "$T/outgoing/$w" ] && die "the marker of w3 survived the recovery"
kill -0 "$(srcd)" || die "the restarted source relocd died"
alive
