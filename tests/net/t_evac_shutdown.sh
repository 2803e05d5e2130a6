# xl-relocate evacuate --on-shutdown (what relocd-evacuate.service runs
# before xendomains stops) and --time-limit: with relocd-evacuate-on-shutdown
# 0 (the default) nothing moves and the exit status is 0; set, it is the
# time limit: relocd cancels the move still running when it runs out (the
# guest stays here), no further move starts, the table says so for each
# guest and the exit status is 1.  relocd -n finds the key without hosts.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
mkdir -p "$T/state" "$T/bin" "$T/xl-src"
export RELOCD_FAKE_STATE="$T/state"
PY=$(command -v /usr/bin/python3 || command -v python3)
cat >"$T/bin/xl" <<XL
#!/bin/sh
RELOCD_FAKE_DOMAINS="s1 s2 s3" FAKE_XL_DIR="$T/xl-src" \
    exec $PY "$NETDIR/fake_xl.py" xl "\$@"
XL
chmod +x "$T/bin/xl"
for g in s1 s2 s3; do echo running >"$T/state/$g"; done
echo 60 >"$T/state/s1.mb"; echo 50 >"$T/state/s2.mb"; echo 40 >"$T/state/s3.mb"

FAKE_XL_LOG="$T/dst-received.log" RELOCD_FAKE_FREE_MB=400 start_relocd \
    "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-control-socket $T/dst.sock)"
start_src_relocd "s1 s2 s3" "(relocd-evacuate-hosts 10.77.0.2)"
evac() { PATH="$T/bin:$PATH" xlr evacuate "$@"; }

# Off by default: nothing moves, and that is no failure.
expect_ok evac --on-shutdown
grep -q "relocd-evacuate-on-shutdown is 0: no evacuation" "$T/out" ||
    die "no word of it: $(cat "$T/out")"
grep -q "^moving" "$T/out" && die "moved with the key off"
for g in s1 s2 s3; do [ "$(state $g)" = running ] || die "$g moved"; done

# On, 6 s: s1 (biggest) goes, s2's move never converges and relocd
# cancels it when the time is up, s3's turn never comes.
cp "$T/src.sxp" "$T/src-off.sxp"
printf '(relocd-evacuate-on-shutdown 6)\n' >>"$T/src.sxp"
echo 1000 >"$T/state/s2.round_ms"; echo 20000 >"$T/state/s2.pps"
t0=$(date +%s)
expect_fail "time limit of 6 s reached: no further move starts" \
    evac --on-shutdown --max-downtime 1
t=$(($(date +%s) - t0))
grep -q "evacuation at shutdown, for at most 6 s (relocd-evacuate-on-shutdown 6)" \
    "$T/out" || die "no limit announced: $(cat "$T/out")"
[ "$t" -le 12 ] || die "took $t s with a 6 s limit"
grep -Eq '^s1 +10\.77\.0\.2 +migrated' "$T/out" || die "table: s1"
grep -Eq '^s2 +10\.77\.0\.2 +FAILED .*cancelled' "$T/out" || die "table: s2"
grep -Eq '^s3 +- +NOT MOVED +- +the time limit \(6 s\) ran out before its turn' \
    "$T/out" || die "table: s3"
grep -q "still here: s2 s3" "$T/out" || die "not what is left: $(cat "$T/out")"
[ "$(state s1)" = destroyed ] || die "s1 is '$(state s1)'"
for g in s2 s3; do [ "$(state $g)" = running ] || die "$g is '$(state $g)'"; done

# --time-limit alone, and the shorter one wins with --on-shutdown.
expect_fail "time limit of 2 s reached" evac --time-limit 2 --max-downtime 1
grep -Eq '^s2 +10\.77\.0\.2 +FAILED .*cancelled' "$T/out" || die "table: s2 (2 s)"
expect_fail "evacuation at shutdown, for at most 3 s \(relocd-evacuate-on-shutdown 6\)" \
    evac --on-shutdown --time-limit 3 --max-downtime 1

# relocd -n: the key on without a host to go to, at its line.
printf '(relocd-evacuate-on-shutdown 600)\n' >>"$T/src-off.sxp"
sed -i '/relocd-evacuate-hosts/d' "$T/src-off.sxp"
line=$(grep -n relocd-evacuate-on-shutdown "$T/src-off.sxp" | cut -d: -f1)
expect_fail "^$T/src-off.sxp:$line: relocd-evacuate-on-shutdown is 600 but relocd-evacuate-hosts is empty" \
    "$BUILD/relocd" -n -f "$T/src-off.sxp"
alive
