/*
 * fuzz_event.c - the notifier's poison gate: pp_event_decode (shipment-status.v1) and
 * pp_link_event_decode (im-link-code.v1) on the same bytes. Beyond "no crash": what decodes
 * encodes again and decodes to the same event (a valid event survives the relay), and its
 * strings pass check.c.
 */
#include "err.h"
#include "event.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void check_event(const pp_event_t *ev)
{
    fuzz_check_string("carrier", ev->carrier, sizeof ev->carrier);
    fuzz_check_string("tracking_number", ev->tracking_number, sizeof ev->tracking_number);
    fuzz_check_string("carrier_status", ev->carrier_status, sizeof ev->carrier_status);
    fuzz_check_string("carrier_status_text", ev->carrier_status_text, sizeof ev->carrier_status_text);
    fuzz_check_string("location", ev->location, sizeof ev->location);
    fuzz_check_time("occurred_at", ev->occurred_at);
    fuzz_check_time("detected_at", ev->detected_at);
}

static void roundtrip(const pp_event_t *ev)
{
    char *json = NULL, err[256];
    pp_event_t again;
    if (pp_event_encode(ev, &json) != PP_OK)
        fuzz_fail("a decoded event does not encode");
    if (pp_event_decode(json, strlen(json), &again, err, sizeof err) != PP_OK)
        fuzz_fail("a decoded event, encoded again, does not decode: %s: %s", err, json);
    if (memcmp(ev, &again, sizeof again) != 0)
        fuzz_fail("a decoded event, encoded and decoded again, differs: %s", json);
    free(json);
}

static void link_roundtrip(const pp_link_event_t *ev)
{
    char *json = NULL, err[256];
    pp_link_event_t again;
    fuzz_check_string("address", ev->address, sizeof ev->address);
    fuzz_check_string("channel", ev->channel, sizeof ev->channel);
    fuzz_check_string("locale", ev->locale, sizeof ev->locale);
    fuzz_check_time("expires_at", ev->expires_at);
    if (pp_link_event_encode(ev, &json) != PP_OK)
        fuzz_fail("a decoded link event does not encode");
    if (pp_link_event_decode(json, strlen(json), &again, err, sizeof err) != PP_OK)
        fuzz_fail("a decoded link event, encoded again, does not decode: %s: %s", err, json);
    if (memcmp(ev, &again, sizeof again) != 0)
        fuzz_fail("a decoded link event, encoded and decoded again, differs: %s", json);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Kafka payloads are not NUL-terminated: decode from an exact-size copy. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    pp_event_t *ev = calloc(1, sizeof *ev);
    pp_link_event_t *lev = calloc(1, sizeof *lev);
    char err[256];
    if (!ev || !lev)
        abort();
    if (pp_event_decode(buf, size, ev, err, sizeof err) == PP_OK) {
        check_event(ev);
        roundtrip(ev);
    }
    if (pp_link_event_decode(buf, size, lev, err, sizeof err) == PP_OK)
        link_roundtrip(lev);
    free(lev);
    free(ev);
    free(buf);
    return 0;
}
