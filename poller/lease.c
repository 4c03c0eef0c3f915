/* lease.c - the poller's in-flight count: raised when a claimed shipment is dispatched, lowered only here when it is written back or released. */
#include "poller.h"

static void gauges(pp_poller_t *p)
{
    if (!p->m_inflight)
        p->m_inflight = pp_metrics_gauge(p->metrics, "pp_poller_inflight");
    if (!p->m_leases)
        p->m_leases = pp_metrics_gauge(p->metrics, "pp_poller_leases_held");
    pp_metric_set(p->m_inflight, p->inflight);
    pp_metric_set(p->m_leases, p->inflight);
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
