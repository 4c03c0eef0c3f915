/* shipment.h - entering a tracking number: shipment row + number_entered event + outbox, atomically. */
#ifndef PP_SHIPMENT_H
#define PP_SHIPMENT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pp_shipment_entry {
    long long transaction_id;
    const char *carrier;         /* registry name, e.g. "inpost" */
    const char *tracking_number; /* as entered (spaces stripped by the caller) */
    const char *topic;           /* Kafka topic of the outbox row */
} pp_shipment_entry_t;

/*
 * Validate the number for the carrier, then in one transaction: create the shipment
 * (due for an immediate poll), its first shipment_events row (kind number_entered,
 * status info_received, sequence 1) and the outbox row. The same entry twice is
 * idempotent: *created = false and the existing id is returned, no new event.
 * Errors: PP_EINVAL (unknown carrier / invalid number), PP_ENOTFOUND (no such
 * transaction), PP_EDB. err gets a sentence naming what failed.
 */
int pp_shipment_enter(PGconn *conn, const pp_shipment_entry_t *e, long long *shipment_id,
                      bool *created, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
