# SIGHUP: a broken file keeps the running config; a good one applies.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"
printf '(xend-relocation-server yes)\n(relocd-allow-insecure yes\n' \
    >"$T/xend-config.sxp"
kill -HUP "$RELOCD_PID"
sleep 1
alive
grep -q "reload failed, keeping the running configuration: .*xend-config.sxp:2" \
    "$T/relocd.log" || die "no file:line reload error"
expect_ok migrate "$NS_SRC" --name kept
received kept || die "old config not kept"
printf '(xend-relocation-server yes)\n(relocd-allow-insecure yes)\n(xend-relocation-port 8102)\n(xend-relocation-hosts-allow "^10\\\\.77\\\\.0\\\\.1$")\n' \
    >"$T/xend-config.sxp"
kill -HUP "$RELOCD_PID"
sleep 1
grep -q "configuration reloaded" "$T/relocd.log" || die "no reload"
printf '(xend-relocation-port 8102)\n' >"$T/client.sxp"
expect_ok migrate "$NS_SRC" --name newport
received newport || die "new port not used"
# SIGTERM drains and exits.
kill -TERM "$RELOCD_PID"
i=0; while kill -0 "$RELOCD_PID" 2>/dev/null; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "relocd did not exit on SIGTERM"
done
RELOCD_PID=
