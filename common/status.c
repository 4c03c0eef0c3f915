/* status.c - normalized status names, ranks and the forward-only transition rule. */
#include "status.h"
#include "err.h"

#include <string.h>

static const char *const names[PP_ST__COUNT] = {
    [PP_ST_UNKNOWN] = "unknown",
    [PP_ST_NOT_FOUND_YET] = "not_found_yet",
    [PP_ST_INFO_RECEIVED] = "info_received",
    [PP_ST_IN_TRANSIT] = "in_transit",
    [PP_ST_OUT_FOR_DELIVERY] = "out_for_delivery",
    [PP_ST_AVAILABLE_FOR_PICKUP] = "available_for_pickup",
    [PP_ST_DELIVERED] = "delivered",
    [PP_ST_DELIVERY_FAILED] = "delivery_failed",
    [PP_ST_EXCEPTION] = "exception",
    [PP_ST_RETURNING] = "returning",
    [PP_ST_RETURNED] = "returned",
    [PP_ST_EXPIRED] = "expired",
};

const char *pp_status_name(pp_status_t st)
{
    if ((int)st < 0 || st >= PP_ST__COUNT)
        return "unknown";
    return names[st];
}

/* The one label table: the payment card, its web page and the bot show these words. */
static const char *const labels[PP_ST__COUNT][2] = {
    [PP_ST_UNKNOWN] = {"status nieznany", "unknown status"},
    [PP_ST_NOT_FOUND_YET] = {"przewoźnik jeszcze nie zna przesyłki", "not yet known to the carrier"},
    [PP_ST_INFO_RECEIVED] = {"przewoźnik otrzymał dane przesyłki", "shipment details received"},
    [PP_ST_IN_TRANSIT] = {"w drodze", "in transit"},
    [PP_ST_OUT_FOR_DELIVERY] = {"wydana do doręczenia", "out for delivery"},
    [PP_ST_AVAILABLE_FOR_PICKUP] = {"czeka na odbiór", "ready for pickup"},
    [PP_ST_DELIVERED] = {"doręczona", "delivered"},
    [PP_ST_DELIVERY_FAILED] = {"nieudana próba doręczenia", "delivery attempt failed"},
    [PP_ST_EXCEPTION] = {"problem z przesyłką", "a problem with the shipment"},
    [PP_ST_RETURNING] = {"wraca do nadawcy", "returning to the sender"},
    [PP_ST_RETURNED] = {"zwrócona do nadawcy", "returned to the sender"},
    [PP_ST_EXPIRED] = {"śledzenie zakończone", "tracking ended"},
};

const char *pp_status_label(pp_status_t st, bool english)
{
    if ((int)st < 0 || st >= PP_ST__COUNT)
        st = PP_ST_UNKNOWN;
    return labels[st][english ? 1 : 0];
}

int pp_status_parse(const char *name, pp_status_t *out)
{
    if (!name)
        return PP_EINVAL;
    for (int i = 0; i < PP_ST__COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (pp_status_t)i;
            return PP_OK;
        }
    }
    return PP_EINVAL;
}

bool pp_status_is_terminal(pp_status_t st)
{
    return st == PP_ST_DELIVERED || st == PP_ST_RETURNED || st == PP_ST_EXPIRED;
}

int pp_status_rank(pp_status_t st)
{
    switch (st) {
    case PP_ST_INFO_RECEIVED: return 1;
    case PP_ST_IN_TRANSIT: return 2;
    case PP_ST_OUT_FOR_DELIVERY: return 3;
    case PP_ST_AVAILABLE_FOR_PICKUP: return 4;
    case PP_ST_DELIVERED: return 5;
    default: return 0;
    }
}

static bool is_side(pp_status_t st) { return st == PP_ST_DELIVERY_FAILED || st == PP_ST_EXCEPTION; }

bool pp_status_advance(pp_status_t *cur, int *progress, pp_status_t next)
{
    if (next == *cur || next <= PP_ST_NOT_FOUND_YET || next >= PP_ST__COUNT)
        return false;
    if (pp_status_is_terminal(*cur))
        return false;

    int r = pp_status_rank(next);
    if (r > 0) {
        /* Main line: forward only. A parcel on its way back never resumes it. */
        if (*cur == PP_ST_RETURNING)
            return false;
        if (r > *progress || (is_side(*cur) && r >= *progress && r > 1)) {
            *cur = next;
            if (r > *progress)
                *progress = r;
            return true;
        }
        return false;
    }
    switch (next) {
    case PP_ST_DELIVERY_FAILED:
    case PP_ST_EXCEPTION:
        if (*cur == PP_ST_RETURNING)
            return false;
        *cur = next;
        return true;
    case PP_ST_RETURNING:
    case PP_ST_RETURNED:
    case PP_ST_EXPIRED: *cur = next; return true;
    default: return false;
    }
}
