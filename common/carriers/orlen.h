/* orlen.h - what the ORLEN Paczka adapter's files share: orlen.c (the adapter, the JSONP answer) on top, orlen_soap.c (the SOAP answer), orlen_codes.c (Trans codes) below both. */
#ifndef PP_CARRIERS_ORLEN_H
#define PP_CARRIERS_ORLEN_H

#include "carrier.h"

#include <stddef.h>

#define ORLEN_OP "GiveMePackStatusFullHistoryList"
#define ORLEN_ARCHIVED                                                                             \
    888 /* Trans code of archiving: not a parcel event, dropped by both parsers */

/* The status of a Trans code (+ SOAP Attribute, + label for 690 in the public tracker). */
pp_status_t pp_orlen_map_code(int code, const char *attribute, const char *label);
/* Strict non-negative integer up to 10^6 (leading zeros allowed): PP_OK or PP_EPARSE. */
int pp_orlen_parse_int(const char *s, long *out) __attribute__((warn_unused_result));
/* The partner SOAP answer (GiveMePackStatusFullHistoryList), as carrier.h's parse_raw. */
int pp_orlen_parse_soap(int http_status, const char *body, size_t len, pp_track_result_t **results,
                        size_t *n_results, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
