/*
 * fuzz_guestnet.c - a guest's vifs from the libxl JSON a peer sends in
 * PREFLIGHT (guestnet.c): any bytes, no crash, and a result that keeps
 * its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/guestnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct guestnet gn;
    char why[256];
    unsigned i;

    if (guestnet_parse((const char *)data, size, &gn, why, sizeof(why)) == 0) {
        if (gn.n > GUESTNET_MAX_NICS || strlen(gn.uuid) >= sizeof(gn.uuid))
            abort();
        for (i = 0; i < gn.n; i++)
            if (strlen(gn.nic[i].bridge) >= sizeof(gn.nic[i].bridge)) abort();
    }
    return 0;
}
