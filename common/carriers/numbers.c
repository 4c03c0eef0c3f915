/* numbers.c - tracking numbers: validation, detection and synthetic examples over every carrier's formats (its descriptor). */
#include "numbers.h"
#include "carrier.h"
#include "../err.h"
#include "../log.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The formats are the rows of each carrier's descriptor (its adapter file: formats[], with
 * where each comes from). Sources: research/carriers.md §8 (and §§1-7), which cites jkeen/
 * tracking_number_data. Confidence: how surely a number of this shape, check digit right,
 * belongs to this carrier; shapes that several carriers share get lower values and show up as
 * ambiguous, never as a guess. Here they are gathered in registry order, once.
 */
static pp_number_format_t *formats; /* every carrier's rows, in registry order */
static size_t n_formats;
static const char *carriers[PP_CARRIERS_MAX]; /* registry order */
static size_t n_carriers;
static const pp_carrier_t *rows[PP_CARRIERS_MAX];

/* Compiled shapes, built once. A shape that does not compile never matches (and is logged;
 * test_numbers compiles every shape, so this is a programming error caught in CI). */
static regex_t *compiled;
static bool *compiled_ok;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void gather(void)
{
    size_t n = 0, nr;
    const pp_carrier_t *const *all = pp_carrier_all(&nr);
    for (size_t c = 0; c < nr && c < PP_CARRIERS_MAX; c++)
        n += all[c]->n_formats;
    formats = calloc(n ? n : 1, sizeof *formats);
    compiled = calloc(n ? n : 1, sizeof *compiled);
    compiled_ok = calloc(n ? n : 1, sizeof *compiled_ok);
    if (!formats || !compiled || !compiled_ok) {
        pp_error("number formats: out of memory (no number is valid)");
        return;
    }
    for (size_t c = 0; c < nr && c < PP_CARRIERS_MAX; c++) {
        rows[n_carriers] = all[c];
        carriers[n_carriers++] = all[c]->name;
        for (size_t i = 0; i < all[c]->n_formats; i++)
            formats[n_formats++] = all[c]->formats[i];
    }
}

static void compile_shapes(void)
{
    gather();
    for (size_t i = 0; i < n_formats; i++) {
        int rc = regcomp(&compiled[i], formats[i].shape, REG_EXTENDED | REG_NOSUB);
        compiled_ok[i] = rc == 0;
        if (rc)
            pp_error("number format %s: shape '%s' does not compile", formats[i].id, formats[i].shape);
    }
}

static bool format_matches(size_t i, const char *number)
{
    if (!compiled_ok[i] || regexec(&compiled[i], number, 0, NULL, 0) != 0)
        return false;
    return !formats[i].check_fn || formats[i].check_fn(number);
}

static int carrier_index(const char *carrier)
{
    pthread_once(&compile_once, compile_shapes);
    if (!carrier)
        return -1;
    for (size_t i = 0; i < n_carriers; i++)
        if (strcmp(carriers[i], carrier) == 0)
            return (int)i;
    return -1;
}

const pp_number_format_t *pp_number_formats(size_t *n)
{
    pthread_once(&compile_once, compile_shapes);
    if (n)
        *n = n_formats;
    return formats;
}

const char *const *pp_number_carriers(size_t *n)
{
    pthread_once(&compile_once, compile_shapes);
    if (n)
        *n = n_carriers;
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
    for (size_t i = 0; i < n_formats; i++)
        if (strcmp(formats[i].carrier, carrier) == 0 && format_matches(i, norm))
            return true;
    return false;
}

int pp_number_detect(const char *number, pp_number_candidate_t *out, size_t cap, size_t *n)
{
    pp_number_candidate_t best[PP_CARRIERS_MAX];
    char norm[PP_NUMBER_MAX];
    size_t found = 0;
    if (!number || !n || (!out && cap > 0))
        return PP_EINVAL;
    *n = 0;
    if (pp_number_normalize(number, norm, sizeof norm))
        return PP_OK; /* not a number of any carrier */
    memset(best, 0, sizeof best);
    pthread_once(&compile_once, compile_shapes);
    for (size_t i = 0; i < n_formats; i++) {
        if (!format_matches(i, norm))
            continue;
        int c = carrier_index(formats[i].carrier);
        if (c < 0) /* a row whose carrier field is not its carrier's name */
            continue;
        if (formats[i].confidence > best[c].confidence || !best[c].carrier) {
            if (!best[c].carrier)
                found++;
            best[c] = (pp_number_candidate_t){carriers[c], formats[i].confidence, formats[i].id};
        }
    }
    /* Best first; equal confidence keeps table order (insertion sort is stable). */
    pp_number_candidate_t sorted[PP_CARRIERS_MAX];
    size_t k = 0;
    for (size_t c = 0; c < n_carriers; c++) {
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
 * Synthetic numbers, from each carrier's example: in its template '#' is a free digit and '?'
 * the check character, which its finish() computes; every other character is literal. Each
 * shape was chosen to fit only its own carrier's formats (so detection is unambiguous) and to
 * look like the real thing.
 */
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
    int c = carrier_index(carrier);
    if (!out || c < 0 || !rows[c]->example.tmpl)
        return PP_EINVAL;
    const char *t = rows[c]->example.tmpl;
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
    if (rows[c]->example.finish)
        rows[c]->example.finish(out, len);
    return PP_OK;
}
