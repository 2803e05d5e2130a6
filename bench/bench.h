/*
 * bench.h - relocd-bench, the tools of bench/transport.sh: both ends of
 * xl's migration protocol, a CPU-accounting runner and a kernel TLS probe.
 * One program, one subcommand per file:
 *
 *   xlsend.c  send      plays `xl migrate`: a synthetic stream into TCP or
 *                       into a command (ssh), as xl does with -s
 *   xlrecv.c  receive   plays `xl migrate-receive` on stdin/stdout
 *             listen    the same on one TCP connection it accepts
 *   cpu.c     run       runs a command, reports wall time and the CPU of
 *                       it and every descendant it reaped
 *             quiesce   waits until a process has no children
 *   ktls.c    ktls      can this kernel and relocd's TLS code do kTLS?
 *   tlsrate.c tlsrate   relocd's TLS against raw TCP on this host
 */
#ifndef RELOCD_BENCH_H
#define RELOCD_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* The libxl v2 stream header and the libxc image header (big-endian). */
#define BENCH_LIBXL_IDENT 0x4C6962786C466D74ull
#define BENCH_LIBXC_MARKER 0xFFFFFFFFFFFFFFFFull
#define BENCH_LIBXC_ID 0x58454E46u /* "XENF" */
#define BENCH_REC_LIBXC_CONTEXT 1u
#define BENCH_REC_END 0u
/* One libxc record carries at most this much (relocd's fake: 1 MiB). */
#define BENCH_MAX_RECORD (16u << 20)

/* bench.c */
/* A TCP socket bound to host:port, or connected to it; -1 with errno. */
int bench_tcp_listen(const char *host, const char *port);
int bench_tcp_connect(const char *host, const char *port);
/* A connected loopback TCP pair: fds[0] the client, fds[1] the server. */
int bench_tcp_pair(int fds[2]);
/* Prints "relocd-bench NAME: message" to stderr; returns 1. */
int bench_err(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Subcommands: each returns the process exit status. */
int xlsend_main(int argc, char **argv);
int xlrecv_receive_main(int argc, char **argv);
int xlrecv_listen_main(int argc, char **argv);
int cpu_run_main(int argc, char **argv);
int cpu_quiesce_main(int argc, char **argv);
int ktls_main(int argc, char **argv);
int tlsrate_main(int argc, char **argv);

#endif
