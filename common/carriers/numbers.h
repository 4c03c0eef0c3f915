/*
 * numbers.h - tracking-number formats per carrier: validation, carrier detection and valid
 * synthetic numbers (for the demo and tests).
 *
 * Numbers are handled in their normalized form: ASCII letters and digits only, upper-case
 * (pp_number_normalize strips spaces, tabs and dashes and upper-cases). Carrier names are
 * the registry's (carriers/registry.c). Each carrier's formats, their confidence and its
 * example are rows of its descriptor (its adapter file), from research/carriers.md §8; where
 * the research found no check-digit rule the format is checked by shape only.
 * Nothing here allocates memory that the caller must free; every function is thread-safe.
 */
#ifndef PP_CARRIERS_NUMBERS_H
#define PP_CARRIERS_NUMBERS_H

#include "../config.h" /* PP_CARRIERS_MAX */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A normalized number is at most PP_NUMBER_MAX - 1 characters. */
#define PP_NUMBER_MAX 64
/* Detection returns at most one candidate per carrier. */
#define PP_NUMBER_MAX_CANDIDATES PP_CARRIERS_MAX

/* One accepted format of one carrier (a row of its descriptor's formats[]). */
typedef struct pp_number_format {
    const char *carrier; /* "dhl" */
    const char *id;      /* "dhl_parcel_de" */
    const char *shape;   /* anchored POSIX extended regex over the normalized number */
    const char *check;   /* check-digit rule in words, "none" when the format has none */
    bool (*check_fn)(const char *number); /* NULL: shape only */
    int confidence;     /* 0..100: how surely a number of this shape is this carrier's */
    const char *source; /* research/carriers.md grade: "confirmed", "observed", "inferred" */
} pp_number_format_t;

typedef struct pp_number_candidate {
    const char *carrier; /* static string */
    int confidence;      /* 0..100 */
    const char *format;  /* id of the best-matching format, static string */
} pp_number_candidate_t;

/* Every carrier's formats, in registry order (static; *n rows). */
const pp_number_format_t *pp_number_formats(size_t *n);

/* The carrier names, in registry order (static; *n entries). */
const char *const *pp_number_carriers(size_t *n);

/*
 * Strip spaces, tabs and dashes, upper-case. PP_EINVAL if in is NULL, leaves nothing, holds
 * any other character than [0-9A-Za-z], or does not fit in cap (or PP_NUMBER_MAX) bytes.
 */
int pp_number_normalize(const char *in, char *out, size_t cap);

/*
 * True if number, already normalized, fits one of carrier's formats, check digit included.
 * What each adapter's validate() calls. False for NULL, an unknown carrier or a number that
 * is not in normalized form (the stored number is the normalized one).
 */
bool pp_number_valid(const char *carrier, const char *number);

/*
 * Normalize number, then list every carrier one of whose formats it fits (check digits
 * right), best first (confidence, then table order). *n = the number of candidates, which
 * may exceed cap (then only the best cap are written, like snprintf); 0 means invalid for
 * every carrier, more than 1 means ambiguous: the caller must ask, never guess. Returns 0,
 * or PP_EINVAL for a NULL number or n, or a NULL out with cap > 0.
 */
int pp_number_detect(const char *number, pp_number_candidate_t *out, size_t cap, size_t *n);

/*
 * A deterministic, valid synthetic number for carrier into out (cap >= PP_NUMBER_MAX is
 * always enough), in a shape that detection attributes to that carrier alone. Distinct
 * seeds below 10^10 give distinct numbers for every carrier (all 2^64 seeds for InPost).
 * PP_EINVAL for an unknown carrier or a NULL out; PP_ENOMEM if cap is too small.
 */
int pp_number_example(const char *carrier, uint64_t seed, char *out, size_t cap);

#endif
