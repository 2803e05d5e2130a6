/*
 * fuzz_qmp.c - QEMU's QMP replies, as the sender worker reads them from
 * an HVM guest's device model (xen/dm.c): one message through the
 * decoder, then the whole input as what a QEMU wrote on its socket,
 * through the session's handshake and one command (line splitting, the
 * bounded buffer, events, ids).
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qmp_msg m;
    struct qmp *q;
    char err[256];
    int sv[2];

    qmp_decode(data, size, &m, err, sizeof(err));
    /* Longer inputs would not fit the socket's buffer in one write. */
    if (size > 64 * 1024 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 0;
    if (write(sv[1], data, size) == (ssize_t)size) {
        shutdown(sv[1], SHUT_WR);
        /* Everything is already there: no wait needs a timeout. */
        q = qmp_open(sv[0], 0, err, sizeof(err));
        if (q)
            qmp_execute(q, "xen-set-global-dirty-log", "{\"enable\":true}", 0,
                        err, sizeof(err));
        qmp_close(q);
    } else {
        close(sv[0]);
    }
    close(sv[1]);
    return 0;
}
