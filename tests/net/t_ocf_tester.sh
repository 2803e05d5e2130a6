# ocf:relocd:xen (etc/ocf/xen) through ocf-tester (resource-agents), with
# xl played by fake_xl.py: meta-data against ra-api-1.dtd, probes with
# and without xl, start, monitor, stop, twice each.  Slow by design: the
# agent retries a monitor that finds nothing for 5 s, as
# ocf:heartbeat:Xen does (a rebooting guest vanishes for a moment).
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
export OCF_ROOT=/usr/lib/ocf
[ -f "$OCF_ROOT/lib/heartbeat/ocf-shellfuncs" ] && command -v ocf-tester >/dev/null ||
    skip "resource-agents is not installed (make deps installs it)"
mkdir -p "$T/bin"
# ocf-tester also runs the agent as nobody (su nobody), so it must lie on
# a path nobody can walk, as the installed one does: a clone under /root
# (mode 700, the fresh machine's) is not.
mkdir -p "$T/ocf"
AGENT="$T/ocf/xen"
install -m 755 "$NETDIR/../../etc/ocf/xen" "$AGENT"
chmod 755 "$T" "$T/ocf"
# .txt: die() prints the *.log files, and the runner shows only the last
# 20 lines of a failure, which hundreds of monitor calls would fill
export FAKE_XL_CALLS="$T/xl-calls.txt"
# The system's python3 starts in a tenth of the time of a version
# manager's shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
cat >"$T/bin/xl" <<XL
#!/bin/sh
exec $PY "$NETDIR/fake_xl.py" xl "\$@"
XL
chmod +x "$T/bin/xl"

printf 'name = "vm1"\nmemory = 64\n' >"$T/vm1.cfg"
PATH="$T/bin:$PATH" ocf-tester -n vm1res -o xmfile="$T/vm1.cfg" \
    "$AGENT" >"$T/out" 2>&1 || die "ocf-tester failed: $(tail -n 12 "$T/out")"
grep -q "passed all tests" "$T/out" || die "ocf-tester: $(cat "$T/out")"
# The name came from xmfile's name= line, and start is xl create.
grep -q '^xl create .*vm1.cfg name="vm1"' "$FAKE_XL_CALLS" ||
    die "not started with xl create: $(cat "$FAKE_XL_CALLS")"
grep -q '^xl shutdown vm1$' "$FAKE_XL_CALLS" || die "not stopped with xl shutdown"
