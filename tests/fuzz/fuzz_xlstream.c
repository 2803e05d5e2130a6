/*
 * fuzz_xlstream.c - the xl save header and its JSON config, as
 * xl-relocate connect reads them from an xl process, and as a receiving
 * session's gate reads them from a peer (gate.h).
 */
#include <stdint.h>
#include <string.h>

#include "relocd/gate.h"
#include "wire/xlstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xls_header h;
    const char *json;
    size_t len;
    char err[256];

    /* Any size: a short header must be refused, not read past. */
    if (xls_parse_header(data, size, &h, err, sizeof(err)) == 0 &&
        h.optional_data_len <= size - XLS_HDR_LEN)
        xls_parse_config(data + XLS_HDR_LEN, h.optional_data_len, &json, &len,
                         err, sizeof(err));
    if (size < XLS_HDR_LEN) return 0;
    /* The optional data parser alone, on whatever follows the header. */
    xls_parse_config(data + XLS_HDR_LEN, size - XLS_HDR_LEN, &json, &len, err,
                     sizeof(err));
    gate_check_config(data + XLS_HDR_LEN, size - XLS_HDR_LEN,
                      "{\"c_info\":{\"name\":\"g1\"}}", err, sizeof(err));
    return 0;
}
