/* carrier_metrics.c - the carrier client's series, <prefix>_<family>{carrier="..."[,label="..."]}: looked up per update, or kept from the first (pp_cc_metric_kept: what every request updates). */
#include "carrier_client_internal.h"

#include <stdio.h>

static pp_metric_t *cc_series(pp_cc_t *cc, bool counter, const char *family, const char *carrier,
                              const char *l2, const char *v2)
{
    char s[256];
    if (l2)
        snprintf(s, sizeof s, "%s_%s{carrier=\"%s\",%s=\"%s\"}", cc->o.prefix, family, carrier, l2, v2);
    else
        snprintf(s, sizeof s, "%s_%s{carrier=\"%s\"}", cc->o.prefix, family, carrier);
    return counter ? pp_metrics_counter(cc->o.metrics, s) : pp_metrics_gauge(cc->o.metrics, s);
}

static void cc_update(pp_metric_t *s, bool counter, double v)
{
    if (counter)
        pp_metric_add(s, v);
    else
        pp_metric_set(s, v);
}

void pp_cc_metric(pp_cc_t *cc, bool counter, const char *family, const char *carrier,
                  const char *l2, const char *v2, double v)
{
    cc_update(cc_series(cc, counter, family, carrier, l2, v2), counter, v);
}

void pp_cc_metric_kept(pp_cc_t *cc, pp_metric_t **slot, bool counter, const char *family,
                       const char *carrier, const char *l2, const char *v2, double v)
{
    if (!*slot)
        *slot = cc_series(cc, counter, family, carrier, l2, v2);
    cc_update(*slot, counter, v);
}

void pp_cc_gauge(pp_cc_t *cc, const char *family, double v)
{
    char s[128];
    snprintf(s, sizeof s, "%s_%s", cc->o.prefix, family);
    pp_metrics_set(cc->o.metrics, s, v);
}

void pp_cc_help(pp_cc_t *cc, const char *family, const char *type, const char *text)
{
    char s[128];
    snprintf(s, sizeof s, "%s_%s", cc->o.prefix, family);
    pp_metrics_help(cc->o.metrics, s, type, text);
}
