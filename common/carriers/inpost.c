/* inpost.c - InPost ShipX adapter: GET /v1/tracking/{number}, parse tracking_details, map statuses. */
#include "carrier.h"
#include "numbers.h"
#include "../err.h"
#include "../text.h"
#include "../timeutil.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "inpost", (k))

/*
 * Tracking-number formats (numbers.c detects over every carrier's; sources: research/
 * carriers.md §8, jkeen/tracking_number_data). Confidence: how surely a number of this shape,
 * check digit right, is this carrier's; a shape other carriers share gets less.
 * No check-digit rule was found (research §8 "[not found]"): shape only, any digits.
 */
static const pp_number_format_t formats[] = {
    {"inpost", "inpost_24", "^[0-9]{24}$", "none (not found)", NULL, 80, "observed"},
    {"inpost", "inpost_19", "^[0-9]{19}$", "none (not found)", NULL, 50, "observed"},
};

/* Configuration keys: inpost_<name> (PP_INPOST_<NAME>), docs/config.md. */
enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_TOKEN };
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] = {"rps", PP_CFG_INT, "10", 0, 100000, true, false,
                            "fleet-wide InPost ShipX requests/s (0 = unlimited; no published limit)"},
    [PP_CARRIER_KEY_PER_DAY] = {"per_day", PP_CFG_INT, "0", 0, 100000000, true, false,
                                "fleet-wide InPost requests per UTC day (0 = unlimited; no published quota)"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://api-shipx-pl.easypack24.net", 0, 0, true,
                    false, "InPost ShipX API base URL"},
    [K_TOKEN] = {"token", PP_CFG_STR, "", 0, 0, true, true, "InPost ShipX bearer token (empty = none)"},
};

extern const pp_carrier_t pp_carrier_inpost;

#define INPOST_LOCKER_HOLD_S (72 * 3600) /* GET /v1/statuses: ready_to_pickup waits 72 h */

typedef struct inpost_status {
    const char *name; /* ShipX status name */
    pp_status_t status;
    const char *title; /* Polish title, as shown to recipients */
} inpost_status_t;

/* Every name in research/carriers.md §3.3 (ShipX + mobile-API vocabulary). */
static const inpost_status_t statuses[] = {
    /* pre-transit: label exists, parcel not yet with InPost */
    {"created", PP_ST_INFO_RECEIVED, "Przesyłka utworzona"},
    {"offers_prepared", PP_ST_INFO_RECEIVED, "Przygotowano oferty"},
    {"offer_selected", PP_ST_INFO_RECEIVED, "Oferta wybrana"},
    {"confirmed", PP_ST_INFO_RECEIVED, "Przygotowana przez Nadawcę"},
    /* first scans: the parcel is with InPost */
    {"dispatched_by_sender", PP_ST_IN_TRANSIT, "Paczka nadana w automacie Paczkomat"},
    {"dispatched_by_sender_to_pok", PP_ST_IN_TRANSIT, "Paczka nadana w Punkcie Obsługi Paczek"},
    {"collected_from_sender", PP_ST_IN_TRANSIT, "Odebrana od klienta"},
    {"taken_by_courier", PP_ST_IN_TRANSIT, "Odebrana od Nadawcy"},
    {"taken_by_courier_from_pok", PP_ST_IN_TRANSIT, "Odebrana z Punktu Obsługi Paczek"},
    {"oversized", PP_ST_EXCEPTION, "Przesyłka ponadgabarytowa"},
    /* ambiguous in the sources; recipient-facing: waiting at a pickup point */
    {"ready_to_pickup_from_pok", PP_ST_AVAILABLE_FOR_PICKUP, "Czeka na odbiór w Punkcie Obsługi Paczek"},
    {"ready_to_pickup_from_pok_registered", PP_ST_AVAILABLE_FOR_PICKUP,
     "Czeka na odbiór w Punkcie Obsługi Paczek"},
    /* transit */
    {"adopted_at_source_branch", PP_ST_IN_TRANSIT, "Przyjęta w oddziale InPost"},
    {"sent_from_source_branch", PP_ST_IN_TRANSIT, "W trasie"},
    {"adopted_at_sorting_center", PP_ST_IN_TRANSIT, "Przyjęta w Sortowni"},
    {"sent_from_sorting_center", PP_ST_IN_TRANSIT, "Wysłana z Sortowni"},
    {"adopted_at_target_branch", PP_ST_IN_TRANSIT, "Przyjęta w Oddziale Docelowym"},
    {"readdressed", PP_ST_IN_TRANSIT, "Przekierowano na inny adres"},
    {"redirect_to_box", PP_ST_IN_TRANSIT, "Przekierowano do automatu Paczkomat"},
    {"canceled_redirect_to_box", PP_ST_IN_TRANSIT, "Anulowano przekierowanie do automatu Paczkomat"},
    {"permanently_redirected_to_box_machine", PP_ST_IN_TRANSIT,
     "Trwale przekierowana do automatu Paczkomat"},
    {"permanently_redirected_to_customer_service_point", PP_ST_IN_TRANSIT,
     "Trwale przekierowana do Punktu Obsługi Paczek"},
    {"delay_in_delivery", PP_ST_EXCEPTION, "Możliwe opóźnienie doręczenia"},
    {"unstack_from_box_machine", PP_ST_IN_TRANSIT, "Paczka w drodze do docelowego automatu Paczkomat"},
    {"unstack_from_customer_service_point", PP_ST_IN_TRANSIT,
     "Paczka w drodze do docelowego automatu Paczkomat"},
    {"taken_by_courier_from_customer_service_point", PP_ST_IN_TRANSIT,
     "Odebrana z Punktu Obsługi Paczek przez kuriera"},
    /* last mile */
    {"out_for_delivery", PP_ST_OUT_FOR_DELIVERY, "Wydana do doręczenia"},
    {"out_for_delivery_to_address", PP_ST_OUT_FOR_DELIVERY, "Wydana do doręczenia"},
    /* waiting for the recipient */
    {"ready_to_pickup", PP_ST_AVAILABLE_FOR_PICKUP, "Umieszczona w automacie Paczkomat"},
    {"ready_to_pickup_from_branch", PP_ST_AVAILABLE_FOR_PICKUP, "Czeka na odbiór w oddziale"},
    {"stack_in_box_machine", PP_ST_AVAILABLE_FOR_PICKUP,
     "Paczka magazynowana w tymczasowym automacie Paczkomat"},
    {"stack_in_customer_service_point", PP_ST_AVAILABLE_FOR_PICKUP,
     "Paczka magazynowana w Punkcie Obsługi Paczek"},
    {"pickup_reminder_sent", PP_ST_AVAILABLE_FOR_PICKUP, "Przypomnienie o czekającej paczce"},
    {"pickup_reminder_sent_address", PP_ST_AVAILABLE_FOR_PICKUP, "Przypomnienie o czekającej paczce"},
    {"courier_avizo_in_customer_service_point", PP_ST_AVAILABLE_FOR_PICKUP,
     "Awizo: czeka na odbiór w Punkcie Obsługi Paczek"},
    {"ready_for_collection", PP_ST_AVAILABLE_FOR_PICKUP, "Gotowa do odbioru"},
    /* failed attempts and problems */
    {"avizo", PP_ST_DELIVERY_FAILED, "Powrót do oddziału (awizo)"},
    {"undelivered", PP_ST_DELIVERY_FAILED, "Nieudana próba doręczenia"},
    {"undelivered_wrong_address", PP_ST_DELIVERY_FAILED, "Nie doręczono: błędny adres"},
    {"undelivered_incomplete_address", PP_ST_DELIVERY_FAILED, "Nie doręczono: niepełny adres"},
    {"undelivered_unknown_receiver", PP_ST_DELIVERY_FAILED, "Nie doręczono: nieznany odbiorca"},
    {"undelivered_cod_cash_receiver", PP_ST_DELIVERY_FAILED,
     "Nie doręczono: odbiorca nie miał gotówki na pobranie"},
    {"undelivered_no_mailbox", PP_ST_DELIVERY_FAILED, "Nie doręczono: brak skrzynki pocztowej"},
    {"undelivered_not_live_address", PP_ST_DELIVERY_FAILED,
     "Nie doręczono: odbiorca nie mieszka pod adresem"},
    {"undelivered_lack_of_access_letterbox", PP_ST_DELIVERY_FAILED,
     "Nie doręczono: brak dostępu do skrzynki"},
    {"delivery_attempt_failed", PP_ST_DELIVERY_FAILED, "Nieudana próba doręczenia"},
    {"pickup_time_expired", PP_ST_EXCEPTION, "Upłynął termin odbioru"},
    {"stack_parcel_pickup_time_expired", PP_ST_EXCEPTION, "Upłynął termin odbioru paczki magazynowanej"},
    {"stack_parcel_in_box_machine_pickup_time_expired", PP_ST_EXCEPTION,
     "Upłynął termin odbioru paczki magazynowanej w automacie"},
    {"missing", PP_ST_EXCEPTION, "Zaginiona"},
    {"claimed", PP_ST_EXCEPTION, "Zareklamowana"},
    {"avizo_rejected", PP_ST_EXCEPTION, "Awizo odrzucone"},
    {"cod_rejected", PP_ST_EXCEPTION, "Pobranie odrzucone"},
    {"canceled", PP_ST_EXCEPTION, "Anulowana"},
    {"cancelled", PP_ST_EXCEPTION, "Anulowana"},
    /* going back */
    {"rejected_by_receiver", PP_ST_RETURNING, "Odmowa przyjęcia"},
    {"not_collected", PP_ST_RETURNING, "Nieodebrana"},
    {"returned_to_sender", PP_ST_RETURNED, "Zwrócona do nadawcy"},
    {"return_pickup_confirmation_to_sender", PP_ST_RETURNED, "Zwrot odebrany przez nadawcę"},
    /* done */
    {"delivered", PP_ST_DELIVERED, "Dostarczona"},
    {"collected_by_customer", PP_ST_DELIVERED, "Odebrana przez odbiorcę"},
    {"avizo_completed", PP_ST_DELIVERED, "Odebrana po awizo"},
    {"cod_completed", PP_ST_DELIVERED, "Dostarczona, pobranie opłacone"},
};

/* The table by name, sorted once, for a binary search: every event of every answer is
 * looked up (a scan of the table was ~1 % of a poller's CPU). */
static const inpost_status_t *by_name[sizeof(statuses) / sizeof(statuses[0])];
static pthread_once_t by_name_once = PTHREAD_ONCE_INIT;

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const inpost_status_t *const *)a)->name,
                  (*(const inpost_status_t *const *)b)->name);
}

static void by_name_sort(void)
{
    for (size_t i = 0; i < PP_N(statuses); i++)
        by_name[i] = &statuses[i];
    qsort(by_name, PP_N(by_name), sizeof by_name[0], cmp_name);
}

static const inpost_status_t *status_find(const char *name)
{
    pthread_once(&by_name_once, by_name_sort);
    inpost_status_t key = {.name = name};
    const inpost_status_t *kp = &key, *const *hit = bsearch(&kp, by_name, PP_N(by_name),
                                                            sizeof by_name[0], cmp_name);
    return hit ? *hit : NULL;
}

static int inpost_build_request(const pp_config_t *cfg, const char *token,
                                const char *const *numbers, size_t n, pp_http_request_t *req)
{
    char esc[3 * 64 + 1];
    int rc;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n != 1 || !numbers[0] || strlen(numbers[0]) > 64 || !CFG(K_BASE_URL)[0])
        return PP_EINVAL;
    if (pp_carrier_url_escape(numbers[0], esc, sizeof esc))
        return PP_EINVAL; /* cannot happen: at most 64 bytes, 3 * 64 + 1 room */
    req->method = "GET";
    if (asprintf(&req->url, "%.*s/v1/tracking/%s", (int)pp_carrier_base_len(CFG(K_BASE_URL)),
                 CFG(K_BASE_URL), esc) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_http_request_add_header(req, "Accept: application/json")) ||
        (rc = pp_http_request_add_header(req, "X-User-Agent: parcelpush")))
        goto fail;
    if (CFG(K_TOKEN)[0] &&
        (rc = pp_http_request_add_header(req, "Authorization: Bearer %s", CFG(K_TOKEN))))
        goto fail;
    return PP_OK;
fail:
    pp_http_request_free(req);
    return rc;
}

/* "error: description" from a ShipX error body ({"status":..,"error":..,"description"|"message":..}). */
static void error_reason(const cJSON *root, char *out, size_t outlen)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (!cJSON_IsString(d))
        d = cJSON_GetObjectItemCaseSensitive(root, "message");
    snprintf(out, outlen, "%s%s%s", cJSON_IsString(e) ? e->valuestring : "",
             cJSON_IsString(e) && cJSON_IsString(d) ? ": " : "",
             cJSON_IsString(d) ? d->valuestring : "");
}

static int parse_event(const cJSON *d, size_t idx, const char *pickup, pp_track_event_t *ev,
                       char *err, size_t errlen)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "status");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(d, "datetime");
    const char *origin, *agency, *location;
    int had_zone = 0;
    if (!cJSON_IsObject(d)) {
        pp_carrier_err(err, errlen, "tracking_details[%zu] is not an object", idx);
        return PP_EPARSE;
    }
    if (!cJSON_IsString(st) || !st->valuestring[0]) {
        pp_carrier_err(err, errlen, "tracking_details[%zu].status missing or not a string", idx);
        return PP_EPARSE;
    }
    if (!cJSON_IsString(dt)) {
        pp_carrier_err(err, errlen, "tracking_details[%zu].datetime missing or not a string", idx);
        return PP_EPARSE;
    }
    if (pp_time_parse_iso(dt->valuestring, &ev->occurred_at, &had_zone) != 0 || !had_zone) {
        pp_carrier_err(err, errlen,
                       "tracking_details[%zu].datetime '%.40s' is not ISO 8601 with an offset", idx,
                       dt->valuestring);
        return PP_EPARSE;
    }
    if (pp_carrier_json_opt_string(d, "origin_status", &origin) ||
        pp_carrier_json_opt_string(d, "agency", &agency) ||
        pp_carrier_json_opt_string(d, "location", &location)) {
        pp_carrier_err(err, errlen,
                       "tracking_details[%zu]: origin_status/agency/location not a string", idx);
        return PP_EPARSE;
    }
    const inpost_status_t *s = status_find(st->valuestring);
    ev->status = s ? s->status : PP_ST_UNKNOWN;
    pp_text_copy(ev->carrier_code, sizeof(ev->carrier_code), st->valuestring);
    pp_text_copy(ev->description, sizeof(ev->description), s ? s->title : st->valuestring);
    if (ev->status == PP_ST_AVAILABLE_FOR_PICKUP && pickup[0])
        pp_text_copy(ev->location, sizeof(ev->location), pickup);
    else
        pp_text_copy(ev->location, sizeof(ev->location), location);
    return PP_OK;
}

static int parse_found(const cJSON *root, pp_track_result_t *r, char *err, size_t errlen)
{
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(root, "tracking_number");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(root, "tracking_details");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(root, "custom_attributes");
    if (!cJSON_IsString(num) || !num->valuestring[0]) {
        pp_carrier_err(err, errlen, "tracking_number missing or not a string");
        return PP_EPARSE;
    }
    if (!cJSON_IsString(st)) {
        pp_carrier_err(err, errlen, "status missing or not a string");
        return PP_EPARSE;
    }
    if (!cJSON_IsArray(details)) {
        pp_carrier_err(err, errlen, "tracking_details missing or not an array");
        return PP_EPARSE;
    }
    pp_text_copy(r->tracking_number, sizeof(r->tracking_number), num->valuestring);
    r->found = true;
    if (ca && !cJSON_IsNull(ca)) {
        const char *machine;
        if (!cJSON_IsObject(ca) || pp_carrier_json_opt_string(ca, "target_machine_id", &machine)) {
            pp_carrier_err(err, errlen,
                           "custom_attributes or its target_machine_id has the wrong type");
            return PP_EPARSE;
        }
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(ca, "target_machine_detail");
        if (detail && !cJSON_IsNull(detail) && !cJSON_IsObject(detail)) {
            pp_carrier_err(err, errlen, "custom_attributes.target_machine_detail is not an object");
            return PP_EPARSE;
        }
        if (!machine[0] && cJSON_IsObject(detail) &&
            pp_carrier_json_opt_string(detail, "name", &machine)) {
            pp_carrier_err(err, errlen, "target_machine_detail.name is not a string");
            return PP_EPARSE;
        }
        pp_text_copy(r->pickup_point, sizeof(r->pickup_point), machine);
        const cJSON *addr =
            cJSON_IsObject(detail) ? cJSON_GetObjectItemCaseSensitive(detail, "address") : NULL;
        if (cJSON_IsObject(addr)) {
            const char *l1 = "", *l2 = "";
            if (pp_carrier_json_opt_string(addr, "line1", &l1) ||
                pp_carrier_json_opt_string(addr, "line2", &l2)) {
                pp_carrier_err(err, errlen, "target_machine_detail.address lines are not strings");
                return PP_EPARSE;
            }
            snprintf(r->pickup_address, sizeof(r->pickup_address), "%s%s%s", l1,
                     l1[0] && l2[0] ? ", " : "", l2);
        }
    }
    int n = cJSON_GetArraySize(details);
    if (n == 0)
        return PP_OK;
    r->events = calloc((size_t)n, sizeof(*r->events));
    if (!r->events)
        return PP_ENOMEM;
    /* The wire is newest first: fill from the back so the array ends up oldest first. */
    int i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, details)
    {
        int rc = parse_event(d, (size_t)i, r->pickup_point, &r->events[n - 1 - i], err, errlen);
        if (rc)
            return rc;
        i++;
    }
    r->n_events = (size_t)n;
    /* Do not trust the wire order blindly: stable insertion sort by time. */
    pp_track_events_sort(r->events, r->n_events);
    /*
     * Pickup deadline: ShipX tracking carries no deadline field; InPost's status dictionary
     * says a parcel placed in the destination locker (ready_to_pickup) waits 72 hours. So,
     * while the newest event is that placement, the deadline is its time + 72 h.
     */
    const pp_track_event_t *last = &r->events[r->n_events - 1];
    if (r->pickup_point[0] && strcmp(last->carrier_code, "ready_to_pickup") == 0)
        r->pickup_deadline = last->occurred_at + INPOST_LOCKER_HOLD_S;
    return PP_OK;
}

static int inpost_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
                        size_t *n_results, char *err, size_t errlen)
{
    cJSON *root = NULL;
    pp_track_result_t *r = NULL;
    char reason[256];
    int rc;
    *results = NULL;
    *n_results = 0;
    if (err && errlen)
        err[0] = '\0';
    if (body && len > 0)
        root = cJSON_ParseWithLength(body, len);
    if (http_status != 200) {
        reason[0] = '\0';
        if (cJSON_IsObject(root))
            error_reason(root, reason, sizeof(reason));
        if (http_status == 404 && cJSON_IsObject(root) &&
            cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "error"))) {
            r = calloc(1, sizeof(*r));
            if (!r) {
                rc = PP_ENOMEM;
                goto fail;
            }
            r->found = false;
            goto done;
        }
        if (http_status == 404)
            pp_carrier_err(err, errlen, "HTTP 404 without a ShipX error body (wrong base URL?)");
        else if (http_status == 401 || http_status == 403)
            pp_carrier_err(err, errlen, "HTTP %d: not authorized (check inpost_token)%s%s",
                           http_status, reason[0] ? ": " : "", reason);
        else if (http_status == 429)
            pp_carrier_err(err, errlen, "HTTP 429: rate limited%s%s", reason[0] ? ": " : "", reason);
        else
            pp_carrier_err(err, errlen, "HTTP %d%s%s", http_status, reason[0] ? ": " : "", reason);
        rc = PP_EHTTP;
        goto fail;
    }
    if (!root) {
        pp_carrier_err(err, errlen, "body is not valid JSON (%zu bytes, truncated?)", len);
        rc = PP_EPARSE;
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        pp_carrier_err(err, errlen, "body is not a JSON object");
        rc = PP_EPARSE;
        goto fail;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = parse_found(root, r, err, errlen)) != 0)
        goto fail;
done:
    cJSON_Delete(root);
    *results = r;
    *n_results = 1;
    return PP_OK;
fail:
    pp_track_results_free(r, r ? 1 : 0);
    cJSON_Delete(root);
    return rc;
}

const pp_carrier_t pp_carrier_inpost = {
    .name = "inpost",
    .display = "InPost",
    .aliases = (const char *const[]){"paczkomat", NULL},
    .help_names = "InPost",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"6#######################", NULL}, /* 24 digits */
    .locker = {"czeka w Paczkomacie", "is waiting in the Paczkomat locker"},
    .auth = PP_CARRIER_AUTH_KEY,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = 1,
    .build_request = inpost_build_request,
    .parse_raw = inpost_parse,
};
