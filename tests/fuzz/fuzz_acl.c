/*
 * fuzz_acl.c - libFuzzer harness for the allow-list: the input is
 * "HOSTS-ALLOW\nIP\nFQDN"; any patterns and any peer must compile or fail
 * cleanly and match within the PCRE2 limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/acl.h"

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static const struct conf_opts opts = {quiet, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *ip, *fqdn, err[256];
    struct acl *acl = NULL;

    if (size > 4096) return 0; /* a config line, not a file: keeps runs fast */
    buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    ip = strchr(buf, '\n');
    if (ip) *ip++ = '\0';
    fqdn = ip ? strchr(ip, '\n') : NULL;
    if (fqdn) *fqdn++ = '\0';
    if (acl_compile(buf, &acl, err, sizeof(err), &opts) == 0) {
        if (acl_match(acl, ip, fqdn) > 1 || !acl_match(NULL, ip, fqdn)) abort();
        acl_match(acl, fqdn, NULL);
        acl_free(acl);
    }
    free(buf);
    return 0;
}
