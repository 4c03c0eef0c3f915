/* inpost.c - renders simulator scenarios in the InPost ShipX tracking shape (field names as the real API). */
#include "inpost.h"
#include "err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *status;
    const char *origin;
} shipx_name_t;

static shipx_name_t step_name(pp_sim_step_kind_t k, int to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED: return (shipx_name_t){"confirmed", "PWW"};
    case PP_SIM_DROPPED_AT_LOCKER: return (shipx_name_t){"dispatched_by_sender", "NAD"};
    case PP_SIM_COLLECTED: return (shipx_name_t){"collected_from_sender", "ODK"};
    case PP_SIM_TAKEN_FROM_LOCKER: return (shipx_name_t){"taken_by_courier", "OKN"};
    case PP_SIM_SOURCE_BRANCH_IN: return (shipx_name_t){"adopted_at_source_branch", "PNO"};
    case PP_SIM_SOURCE_BRANCH_OUT: return (shipx_name_t){"sent_from_source_branch", "WOD"};
    case PP_SIM_SORTING_IN: return (shipx_name_t){"adopted_at_sorting_center", "PSO"};
    case PP_SIM_SORTING_OUT: return (shipx_name_t){"sent_from_sorting_center", "WSO"};
    case PP_SIM_TARGET_BRANCH_IN: return (shipx_name_t){"adopted_at_target_branch", "PDD"};
    case PP_SIM_OUT_FOR_DELIVERY: return (shipx_name_t){"out_for_delivery", "WDR"};
    case PP_SIM_NOTICE_LEFT: return (shipx_name_t){"avizo", "AWI"};
    case PP_SIM_UNDELIVERED: return (shipx_name_t){"undelivered", "NDR"};
    case PP_SIM_READY_AT_LOCKER: return (shipx_name_t){"ready_to_pickup", "UMP"};
    case PP_SIM_PICKUP_REMINDER: return (shipx_name_t){"pickup_reminder_sent", "PRZ"};
    case PP_SIM_DELIVERED: return (shipx_name_t){"delivered", to_locker ? "ODB" : "DOR"};
    }
    return (shipx_name_t){"other", "INN"};
}

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void put(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf_t *b, const char *fmt, ...)
{
    while (!b->oom) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

int pp_sim_inpost_number_ok(const char *number)
{
    size_t n = strlen(number);
    if (n != 24)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)number[i]))
            return 0;
    return 1;
}

static void machine_json(sbuf_t *b, const char *id)
{
    put(b,
        "{\"name\":\"%s\",\"opening_hours\":\"24/7\",\"location_description\":\"Przy wejściu do "
        "sklepu\",\"address\":{\"line1\":\"ul. Testowa %d\",\"line2\":\"00-%03d %.3s\"},"
        "\"type\":[\"parcel_locker\"]}",
        id, (id[3] - '0') * 10 + (id[4] - '0'), (int)(pp_sim_hash(id) % 1000), id);
}

int pp_sim_inpost_body(const char *number, const pp_sim_scenario_t *sc, int visible, time_t origin,
                       char **out, size_t *len)
{
    char created[40], updated[40], dt[40];
    sbuf_t b = {0};
    if (visible < 1 || visible > sc->n_steps)
        return PP_EINVAL;
    b.cap = 4096;
    if (!(b.p = malloc(b.cap)))
        return PP_ENOMEM;
    const pp_sim_step_t *newest = &sc->steps[visible - 1];
    const char *service = sc->to_locker ? "inpost_locker_standard" : "inpost_courier_standard";
    pp_sim_format_warsaw(origin + (time_t)sc->steps[0].at_s, created);
    pp_sim_format_warsaw(origin + (time_t)newest->at_s, updated);
    put(&b, "{\"href\":\"https://api-shipx-pl.easypack24.net/v1/tracking/%s\",\"tracking_number\":\"%s\","
            "\"service\":\"%s\",\"type\":\"%s\",\"status\":\"%s\",\"custom_attributes\":{",
        number, number, service, service, step_name(newest->kind, sc->to_locker).status);
    if (sc->to_locker) {
        put(&b, "\"size\":\"%c\",\"target_machine_id\":\"%s\",\"target_machine_detail\":", sc->size,
            sc->locker_id);
        machine_json(&b, sc->locker_id);
        put(&b, ",");
    } else {
        put(&b, "\"target_machine_id\":null,\"target_machine_detail\":null,");
    }
    if (sc->from_locker) {
        put(&b, "\"dropoff_machine_id\":\"%s\",\"dropoff_machine_detail\":", sc->dropoff_id);
        machine_json(&b, sc->dropoff_id);
    } else {
        put(&b, "\"dropoff_machine_id\":null,\"dropoff_machine_detail\":null");
    }
    put(&b, ",\"end_of_week_collection\":false},\"created_at\":\"%s\",\"updated_at\":\"%s\","
            "\"tracking_details\":[", created, updated);
    for (int i = visible - 1; i >= 0; i--) {
        const pp_sim_step_t *s = &sc->steps[i];
        shipx_name_t nm = step_name(s->kind, sc->to_locker);
        pp_sim_format_warsaw(origin + (time_t)s->at_s, dt);
        put(&b, "%s{\"status\":\"%s\",\"origin_status\":\"%s\",", i == visible - 1 ? "" : ",",
            nm.status, nm.origin);
        if (s->place[0])
            put(&b, "\"agency\":\"%s\",", s->place);
        else
            put(&b, "\"agency\":null,");
        if (s->kind == PP_SIM_DROPPED_AT_LOCKER)
            put(&b, "\"location\":\"%s\",", sc->dropoff_id);
        else
            put(&b, "\"location\":null,");
        put(&b, "\"datetime\":\"%s\"}", dt);
    }
    put(&b, "],\"expected_flow\":[]}");
    if (b.oom) {
        free(b.p);
        return PP_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return PP_OK;
}

size_t pp_sim_inpost_error(int status, const char *error, const char *description, char *out,
                           size_t outlen)
{
    int n = snprintf(out, outlen, "{\"status\":%d,\"error\":\"%s\",\"description\":\"%s\",\"details\":null}",
                     status, error, description);
    if (n < 0)
        return 0;
    return (size_t)n < outlen ? (size_t)n : outlen - 1;
}
