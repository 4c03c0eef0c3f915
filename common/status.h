/* status.h - the normalized shipment status model and its key-change (monotonicity) rules. */
#ifndef PP_STATUS_H
#define PP_STATUS_H

#include <stdbool.h>

typedef enum {
    PP_ST_UNKNOWN = 0,   /* carrier code we cannot map: never a key change */
    PP_ST_NOT_FOUND_YET, /* carrier does not know the number yet */
    PP_ST_INFO_RECEIVED, /* number entered / label created, no scan yet */
    PP_ST_IN_TRANSIT,
    PP_ST_OUT_FOR_DELIVERY,
    PP_ST_AVAILABLE_FOR_PICKUP, /* locker or pickup point */
    PP_ST_DELIVERED,            /* terminal */
    PP_ST_DELIVERY_FAILED,      /* side state: an attempt failed */
    PP_ST_EXCEPTION,            /* side state: held, damaged, customs... */
    PP_ST_RETURNING,
    PP_ST_RETURNED, /* terminal */
    PP_ST_EXPIRED,  /* terminal: no update for too long */
    PP_ST__COUNT
} pp_status_t;

/* Stable wire/DB name ("in_transit", ...); "unknown" for out-of-range values. */
const char *pp_status_name(pp_status_t st);
/* Short human label, Polish or English ("czeka na odbiór" / "ready for pickup"): the one
 * wording of the payment card, its page and the bot. Out-of-range -> "status nieznany". */
const char *pp_status_label(pp_status_t st, bool english);
/* 0 and *out set, or PP_EINVAL for a name that is not a status. */
int pp_status_parse(const char *name, pp_status_t *out);
bool pp_status_is_terminal(pp_status_t st);
/* Position on the main line (info_received 1 ... delivered 5); 0 for side states. */
int pp_status_rank(pp_status_t st);

/*
 * Apply one observed status to a shipment whose current status is *cur and whose
 * highest main-line rank reached is *progress. Returns true (and updates both) when
 * `next` is a key change; false when it is a repeat, unknown, or would move backwards.
 */
bool pp_status_advance(pp_status_t *cur, int *progress, pp_status_t next);

#endif
