/* status_print.c - `ppctl status` for a person: one snapshot as sections (workers, rates, carriers, relay and outbox, notifier lag, dead letters, totals). */
#include "status.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static double get_num(const cJSON *o, const char *name, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *get_str(const cJSON *o, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* "12.3s" (decimals, then unit) or "-" for a missing (null) number. */
static const char *fmt_num(char *buf, size_t cap, const cJSON *o, const char *name, int decimals,
                           const char *unit)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v))
        return "-";
    snprintf(buf, cap, "%.*f%s", decimals, v->valuedouble, unit);
    return buf;
}

/* A worker's counters as name=value, nested objects (the pollers' carriers) left out. */
static void print_counters(FILE *out, const cJSON *counters)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, counters)
    {
        if (cJSON_IsNumber(c))
            fprintf(out, " %s=%.0f", c->string, c->valuedouble);
        else if (cJSON_IsBool(c))
            fprintf(out, " %s=%s", c->string, cJSON_IsTrue(c) ? "true" : "false");
    }
}

static void print_workers(FILE *out, const cJSON *st)
{
    const cJSON *w, *arr = cJSON_GetObjectItemCaseSensitive(st, "workers");
    fprintf(out, "  %-9s %-24s %-16s %7s %-20s %6s %-7s %s\n", "KIND", "ID", "HOST", "PID",
            "STARTED", "BEAT", "STATE", "COUNTERS");
    cJSON_ArrayForEach(w, arr)
    {
        char beat[32];
        fprintf(out, "  %-9s %-24s %-16s %7.0f %-20s %6s %-7s", get_str(w, "kind", "?"),
                get_str(w, "id", "?"), get_str(w, "host", "?"), get_num(w, "pid", 0),
                get_str(w, "started", "?"),
                fmt_num(beat, sizeof beat, w, "heartbeat_age_s", 1, "s"), get_str(w, "state", "?"));
        print_counters(out, cJSON_GetObjectItemCaseSensitive(w, "counters"));
        fputc('\n', out);
    }
}

static void print_carriers(FILE *out, const cJSON *st)
{
    const cJSON *c, *arr = cJSON_GetObjectItemCaseSensitive(st, "carriers");
    const cJSON *first = cJSON_GetArrayItem(arr, 0),
                *due = cJSON_GetObjectItemCaseSensitive(st, "due_backlog");
    fprintf(out,
            "carriers (breaker of %.0f live pollers and bots; 429s and errors in the last 5 min; requests "
            "a second over the last minute, today's in carrier_usage; due = waiting for a poller):\n",
            get_num(first, "clients", 0));
    fprintf(out, "  %-13s %-9s %5s %5s %7s %6s %9s %9s %7s %8s %8s %8s\n", "CARRIER", "BREAKER",
            "429s", "ERRS", "REQ/S", "LIMIT", "TODAY", "LIMIT", "DUE", "LATE p50", "p99", "max");
    cJSON_ArrayForEach(c, arr)
    {
        char b[3][32], lim[2][32];
        double ls = get_num(c, "limit_per_s", 0), ld = get_num(c, "limit_per_day", 0);
        snprintf(lim[0], sizeof lim[0], "%.0f", ls);
        snprintf(lim[1], sizeof lim[1], "%.0f", ld);
        if (ls <= 0) /* unlimited */
            strcpy(lim[0], "-");
        if (ld <= 0)
            strcpy(lim[1], "-");
        fprintf(out, "  %-13s %-9s %5.0f %5.0f %7.1f %6s %9.0f %9s %7.0f %8s %8s %8s\n",
                get_str(c, "carrier", "?"), get_str(c, "breaker", "?"),
                get_num(c, "rate_limited_5m", 0), get_num(c, "errors_5m", 0),
                get_num(c, "requests_per_s", 0), lim[0], get_num(c, "requests_today", 0), lim[1],
                get_num(c, "due", 0), fmt_num(b[0], sizeof b[0], c, "late_p50_s", 1, "s"),
                fmt_num(b[1], sizeof b[1], c, "late_p99_s", 1, "s"),
                fmt_num(b[2], sizeof b[2], c, "late_max_s", 1, "s"));
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(due, "capped")))
        fprintf(out, "  (at least %.0f due: only the oldest were counted)\n",
                get_num(due, "waiting", 0));
}

static void print_pipeline(FILE *out, const ppctl_t *ctl, const cJSON *st)
{
    const cJSON *relay = cJSON_GetObjectItemCaseSensitive(st, "relay");
    const cJSON *ob = cJSON_GetObjectItemCaseSensitive(st, "outbox");
    const cJSON *nl = cJSON_GetObjectItemCaseSensitive(st, "notifier_lag");
    const cJSON *dlq = cJSON_GetObjectItemCaseSensitive(st, "dlq");
    char b[4][32];
    const cJSON *age = cJSON_GetObjectItemCaseSensitive(ob, "oldest_unpublished_age_s");
    fprintf(out, "relay: %s%s%s; outbox: %.0f%s unpublished%s%s%s\n",
            get_str(relay, "holder", "no live poller holds it"),
            get_str(relay, "host", NULL) ? " on " : "", get_str(relay, "host", ""),
            get_num(ob, "unpublished", 0),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ob, "capped")) ? "+" : "",
            cJSON_IsNumber(age) ? ", the oldest " : "",
            cJSON_IsNumber(age) ? fmt_num(b[0], sizeof b[0], ob, "oldest_unpublished_age_s", 1, "s")
                                : "",
            cJSON_IsNumber(age) ? " old" : "");
    fprintf(out, "notifier lag (group %s): events %s, IM link codes %s; by partition:",
            get_str(nl, "group", "?"), fmt_num(b[1], sizeof b[1], nl, "events", 0, ""),
            fmt_num(b[2], sizeof b[2], nl, "im_link", 0, ""));
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(nl, "partitions"))
    {
        bool events = strcmp(get_str(p, "topic", ""), ctl->cfg.topic) == 0;
        fprintf(out, " %s%.0f:%.0f", events ? "" : "im", get_num(p, "partition", 0),
                get_num(p, "lag", 0));
    }
    fprintf(out, "\ndead letters (%s): %s messages\n", get_str(dlq, "topic", "?"),
            fmt_num(b[3], sizeof b[3], dlq, "messages", 0, ""));
}

static void print_counts(FILE *out, const ppctl_t *ctl, const ppctl_counts_t *s)
{
    if (s->workers_bot > 0)
        fprintf(out,
                "bot: %lld asks, %lld answered from Postgres, %lld live calls (%lld asks "
                "coalesced), refused: %lld day share used up, %lld breaker open, %lld "
                "Retry-After\n",
                s->bot_asks, s->bot_db, s->bot_live_calls, s->bot_coalesced, s->bot_refused_quota,
                s->bot_refused_breaker, s->bot_refused_paused);
    const char *est = s->estimated ? "~" : ""; /* the planner's estimates (--exact counts) */
    if (s->estimated)
        fprintf(out, "totals: estimates (~) from the planner's statistics; --exact counts them\n");
    fprintf(out, "shipments: %s%lld (%s%lld terminal, %s%lld due now)\n", est, s->total, est,
            s->terminal, s->due >= 10000 && s->estimated ? "at least " : "", s->due);
    for (int i = 0; i < s->n_status; i++)
        fprintf(out, "  %-22s %s%lld\n", s->status_names[i], est, s->by_status[i]);
    fprintf(out, "events: %s%lld written, %lld not yet in Kafka\n", est, s->events, s->unpublished);
    fprintf(out, "notifications: %s%lld sent, %s%lld skipped, %s%lld in flight, %s%lld failed\n",
            est, s->sent, est, s->skipped, est, s->sending, est, s->failed);
    fprintf(out, "consumer lag (%s): %lld%s\n", ctl->cfg.group_id, s->lag,
            s->lag < 0 ? " (unknown)" : "");
}

void ppctl_status_print(FILE *out, const ppctl_t *ctl, const ppctl_counts_t *s, const cJSON *st)
{
    const cJSON *rates = cJSON_GetObjectItemCaseSensitive(st, "rates");
    fprintf(out, "parcelpush at %s\n", get_str(st, "time", "?"));
    fprintf(out, "workers live: %lld pollers, %lld notifiers, %lld bots\n", s->workers_poller,
            s->workers_notifier, s->workers_bot);
    print_workers(out, st);
    fprintf(out, "rates (last %.0f s): %.1f events/s, %.1f IMs/s\n", get_num(rates, "window_s", 60),
            get_num(rates, "events_per_s", 0), get_num(rates, "ims_per_s", 0));
    print_carriers(out, st);
    print_pipeline(out, ctl, st);
    print_counts(out, ctl, s);
}
