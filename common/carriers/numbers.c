/* numbers.c - per-carrier tracking-number formats: validation, detection, synthetic examples. */
#include "numbers.h"
#include "../checkdigit.h"
#include "../err.h"
#include "../log.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

/* Shape-only extra rules (not check digits): the tail after a 2-letter prefix, or the whole
 * number, must hold a digit, so that words are never taken for tracking numbers. */
static bool has_digit(const char *s)
{
    return s && strpbrk(s, "0123456789") != NULL;
}

static bool tail_has_digit(const char *number)
{
    return number && strlen(number) > 2 && has_digit(number + 2);
}

/*
 * The table. Sources: research/carriers.md §8 (and §§1-7), which cites jkeen/
 * tracking_number_data (couriers/{ups,dhl,dpd,s10}.json, CHECKSUM_ALGORITHMS.md). Confidence: how
 * surely a number of this shape, check digit right, belongs to this carrier; shapes that
 * several carriers share get lower values and show up as ambiguous, never as a guess.
 *
 * Uncertain rows (also in the report of issue 3):
 *  - InPost, GLS, ORLEN, DHL Parcel PL, DPD Polska waybill: no check-digit rule was found
 *    (research §8 "[not found]"), so these are shape-only and accept any digits. One
 *    third-party GLS client appends a check digit to 11-digit numbers, algorithm unknown.
 *  - DPD 14 digits + check character: the MOD 37,36 rule is confirmed for the 28-character
 *    label barcode (jkeen test vectors); that the printed 14-digit parcel number carries its
 *    own check character over those 14 digits alone follows the DPD label specification as
 *    cited, not a test vector we could check.
 *  - Plain 14 digits for DPD (the parcel number without its check character) is inferred.
 *  - S10 items from other countries than PL: inferred to be delivered (and tracked) by
 *    Poczta Polska once in Poland; DHL eCommerce prefixes overlap (LX/RX/CN/…).
 *  - GLS 8-character numbers ("some countries") are accepted at low confidence.
 */
static const pp_number_format_t formats[] = {
    {"dhl", "dhl_parcel_de", "^00340434[0-9]{12}$", "GS1 mod 10", pp_checkdigit_gs1_valid, 95,
     "observed"},
    {"dhl", "dhl_express", "^[0-9]{10}$", "mod 7 of the first 9 digits",
     pp_checkdigit_mod7_valid, 50, "observed"},
    {"dhl", "dhl_express_11", "^[0-9]{11}$", "mod 7 of the first 10 digits",
     pp_checkdigit_mod7_valid, 30, "observed"},
    {"dhl", "dhl_piece_id", "^J[A-Z]{2,3}[0-9]{9,10}$", "none", NULL, 70, "observed"},
    {"dhl", "dhl_ecommerce", "^(GM|LX|RX|UV|CN|SG|TH|IN|HK|MY)[0-9A-Z]{10,39}$",
     "none; a digit after the prefix", tail_has_digit, 40, "observed"},
    {"dhl", "dhl_ecommerce_14", "^[0-9]{14}$", "none", NULL, 20, "observed"},
    {"dhl", "dhl_parcel_pl", "^[0-9]{11}$", "none (not found)", NULL, 40, "observed"},
    {"ups", "ups_1z", "^1Z[0-9A-Z]{15}[0-9]$", "UPS mod 10 over chars 3-17",
     pp_checkdigit_ups_1z_valid, 98, "observed"},
    {"ups", "ups_waybill", "^[AHJKTV][0-9]{10}$", "UPS mod 10 over the 9 serial digits",
     pp_checkdigit_ups_waybill_valid, 60, "observed"},
    {"inpost", "inpost_24", "^[0-9]{24}$", "none (not found)", NULL, 80, "observed"},
    {"inpost", "inpost_19", "^[0-9]{19}$", "none (not found)", NULL, 50, "observed"},
    {"gls", "gls_12", "^[0-9]{12}$", "none (not found)", NULL, 60, "confirmed"},
    {"gls", "gls_11", "^[0-9]{11}$", "none (not found)", NULL, 50, "confirmed"},
    {"gls", "gls_8", "^[0-9A-Z]{8}$", "none; at least one digit", has_digit, 15, "confirmed"},
    {"dpd", "dpd_pl_waybill", "^[0-9]{13}U$", "none (not found)", NULL, 90, "observed"},
    {"dpd", "dpd_parcel_check", "^[0-9]{14}[0-9A-Z]$", "ISO 7064 MOD 37,36 over the 14 digits",
     pp_checkdigit_mod37_36_valid, 85, "inferred"},
    {"dpd", "dpd_label_28", "^[0-9]{27}[0-9A-Z]$", "ISO 7064 MOD 37,36 over the 27 characters",
     pp_checkdigit_mod37_36_valid, 95, "observed"},
    {"dpd", "dpd_parcel_14", "^[0-9]{14}$", "none (check character left off)", NULL, 40,
     "inferred"},
    {"pocztapolska", "pp_domestic", "^00[0-9]5900773[0-9]{10}$", "GS1 mod 10",
     pp_checkdigit_gs1_valid, 95, "observed"},
    {"pocztapolska", "pp_s10_pl", "^[A-Z]{2}[0-9]{9}PL$", "UPU S10 mod 11",
     pp_checkdigit_s10_valid, 95, "confirmed"},
    {"pocztapolska", "pp_s10_inbound", "^[A-Z]{2}[0-9]{9}[A-Z]{2}$", "UPU S10 mod 11",
     pp_checkdigit_s10_valid, 40, "inferred"},
    {"pocztapolska", "pp_pocztex", "^PX[0-9]{10}$", "none (not found)", NULL, 60, "observed"},
    {"orlen", "orlen_13", "^[23][0-9]{12}$", "none (not found)", NULL, 70, "observed"},
    {"orlen", "orlen_10", "^[0-9]{10}$", "none (not found)", NULL, 30, "observed"},
    {"orlen", "orlen_7", "^[0-9]{7}$", "none (not found)", NULL, 30, "observed"},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

static const char *const carriers[] = {"dhl", "ups", "inpost", "gls", "dpd", "pocztapolska",
                                       "orlen"};
#define N_CARRIERS (sizeof carriers / sizeof carriers[0])

/* Compiled shapes, built once. A shape that does not compile never matches (and is logged;
 * test_numbers compiles every shape, so this is a programming error caught in CI). */
static regex_t compiled[N_FORMATS];
static bool compiled_ok[N_FORMATS];
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void compile_shapes(void)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        int rc = regcomp(&compiled[i], formats[i].shape, REG_EXTENDED | REG_NOSUB);
        compiled_ok[i] = rc == 0;
        if (rc)
            pp_error("number format %s: shape '%s' does not compile", formats[i].id,
                         formats[i].shape);
    }
}

static bool format_matches(size_t i, const char *number)
{
    pthread_once(&compile_once, compile_shapes);
    if (!compiled_ok[i] || regexec(&compiled[i], number, 0, NULL, 0) != 0)
        return false;
    return !formats[i].check_fn || formats[i].check_fn(number);
}

static int carrier_index(const char *carrier)
{
    if (!carrier)
        return -1;
    for (size_t i = 0; i < N_CARRIERS; i++)
        if (strcmp(carriers[i], carrier) == 0)
            return (int)i;
    return -1;
}

const pp_number_format_t *pp_number_formats(size_t *n)
{
    if (n)
        *n = N_FORMATS;
    return formats;
}

const char *const *pp_number_carriers(size_t *n)
{
    if (n)
        *n = N_CARRIERS;
    return carriers;
}

int pp_number_normalize(const char *in, char *out, size_t cap)
{
    if (!in || !out || cap == 0)
        return PP_EINVAL;
    if (cap > PP_NUMBER_MAX)
        cap = PP_NUMBER_MAX;
    size_t k = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            goto fail;
        if (k + 1 >= cap)
            goto fail;
        out[k++] = c;
    }
    if (k == 0)
        goto fail;
    out[k] = '\0';
    return PP_OK;
fail:
    out[0] = '\0';
    return PP_EINVAL;
}

bool pp_number_valid(const char *carrier, const char *number)
{
    char norm[PP_NUMBER_MAX];
    if (carrier_index(carrier) < 0 || !number)
        return false;
    if (pp_number_normalize(number, norm, sizeof norm) || strcmp(norm, number) != 0)
        return false;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strcmp(formats[i].carrier, carrier) == 0 && format_matches(i, norm))
            return true;
    return false;
}

int pp_number_detect(const char *number, pp_number_candidate_t *out, size_t cap, size_t *n)
{
    pp_number_candidate_t best[N_CARRIERS];
    char norm[PP_NUMBER_MAX];
    size_t found = 0;
    if (!number || !n || (!out && cap > 0))
        return PP_EINVAL;
    *n = 0;
    if (pp_number_normalize(number, norm, sizeof norm))
        return PP_OK; /* not a number of any carrier */
    memset(best, 0, sizeof best);
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (!format_matches(i, norm))
            continue;
        int c = carrier_index(formats[i].carrier);
        if (c < 0) /* a table row with a carrier missing from carriers[] */
            continue;
        if (formats[i].confidence > best[c].confidence || !best[c].carrier) {
            if (!best[c].carrier)
                found++;
            best[c] = (pp_number_candidate_t){carriers[c], formats[i].confidence, formats[i].id};
        }
    }
    /* Best first; equal confidence keeps table order (insertion sort is stable). */
    pp_number_candidate_t sorted[N_CARRIERS];
    size_t k = 0;
    for (size_t c = 0; c < N_CARRIERS; c++) {
        if (!best[c].carrier)
            continue;
        size_t j = k++;
        while (j > 0 && sorted[j - 1].confidence < best[c].confidence) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = best[c];
    }
    for (size_t i = 0; i < k && i < cap; i++)
        out[i] = sorted[i];
    *n = found;
    return PP_OK;
}

/*
 * Synthetic numbers. In a template '#' is a free digit and '?' the check character, which
 * finish() computes; every other character is literal. Each shape was chosen to fit only
 * its own carrier's formats (so detection is unambiguous) and to look like the real thing:
 * DHL Parcel DE SSCC (DHL's company prefix 340434), UPS 1Z (shipper "PP…", service 68),
 * InPost 24 digits, GLS 12 digits, DPD Polska waybill (13 digits + U), Poczta Polska
 * domestic (00 + extension digit + 5900773 + serial), ORLEN 13 digits starting 2.
 */
static void finish_gs1(char *s, size_t len)
{
    s[len - 1] = (char)('0' + pp_checkdigit_gs1_compute(s, len - 1));
}

static void finish_ups_1z(char *s, size_t len)
{
    s[len - 1] = (char)('0' + pp_checkdigit_ups_compute(s + 2, 15));
}

static const struct {
    const char *carrier;
    const char *tmpl;
    void (*finish)(char *s, size_t len);
} examples[] = {
    {"dhl", "00340434###########?", finish_gs1},
    {"ups", "1ZPP####68#######?", finish_ups_1z},
    {"inpost", "6#######################", NULL},
    {"gls", "9###########", NULL},
    {"dpd", "1############U", NULL},
    {"pocztapolska", "00#5900773#########?", finish_gs1},
    {"orlen", "2############", NULL},
};

/* The murmur3 64-bit finalizer: a bijection on 64-bit values. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* (a * b) mod m without overflow, for m <= 10^19. */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    uint64_t r = 0;
    a %= m;
    while (b) {
        if (b & 1)
            r = (r >= m - a) ? r - (m - a) : r + a;
        a = (a >= m - a) ? a - (m - a) : a + a;
        b >>= 1;
    }
    return r;
}

/*
 * The value spread over the free digits: with 20 or more free digits, mix64(seed) (all
 * seeds distinct); with f <= 19, an affine bijection of seed mod 10^f (x*K + A mod 10^f,
 * K coprime to 10), so seeds below 10^f stay distinct but consecutive seeds do not give
 * consecutive serials.
 */
static uint64_t spread(uint64_t seed, unsigned f)
{
    if (f >= 20)
        return mix64(seed);
    uint64_t m = 1;
    for (unsigned i = 0; i < f; i++)
        m *= 10;
    const uint64_t k = 2862933555777941757ULL % m; /* ends in 7: coprime to 10 */
    const uint64_t a = 1442695040888963407ULL % m;
    uint64_t x = mulmod(seed % m, k, m);
    return x >= m - a ? x - (m - a) : x + a;
}

int pp_number_example(const char *carrier, uint64_t seed, char *out, size_t cap)
{
    if (!out)
        return PP_EINVAL;
    for (size_t e = 0; e < sizeof examples / sizeof examples[0]; e++) {
        if (!carrier || strcmp(examples[e].carrier, carrier) != 0)
            continue;
        const char *t = examples[e].tmpl;
        size_t len = strlen(t);
        if (cap < len + 1)
            return PP_ENOMEM;
        unsigned free_digits = 0;
        for (size_t i = 0; i < len; i++)
            free_digits += t[i] == '#';
        uint64_t v = spread(seed, free_digits);
        /* Fill free digits from the right with v's decimal digits, then zeros. */
        memcpy(out, t, len + 1);
        for (size_t i = len; i-- > 0;) {
            if (out[i] != '#')
                continue;
            out[i] = (char)('0' + v % 10);
            v /= 10;
        }
        if (examples[e].finish)
            examples[e].finish(out, len);
        return PP_OK;
    }
    return PP_EINVAL;
}
