/* dpd.c - renders simulator scenarios as DPD Polska InfoServices SOAP answers (getEventsForWaybillV1). */
#include "dpd.h"
#include "carriers/numbers.h"
#include "carriers/soapxml.h"
#include "err.h"
#include "httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DPD_NS "http://events.dpdinfoservices.dpd.com.pl/"

typedef struct {
    const char *code;
    const char *description;
} dpd_event_t;

/* Scenario step → business code (research §5.3) and a Polish description in DPD's style. */
static dpd_event_t step_event(pp_sim_step_kind_t k, bool to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED:
        return (dpd_event_t){"030103", "Zarejestrowano dane przesyłki, przesyłka jeszcze nienadana"};
    case PP_SIM_DROPPED_AT_LOCKER:
        return (dpd_event_t){"600101", "Przyjęcie przesyłki w punkcie DPD Pickup"};
    case PP_SIM_COLLECTED: return (dpd_event_t){"040101", "Przesyłka odebrana przez Kuriera"};
    case PP_SIM_TAKEN_FROM_LOCKER:
        return (dpd_event_t){"600106", "Przesyłka wysłana z punktu DPD Pickup"};
    case PP_SIM_SOURCE_BRANCH_IN:
        return (dpd_event_t){"120100", "Przyjęcie przesyłki w oddziale DPD"};
    case PP_SIM_SOURCE_BRANCH_OUT: return (dpd_event_t){"160501", "Przesyłka w drodze do sortowni"};
    case PP_SIM_SORTING_IN: return (dpd_event_t){"050101", "Przyjęcie przesyłki w sortowni"};
    case PP_SIM_SORTING_OUT: return (dpd_event_t){"050102", "Wysłanie przesyłki z sortowni"};
    case PP_SIM_TARGET_BRANCH_IN:
        return (dpd_event_t){"120101", "Przyjęcie przesyłki w oddziale doręczającym"};
    case PP_SIM_OUT_FOR_DELIVERY: return (dpd_event_t){"170102", "Wydanie przesyłki do doręczenia"};
    case PP_SIM_NOTICE_LEFT:
        return (dpd_event_t){"200201",
                             "Nieudana próba doręczenia - odbiorca nieobecny, pozostawiono awizo"};
    case PP_SIM_UNDELIVERED:
        return (dpd_event_t){"200601", "Doręczenie w innym terminie uzgodnionym z odbiorcą"};
    case PP_SIM_READY_AT_LOCKER:
        return (dpd_event_t){"511901", "Przesyłka doręczona do punktu DPD Pickup - czeka na odbiór"};
    case PP_SIM_PICKUP_REMINDER:
        return (dpd_event_t){"511701", "Wysłano przypomnienie o przesyłce czekającej w punkcie"};
    case PP_SIM_DELIVERED:
        return to_locker ? (dpd_event_t){"701901", "Przesyłka odebrana w punkcie DPD Pickup"}
                         : (dpd_event_t){"190101", "Przesyłka doręczona"};
    }
    return (dpd_event_t){"999999", "Zdarzenie"};
}

static const struct {
    const char *code, *depot, *name;
} depots[] = {
    {"KRA", "1318", "Kraków"},
    {"WAW", "1302", "Warszawa"},
    {"GDA", "1380", "Gdańsk"},
    {"POZ", "1361", "Poznań"},
    {"WRO", "1350", "Wrocław"},
    {"LOD", "1393", "Łódź"},
    {"KAT", "1340", "Katowice"},
    {"LUB", "1320", "Lublin"},
    {"SZC", "1371", "Szczecin"},
    {"BYD", "1385", "Bydgoszcz"},
    {"RZE", "1335", "Rzeszów"},
    {"OLS", "1310", "Olsztyn"},
    {"SOR", "1399", "Sortownia Stryków"},
};

static void depot_of(const char *place, const char **depot, const char **name)
{
    for (size_t i = 0; i < sizeof depots / sizeof depots[0]; i++)
        if (strncmp(place, depots[i].code, 3) == 0) {
            *depot = depots[i].depot;
            *name = depots[i].name;
            return;
        }
    *depot = "";
    *name = "";
}

static bool dpd_number_ok(const char *number) { return pp_number_valid("dpd", number); }

/* The operation element of a POSTed envelope, or NULL (doc freed by the caller). */
static xmlNodePtr request_op(h2o_req_t *req, xmlDocPtr *doc)
{
    char err[256];
    *doc = NULL;
    if (pp_soapxml_parse(req->entity.base, req->entity.len, doc, err, sizeof err) != 0)
        return NULL;
    xmlNodePtr op = pp_soapxml_first(pp_soapxml_body(*doc));
    if (!op || xmlStrcmp(op->name, BAD_CAST "getEventsForWaybillV1") != 0 || !op->ns ||
        xmlStrcmp(op->ns->href, BAD_CAST DPD_NS) != 0)
        return NULL;
    return op;
}

static int dpd_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    xmlDocPtr doc;
    char waybill[64];
    int rc = PP_EINVAL;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    xmlNodePtr op = request_op(req, &doc);
    if (op && pp_soapxml_text(pp_soapxml_child(op, "waybill"), waybill, sizeof waybill) == 0 &&
        waybill[0])
        rc = pp_sim_call_add(call, waybill, strlen(waybill));
    else
        call->error_status = 400;
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* authDataV1 login/password must be --client-id/--client-secret when those are set. */
static int dpd_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    xmlDocPtr doc;
    char login[128], password[128];
    int bad = 1;
    if (!s->client_id)
        return 0;
    xmlNodePtr auth = pp_soapxml_child(request_op(req, &doc), "authDataV1");
    if (auth && pp_soapxml_text(pp_soapxml_child(auth, "login"), login, sizeof login) == 0 &&
        pp_soapxml_text(pp_soapxml_child(auth, "password"), password, sizeof password) == 0)
        bad = !(strcmp(login, s->client_id) == 0 &&
                strcmp(password, s->client_secret ? s->client_secret : "") == 0);
    if (doc)
        xmlFreeDoc(doc);
    /* JAX-WS answers a fault with HTTP 500; the framework sends 401 for any nonzero. */
    return bad ? 500 : 0;
}

static int dpd_error(int status, char **body, size_t *len)
{
    const char *code = "S:Server", *text = "Internal error";
    switch (status) {
    case 400:
        code = "S:Client";
        text = "Cannot find dispatch method for the request";
        break;
    case 401: text = "Login failed"; break; /* the text public clients test for */
    case 404:
        code = "S:Client";
        text = "Not found";
        break;
    case 405:
        code = "S:Client";
        text = "Only POST is supported";
        break;
    case 429: text = "Too many requests"; break;
    }
    pp_sim_buf_t b = {0};
    pp_sim_put(&b,
               "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"" PP_SOAP11_NS "\">"
               "<S:Body><S:Fault xmlns:ns4=\"" PP_SOAP12_NS "\"><faultcode>%s</faultcode>"
               "<faultstring>%s</faultstring>",
               code, text);
    if (status == 401)
        pp_sim_put(&b,
                   "<detail><ns2:DPDServiceException xmlns:ns2=\"" DPD_NS "\"><message>%s</message>"
                   "</ns2:DPDServiceException></detail>",
                   text);
    pp_sim_put(&b, "</S:Fault></S:Body></S:Envelope>");
    return pp_sim_buf_finish(&b, body, len);
}

/* "2026-03-29 03:30:00": Europe/Warsaw local, no offset (eventTime is a plain string). */
static void local_time(time_t t, char out[24])
{
    char iso[40];
    pp_sim_format_warsaw(t, iso);
    snprintf(out, 24, "%.10s %.8s", iso, iso + 11);
}

static int dpd_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    *status = 200;
    pp_sim_put(&b, "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"" PP_SOAP11_NS "\"><S:Body>"
                   "<ns2:getEventsForWaybillV1Response xmlns:ns2=\"" DPD_NS "\"><return>");
    /* Unknown or not yet known waybill: an empty eventsList (research §10). */
    const pp_sim_parcel_t *p = n == 1 ? &parcels[0] : NULL;
    if (p && p->valid && p->visible > 0) {
        /* Newest first: DPD's order is not documented, so the adapter must sort anyway. */
        for (int i = p->visible - 1; i >= 0; i--) {
            const pp_sim_step_t *st = &p->sc.steps[i];
            dpd_event_t ev = step_event(st->kind, p->sc.to_locker);
            const char *depot, *name;
            char when[24];
            if (st->kind == PP_SIM_READY_AT_LOCKER || st->kind == PP_SIM_PICKUP_REMINDER ||
                (st->kind == PP_SIM_DELIVERED && p->sc.to_locker))
                depot_of(p->sc.locker_id, &depot, &name);
            else
                depot_of(st->place[0] ? st->place : "", &depot, &name);
            local_time(p->origin + (time_t)st->at_s, when);
            pp_sim_put(&b,
                       "<eventsList><businessCode>%s</businessCode><country>PL</country>"
                       "<depot>%s</depot><depotName>",
                       ev.code, depot);
            if ((st->kind == PP_SIM_READY_AT_LOCKER || st->kind == PP_SIM_PICKUP_REMINDER ||
                 (st->kind == PP_SIM_DELIVERED && p->sc.to_locker)) &&
                name[0])
                pp_sim_put(&b, "DPD Pickup %s %s", name, p->sc.locker_id);
            else
                pp_sim_put_escaped_xml(&b, name);
            pp_sim_put(&b, "</depotName><description>");
            pp_sim_put_escaped_xml(&b, ev.description);
            pp_sim_put(&b,
                       "</description><eventDataList/><eventTime>%s</eventTime><objectId>%llu"
                       "</objectId><packageReference></packageReference><parcelReference>"
                       "</parcelReference><waybill>",
                       when, (unsigned long long)(p->sc.hash % 1000000000ULL));
            pp_sim_put_escaped_xml(&b, p->number);
            pp_sim_put(&b, "</waybill></eventsList>");
        }
    }
    pp_sim_put(&b, "</return></ns2:getEventsForWaybillV1Response></S:Body></S:Envelope>");
    return pp_sim_buf_finish(&b, body, len);
}

const pp_sim_shape_t pp_sim_shape_dpd = {
    .carrier = "dpd",
    .route = "/DPDInfoServicesObjEventsService/DPDInfoServicesObjEvents",
    .content_type = "text/xml; charset=utf-8",
    .parse_request = dpd_parse_request,
    .check_auth = dpd_check_auth,
    .number_ok = dpd_number_ok,
    .render = dpd_render,
    .render_error = dpd_error,
};
