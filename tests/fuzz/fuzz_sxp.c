/*
 * fuzz_sxp.c - libFuzzer harness for the S-expression reader: any bytes
 * must give a tree or a clean error, and the lookups must walk any tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/sxp.h"

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static const struct conf_opts opts = {quiet, NULL};

/* Touches every node the way the config reader does. */
static size_t walk(const struct sxp_node *n)
{
    size_t sum = 0;

    for (; n; n = n->next) {
        const char *name = sxp_name(n);

        if (n->type == SXP_LIST) {
            if (name) sum += sxp_child_value(n, name) != NULL;
            sum += sxp_child_at(n, 1) != NULL;
            sum += walk(n->child);
        } else {
            sum += strlen(n->text) == n->len;
        }
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sxp_node *root = NULL;
    char err[256];

    if (sxp_parse_opts((const char *)data, size, "fuzz", &opts, &root, err,
                       sizeof(err)) == 0) {
        walk(root);
        sxp_find(root->child, "xend-relocation-port");
    } else if (!memchr(err, '\0', sizeof(err))) {
        abort(); /* messages are always terminated */
    }
    sxp_free(root);
    return 0;
}
