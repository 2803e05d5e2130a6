# transport-report.awk - the table and the JSON file of bench/transport.sh.
#
# Input (tab-separated, one line per run):
#   transport run wall_s bytes cpu_send_s cpu_recv_s ok wire_bytes error
# Variables (-v): json stamp mib runs loadavg ncpu kernel cpu openssl openssh
#   ssh_ok ssh_why ssh_cipher tls_suite ktls ktls_detail aead aead_bps
#   (aead_bps: `openssl speed -evp AEAD`'s bytes per second, 0 unknown)
# MB/s are 10^6 bytes per second of wall time of the sending command; CPU
# is per GiB (2^30 bytes) of stream received.

function isort(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
}

# median of v[1..n] (sorts v)
function median(v, n) {
    isort(v, n)
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function jstr(s) {
    gsub(/\\/, "\\\\", s)
    gsub(/"/, "\\\"", s)
    return "\"" s "\""
}

function num(x) {
    return sprintf("%.6g", x)
}

BEGIN {
    GIB = 1073741824
    order[1] = "raw"; order[2] = "ssh"; order[3] = "ssh-aes"
    order[4] = "relocd-tcp"; order[5] = "relocd-tls"; ntr = 5
    label["raw"] = "raw TCP (the limit)"
    c = ssh_cipher
    sub(/@openssh\.com$/, "", c)
    label["ssh"] = "ssh, default" (c != "" ? " (" c ")" : "")
    label["ssh-aes"] = "ssh -c aes128-gcm"
    label["relocd-tcp"] = "relocd TCP (plain)"
    label["relocd-tls"] = "relocd TLS PSK" \
        (tls_suite != "" ? " (" tls_suite ")" : "")
}

{
    t = $1
    nrun[t]++
    k = nrun[t]
    wall[t, k] = $3; bytes[t, k] = $4; cs[t, k] = $5; cr[t, k] = $6
    ok[t, k] = $7 == 1 && $3 > 0 && $4 > 0; wire[t, k] = $8; err[t, k] = $9
}

# Statistics of transport t over its good runs.
function stats(t,    k, n, a, b, c, d) {
    n = 0
    for (k = 1; k <= nrun[t]; k++) {
        if (!ok[t, k]) continue
        n++
        a[n] = bytes[t, k] / wall[t, k] / 1e6
        b[n] = cs[t, k] * GIB / bytes[t, k]
        c[n] = cr[t, k] * GIB / bytes[t, k]
        d[n] = (cs[t, k] + cr[t, k]) * GIB / bytes[t, k]
    }
    good[t] = n
    if (!n) return
    med[t] = median(a, n); lo[t] = a[1]; hi[t] = a[n]
    csend[t] = median(b, n); crecv[t] = median(c, n); ctot[t] = median(d, n)
    cmin[t] = d[1]
}

# The error of the last failed run of t.
function lasterr(t,    k, e) {
    for (k = 1; k <= nrun[t]; k++)
        if (!ok[t, k]) e = err[t, k] != "" ? err[t, k] : "no details"
    return e
}

function ratio(a, b) {
    return good[a] && good[b] ? sprintf("%12.2f", med[a] / med[b]) \
                              : sprintf("%12s", "-")
}

function cratio(a, b) {
    return good[a] && good[b] ? sprintf("%12.2f", ctot[a] / ctot[b]) \
                              : sprintf("%12s", "-")
}

function ktls_text() {
    if (ktls == "full")
        return "kTLS: both directions offloaded; the relocd TLS row used it"
    if (ktls == "tx")
        return "kTLS: sending side only (OpenSSL 3.0); the relocd TLS row " \
               "used it"
    if (ktls == "kernel-only")
        return "kTLS: the kernel has it, but relocd's TLS did not enable it"
    return "kTLS: unavailable on this kernel (" ktls_detail ")"
}

END {
    for (i = 1; i <= ntr; i++) stats(order[i])
    printf("relocd transport benchmark: %d MiB synthetic migration stream " \
           "over loopback, %d runs each\n", mib, runs)
    printf("host: %s, %d CPUs, kernel %s, %s, %s\n", cpu, ncpu, kernel,
           openssl, openssh)
    printf("load average at start: %s%s\n\n", loadavg,
           loadavg + 0 >= 0.5 ? " (the host is busy: MB/s is noisy; CPU s/GiB " \
                             "is the steadier figure)" : "")
    printf("%-38s %23s   %26s\n", "", "MB/s (10^6 B/s)", "CPU s per GiB")
    printf("%-38s %7s %7s %7s   %8s %8s %8s\n", "transport", "min",
           "median", "max", "sender", "receiver", "total")
    for (i = 1; i <= ntr; i++) {
        t = order[i]
        if (!nrun[t]) {
            if (t ~ /^ssh/)
                printf("%-38s skipped: %s\n", label[t], ssh_why)
            continue
        }
        if (!good[t]) {
            printf("%-38s all %d runs failed: %s\n", label[t], nrun[t],
                   lasterr(t))
            continue
        }
        printf("%-38s %7.0f %7.0f %7.0f   %8.2f %8.2f %8.2f%s\n", label[t],
               lo[t], med[t], hi[t], csend[t], crecv[t], ctot[t],
               good[t] < nrun[t] ? sprintf("  (+%d failed: %s)",
                                           nrun[t] - good[t], lasterr(t)) : "")
    }
    printf("%-38s %s\n\n", "relocd kTLS", ktls_text())

    printf("%-28s %12s %12s %12s\n", "ratios of median MB/s",
           "relocd/raw", "relocd/ssh", "relocd/ssh-aes")
    printf("%-28s%s %s %s\n", "relocd TCP", ratio("relocd-tcp", "raw"),
           ratio("relocd-tcp", "ssh"), ratio("relocd-tcp", "ssh-aes"))
    printf("%-28s%s %s %s\n", "relocd TLS", ratio("relocd-tls", "raw"),
           ratio("relocd-tls", "ssh"), ratio("relocd-tls", "ssh-aes"))
    printf("%-28s %12s %12s %12s\n", "ratios of CPU s/GiB (total)",
           "relocd/raw", "relocd/ssh", "relocd/ssh-aes")
    printf("%-28s%s %s %s\n", "relocd TCP", cratio("relocd-tcp", "raw"),
           cratio("relocd-tcp", "ssh"), cratio("relocd-tcp", "ssh-aes"))
    printf("%-28s%s %s %s\n\n", "relocd TLS", cratio("relocd-tls", "raw"),
           cratio("relocd-tls", "ssh"), cratio("relocd-tls", "ssh-aes"))

    goal = good["relocd-tls"] && good["raw"] ? \
        sprintf("%.2f", med["relocd-tls"] / med["raw"]) : "-"
    printf("goal: relocd TLS >= 0.90 x raw TCP; measured %s on loopback, " \
           "where raw TCP is\n      bounded by memory copies, not by a " \
           "link (see bench/README.md)\n", goal)
    # What the CPU allows at the cheapest run's cost: every CPU of the
    # host busy with nothing but this transport, both ends overlapped.
    if (good["relocd-tls"] && good["raw"] && cmin["relocd-tls"] > 0) {
        ceil_mbps = ncpu * GIB / cmin["relocd-tls"] / 1e6
        ceil = sprintf("%.2f", ceil_mbps / med["raw"])
        printf("      CPU ceiling: %d CPUs / %.2f CPU s per GiB (cheapest " \
               "run) = %.0f MB/s\n      = %s x raw TCP's median\n", ncpu,
               cmin["relocd-tls"], ceil_mbps, ceil)
    } else {
        ceil_mbps = "null"; ceil = "null"
    }
    # The floor: raw TCP's CPU plus one AEAD pass at each end.
    if (good["raw"] && aead_bps > 0) {
        aead_s = GIB / aead_bps
        floor_s = ctot["raw"] + 2 * aead_s
        printf("floor: raw TCP %.2f + %s both ways 2 x %.2f (openssl " \
               "speed: %.2f GB/s per core)\n      = %.2f CPU s per GiB", \
               ctot["raw"], aead, aead_s, aead_bps / 1e9, floor_s)
        if (good["relocd-tls"]) {
            over = sprintf("%.2f", ctot["relocd-tls"] / floor_s)
            printf("; relocd TLS %.2f = %s x the floor\n", \
                   ctot["relocd-tls"], over)
        } else {
            over = "null"
            printf("\n")
        }
    } else {
        floor_s = "null"; over = "null"
    }
    printf("anchor (xen-devel, 2013): a 1 GiB PV guest took 45 s through " \
           "ssh (%.1f MB/s)\n      and 9 s through raw TCP (%.1f MB/s): " \
           "raw/ssh = %.1f; here raw/ssh = %s\n", GIB / 45 / 1e6,
           GIB / 9 / 1e6, 5.0, good["raw"] && good["ssh"] ? \
           sprintf("%.1f", med["raw"] / med["ssh"]) : "-")
    printf("results: %s\n", json)

    # --- the JSON file ---
    printf("{\n  \"benchmark\": \"transport\",\n  \"timestamp\": %s,\n",
           jstr(stamp)) > json
    printf("  \"stream_mib\": %d,\n  \"runs\": %d,\n", mib, runs) > json
    printf("  \"host\": {\"cpu\": %s, \"ncpu\": %d, \"kernel\": %s, " \
           "\"openssl\": %s, \"openssh\": %s, \"loadavg_start\": %s},\n",
           jstr(cpu), ncpu, jstr(kernel), jstr(openssl), jstr(openssh),
           num(loadavg)) > json
    printf("  \"ktls\": {\"state\": %s, \"detail\": %s},\n", jstr(ktls),
           jstr(ktls_detail)) > json
    printf("  \"floor\": {\"aead\": %s, \"openssl_speed_bps\": %s, " \
           "\"cpu_s_per_gib\": %s, \"relocd_tls_over_floor\": %s},\n",
           jstr(aead), num(aead_bps), floor_s == "null" ? "null" : \
           num(floor_s), over) > json
    printf("  \"anchor\": {\"source\": \"xen-devel, 2013\", " \
           "\"guest_gib\": 1, \"ssh_s\": 45, \"raw_tcp_s\": 9},\n") > json
    printf("  \"goal\": {\"relocd_tls_over_raw_min\": 0.9, " \
           "\"measured\": %s, \"cpu_ceiling_mbps\": %s, " \
           "\"cpu_ceiling_over_raw\": %s},\n", goal == "-" ? "null" : goal,
           ceil_mbps == "null" ? "null" : sprintf("%.0f", ceil_mbps),
           ceil) > json
    printf("  \"transports\": [") > json
    sep = ""
    for (i = 1; i <= ntr; i++) {
        t = order[i]
        if (!nrun[t]) continue
        printf("%s\n    {\"name\": %s, \"label\": %s, ", sep, jstr(t),
               jstr(label[t])) > json
        if (t == "ssh") printf("\"cipher\": %s, ", jstr(ssh_cipher)) > json
        if (t == "relocd-tls")
            printf("\"suite\": %s, ", jstr(tls_suite)) > json
        if (good[t])
            printf("\"mbps\": {\"min\": %s, \"median\": %s, \"max\": %s}, " \
                   "\"cpu_s_per_gib\": {\"sender\": %s, \"receiver\": %s, " \
                   "\"total\": %s},\n     \"runs\": [",
                   num(lo[t]), num(med[t]), num(hi[t]), num(csend[t]),
                   num(crecv[t]), num(ctot[t])) > json
        else
            printf("\"mbps\": null, \"cpu_s_per_gib\": null,\n     " \
                   "\"runs\": [") > json
        for (k = 1; k <= nrun[t]; k++)
            printf("%s\n       {\"ok\": %s, \"wall_s\": %s, \"bytes\": %s, " \
                   "\"wire_bytes\": %s, \"cpu_sender_s\": %s, " \
                   "\"cpu_receiver_s\": %s%s}", k > 1 ? "," : "",
                   ok[t, k] ? "true" : "false", num(wall[t, k]),
                   sprintf("%.0f", bytes[t, k]), sprintf("%.0f", wire[t, k]),
                   num(cs[t, k]), num(cr[t, k]),
                   ok[t, k] ? "" : ", \"error\": " jstr(err[t, k])) > json
        printf("]}") > json
        sep = ","
    }
    printf("\n  ],\n  \"ratios\": {") > json
    printf("\"mbps\": {\"relocd_tcp/raw\": %s, \"relocd_tcp/ssh\": %s, " \
           "\"relocd_tls/raw\": %s, \"relocd_tls/ssh\": %s}, ",
           jr("relocd-tcp", "raw"), jr("relocd-tcp", "ssh"),
           jr("relocd-tls", "raw"), jr("relocd-tls", "ssh")) > json
    printf("\"cpu_total\": {\"relocd_tcp/raw\": %s, \"relocd_tcp/ssh\": %s, " \
           "\"relocd_tls/raw\": %s, \"relocd_tls/ssh\": %s}}\n}\n",
           jc("relocd-tcp", "raw"), jc("relocd-tcp", "ssh"),
           jc("relocd-tls", "raw"), jc("relocd-tls", "ssh")) > json
    close(json)
}

function jr(a, b) {
    return good[a] && good[b] ? num(med[a] / med[b]) : "null"
}

function jc(a, b) {
    return good[a] && good[b] ? num(ctot[a] / ctot[b]) : "null"
}
