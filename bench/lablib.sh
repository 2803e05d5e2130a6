# shellcheck shell=bash
# bench/lablib.sh - what the lab benchmarks (migrate.sh, storage.sh)
# share: the lab run and its serial logs.  Sourced; REPO must be set.

# bench_lab RES ARGS...: tests/lab/run ARGS with its results in RES.  A
# run that fails is said, not fatal: what it measured is still reported.
bench_lab() {
    local res=$1 rc
    shift
    set +e
    RESULTS=$res "$REPO/tests/lab/run" ${BENCH_STREAM:+--stream} "$@" >&2
    rc=$?
    set -e
    [ $rc -eq 0 ] ||
        echo "bench: the lab run ended with status $rc; reporting what it measured" >&2
}

# bench_server_cpu: the lab CPU of a benchmark (LAB_CPU, unless set).
# qemu64 lacks AES-NI (and the SSSE3 and PCLMULQDQ that OpenSSL's fast
# AES-GCM wants), which every x86 server has: without them TLS runs
# OpenSSL's table code under TCG, a tenth of the link.  The tests' lab
# keeps qemu64,+npt.
bench_server_cpu() {
    export LAB_CPU=${LAB_CPU:-qemu64,+npt,+aes,+pclmulqdq,+ssse3,+sse4.1,+sse4.2,+popcnt}
}

# bench_logs RES: the array logs, RES's serial logs; exits when none
bench_logs() {
    shopt -s nullglob
    logs=("$1"/serial-*.log)
    [ ${#logs[@]} -gt 0 ] || { echo "bench: no serial log in $1" >&2; exit 1; }
}
