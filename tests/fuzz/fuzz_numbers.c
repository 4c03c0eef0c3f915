/*
 * fuzz_numbers.c - tracking-number normalization, per-carrier validation, detection and the
 * check-digit algorithms on any text. Beyond "no crash": detection agrees with validation
 * (every candidate accepts the number, every carrier that accepts it is a candidate, best
 * first), check-digit "valid" agrees with "compute" on the same payload, and normalization
 * is idempotent and yields [0-9A-Z] only.
 */
#include "carriers/numbers.h"
#include "checkdigit.h"
#include "err.h"
#include "fuzz.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void check_algorithms(const char *n)
{
    size_t len = strlen(n);
    if (len < 2)
        return;
    /* payload + check character: "valid" must say yes exactly when "compute" gives the last char */
    int c = pp_checkdigit_gs1_compute(n, len - 1);
    if (pp_checkdigit_gs1_valid(n) != (c >= 0 && n[len - 1] == '0' + c))
        fuzz_fail("gs1 valid/compute disagree on '%s'", n);
    c = pp_checkdigit_mod37_36_compute(n, len - 1);
    if (pp_checkdigit_mod37_36_valid(n) != (c >= 0 && n[len - 1] == c))
        fuzz_fail("mod37_36 valid/compute disagree on '%s'", n);
    c = pp_checkdigit_mod7_compute(n, len - 1);
    if (pp_checkdigit_mod7_valid(n) != (c >= 0 && n[len - 1] == '0' + c))
        fuzz_fail("mod7 valid/compute disagree on '%s'", n);
    (void)pp_checkdigit_ups_compute(n, len);
    (void)pp_checkdigit_ups_1z_valid(n);
    (void)pp_checkdigit_ups_waybill_valid(n);
    (void)pp_checkdigit_s10_valid(n);
    if (len >= 8)
        (void)pp_checkdigit_s10_compute(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char *in = fuzz_strdup(data, size);
    char norm[PP_NUMBER_MAX], again[PP_NUMBER_MAX];
    memset(norm, 0x5A, sizeof norm);
    if (pp_number_normalize(in, norm, sizeof norm) == PP_OK) {
        if (strnlen(norm, sizeof norm) == sizeof norm || !norm[0])
            fuzz_fail("normalized number empty or unterminated");
        for (const char *p = norm; *p; p++)
            if (!isdigit((unsigned char)*p) && !isupper((unsigned char)*p))
                fuzz_fail("normalized number '%s' holds 0x%02x", norm, (unsigned char)*p);
        if (pp_number_normalize(norm, again, sizeof again) != PP_OK || strcmp(norm, again) != 0)
            fuzz_fail("normalization not idempotent: '%s' -> '%s'", norm, again);
        check_algorithms(norm);
    }
    check_algorithms(in);

    pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
    size_t n = 0, nc = 0;
    const char *const *carriers = pp_number_carriers(&nc);
    if (pp_number_detect(in, cand, PP_NUMBER_MAX_CANDIDATES, &n) != PP_OK)
        fuzz_fail("detect failed on a non-NULL number");
    if (n > PP_NUMBER_MAX_CANDIDATES)
        fuzz_fail("%zu candidates, more than one per carrier", n);
    bool normal = pp_number_normalize(in, norm, sizeof norm) == PP_OK;
    size_t valid = 0;
    for (size_t i = 0; i < nc; i++) {
        bool v = normal && pp_number_valid(carriers[i], norm);
        bool listed = false;
        for (size_t k = 0; k < n; k++)
            listed |= strcmp(cand[k].carrier, carriers[i]) == 0;
        if (v != listed)
            fuzz_fail("'%s': %s %s valid but %s a candidate", in, carriers[i], v ? "is" : "is not",
                      listed ? "is" : "is not");
        valid += v;
        /* detection knows the registry's carriers and no other */
        if (!pp_carrier_find(carriers[i]))
            fuzz_fail("%s: detected but not in the registry", carriers[i]);
    }
    if (valid != n)
        fuzz_fail("'%s': %zu carriers accept it, %zu candidates", in, valid, n);
    for (size_t k = 1; k < n; k++)
        if (cand[k].confidence > cand[k - 1].confidence)
            fuzz_fail("candidates not best first");
    /* An invalid number never validates, whatever its case or spacing. */
    for (size_t i = 0; i < nc; i++)
        if (pp_number_valid(carriers[i], in) && (!normal || strcmp(in, norm) != 0))
            fuzz_fail("'%s' valid for %s without being normalized", in, carriers[i]);
    free(in);
    return 0;
}
