/* event.h - the shipment-status.v1 Kafka event: struct, JSON encoder and validating decoder. */
#ifndef PP_EVENT_H
#define PP_EVENT_H

#include "status.h"

#include <stddef.h>
#include <time.h>

#define PP_EVENT_SCHEMA_VERSION 1

/* PP_EV_IM_LINK_CODE is never on the shipment-status topic: the notifier uses it for the
 * ledger rows of im-link-code.v1 events (pp_link_event_t). */
typedef enum {
    PP_EV_NUMBER_ENTERED = 0,
    PP_EV_STATUS_CHANGED = 1,
    PP_EV_IM_LINK_CODE = 2
} pp_event_kind_t;

typedef struct pp_event {
    char event_id[37]; /* UUID, lower-case text */
    int schema_version;
    pp_event_kind_t kind;
    long long shipment_id;
    long long transaction_id;
    char carrier[32];
    char tracking_number[64];
    pp_status_t previous_status; /* PP_ST_UNKNOWN = none (JSON null) */
    pp_status_t status;
    char carrier_status[64];       /* carrier's raw code, "" if none */
    char carrier_status_text[256]; /* carrier's raw text, "" if none */
    char location[128];            /* e.g. locker id "KRA01M", "" if none */
    time_t occurred_at;            /* carrier time, UTC */
    time_t detected_at;            /* when parcelpush saw it, UTC */
    long long sequence;            /* per shipment, strictly increasing */
} pp_event_t;

const char *pp_event_kind_name(pp_event_kind_t k);
/* Fresh random UUID into ev->event_id. */
void pp_event_new_id(pp_event_t *ev);
/* Encode to compact JSON; *out is malloc'd, caller frees. */
int pp_event_encode(const pp_event_t *ev, char **out) __attribute__((warn_unused_result));
/*
 * Decode and validate (types, required fields, known statuses, UUID shape).
 * On error returns PP_EPARSE with a human-readable reason in err.
 */
int pp_event_decode(const char *json, size_t len, pp_event_t *ev, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * im-link-code.v1 (schema/events/im-link-code.v1.json): a one-time code that proves a buyer
 * owns an IM address. pp-api writes it to the outbox; the notifier sends it to `address`
 * if it is still the buyer's pending link when it is about to send.
 */
#define PP_LINK_CODE_MAX 16
typedef struct pp_link_event {
    char event_id[37];
    long long user_id;
    char channel[16];
    char address[256];
    char code[PP_LINK_CODE_MAX];
    char locale[8];
    time_t expires_at;
} pp_link_event_t;

int pp_link_event_encode(const pp_link_event_t *ev, char **out) __attribute__((warn_unused_result));
/* Decode and validate; PP_EPARSE with a reason in err. */
int pp_link_event_decode(const char *json, size_t len, pp_link_event_t *ev, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
