/* lease.c - the poller's in-flight count: raised when a claimed shipment is dispatched, lowered only here when it is written back or released. */
#include "poller.h"

static void gauges(pp_poller_t *p)
{
    pp_metrics_set(p->metrics, "pp_poller_inflight", p->inflight);
    pp_metrics_set(p->metrics, "pp_poller_leases_held", p->inflight);
}

void pp_leases_taken(pp_poller_t *p, int n)
{
    p->inflight += n;
    gauges(p);
}

void pp_leases_done(pp_poller_t *p, int n)
{
    p->inflight -= n;
    gauges(p);
    p->progress(p);
}
