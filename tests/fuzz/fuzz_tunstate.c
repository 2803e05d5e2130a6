/*
 * fuzz_tunstate.c - the tunnel state file parser (tunnel/state.c) on any
 * text: the file lives in /run, but a crash or a bug of ours may have left
 * anything there, and relocd reads it at start-up as root.  What parses
 * must format and parse again to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tunnel_state st, again;
    char err[256], *text = NULL, *text2 = NULL;
    size_t len, len2;

    memset(&st, 0, sizeof(st));
    memset(&again, 0, sizeof(again));
    if (tunnel_state_parse((const char *)data, size, &st, err, sizeof(err)) ==
            0 &&
        tunnel_state_format(&st, &text, &len) == 0) {
        if (tunnel_state_parse(text, len, &again, err, sizeof(err)) < 0)
            abort();
        if (tunnel_state_format(&again, &text2, &len2) < 0 || len2 != len ||
            memcmp(text, text2, len))
            abort();
    }
    free(text);
    free(text2);
    tunnel_state_clear(&st);
    tunnel_state_clear(&again);
    return 0;
}
