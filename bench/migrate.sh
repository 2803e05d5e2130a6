#!/bin/bash
# bench/migrate.sh - `make bench`: real migrations in one lab boot (Xen 4.17
# under QEMU, tests/lab), stock xl against xl-relocate. See bench/README.md.
#
#   BUILD=build bench/migrate.sh
#
# Environment:
#   BENCH_REPS=3            migrations of each case per load
#   BENCH_CASES="ssh tcp pipe xlr-tls xlr-md100 xlr-pipe"   (also: nc,
#                           xlr-pipe-mdN: xlr-pipe with --max-downtime N,
#                           xl-tls: stock xl over relocd's TLS transport)
#   BENCH_LOADS="idle dirty16 dirty32"     idle | dirtyN | rateN
#   BENCH_MEM=128           guest memory, MiB (the guest kernel needs ~80 of it: keep dirtyN <= MEM - 96);
#                           a list ("128 256 512") runs everything at each size: the scaling table
#   LAB_CPU=qemu64,+npt,+aes,...  the lab CPU: with AES-NI, as servers have
#   LAB_MEM=MiB             the lab host's RAM; by default enough for a localhost move of the
#                           largest guest (two copies of it beside the lab's 768 MiB dom0)
#   BENCH_KTLS, BENCH_TLSRATE_MIB, BENCH_TLSRATE_RUNS   see the scenario (kernel
#                           TLS as a Debian dom0; relocd-bench tlsrate in dom0)
#   BENCH_STREAM=1          show dom0's progress live (tests/lab/run --stream)
#   BENCH_FROM=DIR          no run: report an earlier run's lab results dir
# Output: the table on stdout, progress on stderr, and
# bench/results/migrate-<UTC timestamp>.json (git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=SCRIPTDIR/lablib.sh
. "$HERE/lablib.sh"
export BUILD=${BUILD:-$REPO/build}
LAB_CACHE=${LAB_CACHE:-/var/tmp/relocd-lab}
TS=$(date -u +%Y%m%dT%H%M%SZ)
list() { echo "$1" | tr ' ' ',' | tr -s ',' | sed 's/^,//; s/,$//'; }
REPS=${BENCH_REPS:-3}
CASES=$(list "${BENCH_CASES:-ssh tcp pipe xlr-tls xlr-md100 xlr-pipe}")
LOADS=$(list "${BENCH_LOADS:-idle dirty16 dirty32}")
MEMS=$(list "${BENCH_MEM:-128}")
OUT=$HERE/results/migrate-$TS.json
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

case $REPS in '' | *[!0-9]*) echo "bench: BENCH_REPS must be a number" >&2; exit 2 ;; esac
for c in ${CASES//,/ }; do
    case $c in ssh | tcp | nc | pipe | xl-tls | xlr-tls | xlr-md100 | xlr-pipe | xlr-pipe-md[0-9]*) ;;
    *) echo "bench: unknown case $c (ssh tcp nc pipe xl-tls xlr-tls xlr-md100 xlr-pipe xlr-pipe-mdN)" >&2; exit 2 ;;
    esac
done
MAXMEM=0
for m in ${MEMS//,/ }; do
    case $m in '' | *[!0-9]*) echo "bench: BENCH_MEM must be numbers (MiB)" >&2; exit 2 ;; esac
    [ "$m" -gt "$MAXMEM" ] && MAXMEM=$m
done
# a localhost move holds the guest twice; Xen and the lab's dom0 take 768
# MiB and some of Xen's own (its heap, the guests' page tables)
need=$((768 + 2 * MAXMEM + 256))
[ "$need" -lt 1536 ] && need=1536
export LAB_MEM=${LAB_MEM:-$need}
for l in ${LOADS//,/ }; do
    case $l in idle | dirty[0-9]* | rate[0-9]*) ;;
    *) echo "bench: unknown load $l (idle, dirtyN, rateN)" >&2; exit 2 ;;
    esac
done

if [ -n "${BENCH_FROM:-}" ]; then
    RES=$BENCH_FROM
    LOADAVG=
else
    [ "$(id -u)" = 0 ] || { echo "bench: the lab needs root" >&2; exit 2; }
    case $CASES in *xlr*)
        [ -x "$BUILD/relocd" ] && [ -x "$BUILD/xl-relocate" ] ||
            { echo "bench: no $BUILD/relocd or xl-relocate: run make first" >&2; exit 2; } ;;
    esac
    RES=$LAB_CACHE/results/bench-migrate-$TS
    echo "bench: $REPS rep(s) of [$CASES] per load [$LOADS], PVH guest of [$MEMS] MiB," \
        "lab host of $LAB_MEM MiB; lab results in $RES" >&2
    echo "bench: a full run takes about an hour under TCG (BENCH_REPS=1 BENCH_LOADS=idle ~10 min)" >&2
    bench_server_cpu
    bench_lab "$RES" \
        --set "BENCH_REPS=$REPS" --set "BENCH_CASES=$CASES" \
        --set "BENCH_LOADS=$LOADS" --set "BENCH_MEM=$MEMS" \
        ${BENCH_KTLS:+--set "BENCH_KTLS=$BENCH_KTLS"} \
        ${BENCH_TLSRATE_MIB:+--set "BENCH_TLSRATE_MIB=$BENCH_TLSRATE_MIB"} \
        ${BENCH_TLSRATE_RUNS:+--set "BENCH_TLSRATE_RUNS=$BENCH_TLSRATE_RUNS"} bench-migrate
fi
bench_logs "$RES"
BENCH_TS=$TS BENCH_LAB_RESULTS=$RES \
    BENCH_LOADAVG=$LOADAVG \
    BENCH_CPU=$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)" x $(nproc)" \
    python3 "$HERE/migrate-report.py" "$OUT" "${logs[@]}"
