/* template.h - renders the buyer's IM text for a shipment event (Polish default, English). */
#ifndef PP_TEMPLATE_H
#define PP_TEMPLATE_H

#include "event.h"

#include <stddef.h>

/* Display name of a carrier code ("inpost" -> "InPost"); the code itself if unknown. */
const char *pp_template_carrier_name(const char *carrier);

/*
 * Render `Paczka <Carrier> <tracking number>: <text>` (locale "en": `Parcel ...`) into out.
 * locale NULL or anything but "en" means Polish. Returns 0, PP_EINVAL for a status that is
 * never notified (unknown, not_found_yet), or PP_EINVAL if out is too small.
 */
int pp_template_render(const pp_event_t *ev, const char *locale, char *out, size_t outlen)
    __attribute__((warn_unused_result));

/*
 * The IM-link verification message for ev (its code, valid `minutes` more), in ev->locale
 * (Polish unless "en"). 0 or PP_EINVAL when out is too small.
 */
int pp_template_link_code(const pp_link_event_t *ev, long minutes, char *out, size_t outlen)
    __attribute__((warn_unused_result));

#endif
