/*
 * fuzz_conf.c - libFuzzer harness for the whole config reader: any file
 * must load or fail with a message, and a loaded config must print.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static const struct conf_opts opts = {quiet, NULL};
static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct relocd_conf *conf = NULL;
    char err[512];

    if (!devnull) devnull = fopen("/dev/null", "w");
    if (conf_parse_opts((const char *)data, size, "fuzz", &opts, &conf, err,
                        sizeof(err)) == 0) {
        if (devnull) conf_print(devnull, conf);
        conf_free(conf);
    } else if (conf || !memchr(err, '\0', sizeof(err)) || !err[0]) {
        abort(); /* an error always says why, and leaves nothing */
    }
    return 0;
}
