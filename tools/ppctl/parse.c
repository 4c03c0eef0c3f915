/* parse.c - `ppctl parse`: run a carrier adapter's parser on a captured response body. */
#include "ppctl.h"

#include "carriers/carrier.h"
#include "err.h"
#include "timeutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *event_json(const pp_track_event_t *e)
{
    char t[PP_TIME_ISO_LEN];
    cJSON *o = cJSON_CreateObject();
    pp_time_format(e->occurred_at, t);
    cJSON_AddStringToObject(o, "status", pp_status_name(e->status));
    cJSON_AddStringToObject(o, "carrier_status", e->carrier_code);
    cJSON_AddStringToObject(o, "occurred_at", t);
    cJSON_AddStringToObject(o, "location", e->location);
    cJSON_AddStringToObject(o, "description", e->description);
    return o;
}

/* Reads the whole file (or stdin for "-"), NUL-terminated; NULL on error (after a message). */
static char *read_body(const char *file, size_t *lenp)
{
    FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "ppctl parse: %s: %s\n", file, strerror(errno));
        return NULL;
    }
    char *body = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(body, cap);
            if (!nb) {
                free(body);
                body = NULL;
                break;
            }
            body = nb;
        }
        got = fread(body + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    if (f != stdin)
        fclose(f);
    if (!body)
        return NULL;
    body[len] = '\0';
    *lenp = len;
    return body;
}

/* Prints one parsed result as a JSON line: the newest event's fields, then all events. */
static void print_result(const pp_carrier_t *c, const pp_track_result_t *r)
{
    cJSON *o;
    if (r->n_events > 0) {
        o = event_json(&r->events[r->n_events - 1]);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", r->found ? "info_received" : "not_found_yet");
        cJSON_AddNullToObject(o, "carrier_status");
        cJSON_AddNullToObject(o, "occurred_at");
        cJSON_AddNullToObject(o, "location");
        cJSON_AddNullToObject(o, "description");
    }
    cJSON_AddStringToObject(o, "tracking_number", r->tracking_number);
    cJSON_AddStringToObject(o, "carrier", c->name);
    cJSON_AddBoolToObject(o, "found", r->found);
    if (r->pickup_point[0])
        cJSON_AddStringToObject(o, "pickup_point", r->pickup_point);
    if (r->pickup_address[0])
        cJSON_AddStringToObject(o, "pickup_address", r->pickup_address);
    if (r->pickup_deadline) {
        char t[PP_TIME_ISO_LEN];
        pp_time_format(r->pickup_deadline, t);
        cJSON_AddStringToObject(o, "pickup_deadline", t);
    }
    cJSON *evs = cJSON_AddArrayToObject(o, "events");
    for (size_t k = 0; k < r->n_events; k++)
        cJSON_AddItemToArray(evs, event_json(&r->events[k]));
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
}

int ppctl_parse(ppctl_t *ctl, int argc, char **argv)
{
    const char *name = NULL, *file = NULL;
    long long http = 200;
    (void)ctl;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--carrier")) {
            if (!(name = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else if (!strcmp(argv[i], "--http-status")) {
            if (!(v = ppctl_optarg(argc, argv, &i)) ||
                ppctl_parse_ll("--http-status", v, 100, 599, &http))
                return 2;
        } else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !file) { /* "-": stdin */
            file = argv[i];
        } else {
            fprintf(stderr, "ppctl parse: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!name || !file) {
        fprintf(stderr, "usage: ppctl parse --carrier NAME [--http-status N] FILE|-\n");
        return 2;
    }
    const pp_carrier_t *c = pp_carrier_find(name);
    if (!c) {
        size_t n;
        const pp_carrier_t *const *all = pp_carrier_all(&n);
        fprintf(stderr, "ppctl parse: unknown carrier '%s'; known:", name);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", all[i]->name);
        fputc('\n', stderr);
        return 2;
    }
    size_t len = 0;
    char *body = read_body(file, &len);
    if (!body)
        return 1;
    pp_track_result_t *res = NULL;
    size_t n = 0;
    char err[512] = "";
    int rc = pp_carrier_parse(c, (int)http, body, len, &res, &n, err, sizeof err);
    free(body);
    if (rc) {
        fprintf(stderr, "ppctl parse: %s response in %s (HTTP %lld): %s: %s\n", c->display, file,
                http, pp_strerror(rc), err);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        print_result(c, &res[i]);
    pp_track_results_free(res, n);
    return 0;
}
