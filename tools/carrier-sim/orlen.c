/* orlen.c - renders simulator scenarios as ORLEN Paczka: partner SOAP GiveMePackStatusFullHistoryList and the public JSONP tracker. */
#include "orlen.h"
#include "carriers/numbers.h"
#include "err.h"
#include "httpd.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Shapes: research/carriers.md §7. SOAP 1.1 at /WebServicePwRProd/WebServicePwR.asmx:
 * PartnerID/PartnerKey checked against --client-id/--client-secret (a soap:Fault on a
 * mismatch, HTTP 401 as the framework answers every credential failure; the real service's
 * status for that case is not documented), up to 1000 PackCodes, rows PackStatus{PackCode,
 * Trans, Trans_Des, Data (Warsaw wall time with a misleading 'Z'), Attribute}; a number ORLEN
 * does not know has no rows. Public tracker at /parcel/api-status?id=N&jsonp=callback:
 * callback({...}); with history oldest first, dates "DD-MM-YYYY, HH:MM"; unknown = status "".
 * About one in four parcels waiting at a point is not collected and goes back to the sender
 * (709 POWROT, then 1220 2_POWROT), so the return path is exercised end to end.
 */

#define ORLEN_NS "https://91.242.220.103/WebServicePwR"
#define ORLEN_SOAP_ROUTE "/WebServicePwRProd/WebServicePwR.asmx"
#define ORLEN_PUBLIC_ROUTE "/parcel/api-status"

typedef struct {
    int code;
    const char *attr;
    const char *des;   /* SOAP Trans_Des (status names of the API doc, §7.2) */
    const char *label; /* public tracker label */
} orlen_step_t;

static bool goes_back(const pp_sim_scenario_t *sc)
{
    return sc->to_locker && ((sc->hash >> 20) & 3) == 0;
}

static orlen_step_t step_name(pp_sim_step_kind_t k, const pp_sim_scenario_t *sc)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED:
        return (orlen_step_t){200, "", "Zaawizowana do PwR", "Paczka zarejestrowana"};
    case PP_SIM_DROPPED_AT_LOCKER:
        return (orlen_step_t){210, "", "Nadana w kiosku", "Paczka nadana w punkcie"};
    case PP_SIM_COLLECTED:
        return (orlen_step_t){240, "", "W transporcie do ekspedycji u kuriera",
                              "Paczka odebrana przez kuriera"};
    case PP_SIM_TAKEN_FROM_LOCKER:
        return (orlen_step_t){230, "", "W transporcie do ekspedycji z kiosku",
                              "Paczka w drodze z punktu nadania"};
    case PP_SIM_SOURCE_BRANCH_IN:
        return (orlen_step_t){100, "", "W sortowni regionalnej", "Paczka w sortowni"};
    case PP_SIM_SOURCE_BRANCH_OUT:
        return (orlen_step_t){110, "", "W transporcie do sortowni centralnej", "Paczka w drodze"};
    case PP_SIM_SORTING_IN:
        return (orlen_step_t){300, "", "W sortowni centralnej", "Paczka w sortowni"};
    case PP_SIM_SORTING_OUT:
        return (orlen_step_t){450, "", "W transporcie do ekspedycji z sortowni centralnej",
                              "Paczka w drodze"};
    case PP_SIM_TARGET_BRANCH_IN: return (orlen_step_t){653, "", "W ekspedycji", "Paczka w drodze"};
    case PP_SIM_OUT_FOR_DELIVERY:
        return (orlen_step_t){680, "", "W transporcie do kiosku", "Paczka w drodze do punktu odbioru"};
    case PP_SIM_NOTICE_LEFT:
        return (orlen_step_t){780, "", "Brak możliwości doręczenia do punktu",
                              "Problem z doręczeniem do punktu"};
    case PP_SIM_UNDELIVERED:
        return (orlen_step_t){739, "", "Nie przekazano do kiosku", "Problem z doręczeniem do punktu"};
    case PP_SIM_READY_AT_LOCKER:
        return (orlen_step_t){690, "", "W kiosku", "Paczka czeka na odbiór w punkcie"};
    case PP_SIM_PICKUP_REMINDER:
        if (goes_back(sc))
            return (orlen_step_t){709, "POWROT", "Powrót – nieodebrana w terminie",
                                  "Paczka wraca do nadawcy"};
        return (orlen_step_t){695, "", "W kiosku – SMS wysłany", "Paczka czeka na odbiór w punkcie"};
    case PP_SIM_DELIVERED:
        if (goes_back(sc))
            return (orlen_step_t){1220, "2_POWROT", "Zwrot do nadawcy", "Paczka zwrócona do nadawcy"};
        return (orlen_step_t){1000, "", "Odebrana przez klienta", "Paczka odebrana"};
    }
    return (orlen_step_t){100, "", "W sortowni regionalnej", "Paczka w drodze"};
}

static bool orlen_number_ok(const char *number) { return pp_number_valid("orlen", number); }

/* ---- SOAP -------------------------------------------------------------------------------- */

static xmlDocPtr read_envelope(h2o_req_t *req)
{
    if (req->entity.len == 0 || req->entity.len > 16 * 1024 * 1024)
        return NULL;
    return xmlReadMemory(req->entity.base, (int)req->entity.len, "request.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static bool named(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* First element called name at any depth under n. */
static const xmlNode *find(const xmlNode *n, const char *name, int depth)
{
    for (; n && depth < 32; n = n->next) {
        if (named(n, name))
            return n;
        const xmlNode *f = find(n->children, name, depth + 1);
        if (f)
            return f;
    }
    return NULL;
}

static bool text_is(const xmlNode *n, const char *want)
{
    if (!n)
        return false;
    xmlChar *t = xmlNodeGetContent(n);
    bool eq = t && strcmp((const char *)t, want) == 0;
    xmlFree(t);
    return eq;
}

static int soap_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    int rc = PP_OK;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    xmlDocPtr doc = read_envelope(req);
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    const xmlNode *op = root ? find(root, "GiveMePackStatusFullHistoryList", 0) : NULL;
    const xmlNode *codes = op ? find(op->children, "PackCodes", 0) : NULL;
    if (!codes) {
        call->error_status = 400;
        rc = PP_EINVAL;
        goto out;
    }
    for (const xmlNode *c = codes->children; c && rc == PP_OK; c = c->next) {
        if (!named(c, "string"))
            continue;
        xmlChar *t = xmlNodeGetContent(c);
        rc = t ? pp_sim_call_add(call, (const char *)t, strlen((const char *)t)) : PP_ENOMEM;
        xmlFree(t);
        if (rc == PP_EINVAL) /* more than 1000 */
            call->error_status = 400;
    }
out:
    xmlFreeDoc(doc);
    return rc;
}

static int soap_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    if (!s->client_id)
        return 0;
    xmlDocPtr doc = read_envelope(req);
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    bool ok = root && text_is(find(root, "PartnerID", 0), s->client_id) &&
              text_is(find(root, "PartnerKey", 0), s->client_secret ? s->client_secret : "");
    xmlFreeDoc(doc);
    return ok ? 0 : 1;
}

/* "2026-10-08T09:45:23.1436745Z": the Warsaw wall time, marked Z as the real service does. */
static void soap_time(time_t t, uint64_t salt, char out[48])
{
    char w[40];
    pp_sim_format_warsaw(t, w);
    snprintf(out, 48, "%.19s.%07uZ", w, (unsigned)(salt % 10000000u));
}

static int soap_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    char t[48];
    pp_sim_put(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">"
                   "<soap:Body><GiveMePackStatusFullHistoryListResponse xmlns=\"" ORLEN_NS "\">"
                   "<GiveMePackStatusFullHistoryListResult>");
    for (size_t i = 0; i < n; i++) {
        const pp_sim_parcel_t *p = &parcels[i];
        if (!p->valid || p->visible == 0)
            continue; /* unknown to ORLEN: no rows */
        for (int k = 0; k < p->visible; k++) {
            const pp_sim_step_t *s = &p->sc.steps[k];
            orlen_step_t o = step_name(s->kind, &p->sc);
            soap_time(p->origin + (time_t)s->at_s, p->sc.hash ^ (uint64_t)k * 2654435761u, t);
            pp_sim_put(&b, "<PackStatus><PackCode>");
            pp_sim_put_escaped_xml(&b, p->number);
            pp_sim_put(&b, "</PackCode><Trans>%d</Trans><Trans_Des>%s</Trans_Des><Data>%s</Data>",
                       o.code, o.des, t);
            pp_sim_put(&b,
                       o.attr[0] ? "<Attribute>%s</Attribute></PackStatus>"
                                 : "<Attribute />%s</PackStatus>",
                       o.attr);
        }
        if (p->visible == p->sc.n_steps) { /* done: ORLEN archives the parcel (888, ignored by clients) */
            soap_time(p->origin + (time_t)p->sc.steps[p->visible - 1].at_s + 60, p->sc.hash, t);
            pp_sim_put(&b, "<PackStatus><PackCode>");
            pp_sim_put_escaped_xml(&b, p->number);
            pp_sim_put(&b,
                       "</PackCode><Trans>888</Trans><Trans_Des>Archiwizacja</Trans_Des><Data>%s</Data>"
                       "<Attribute /></PackStatus>",
                       t);
        }
    }
    pp_sim_put(&b, "<Err>000</Err><ErrDes>OK</ErrDes></GiveMePackStatusFullHistoryListResult>"
                   "</GiveMePackStatusFullHistoryListResponse></soap:Body></soap:Envelope>");
    *status = 200;
    return pp_sim_buf_finish(&b, body, len);
}

static int soap_error(int status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    const char *code = status == 400 || status == 401 || status == 405 ? "soap:Client" : "soap:Server";
    const char *msg =
        status == 401 ? "Server was unable to process request. ---&gt; Błędny PartnerID lub PartnerKey"
        : status == 400
            ? "Server was unable to read request. ---&gt; There is an error in XML document."
        : status == 405 ? "Request format is unrecognized."
        : status == 429 ? "Server was unable to process request. ---&gt; Too many requests."
                        : "Server was unable to process request. ---&gt; Internal error.";
    pp_sim_put(&b,
               "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
               "<soap:Body><soap:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring><detail /></soap:Fault>"
               "</soap:Body></soap:Envelope>",
               code, msg);
    return pp_sim_buf_finish(&b, body, len);
}

/* ---- public JSONP ------------------------------------------------------------------------ */

/* GET /parcel/api-status?id=N&jsonp=callback */
static int public_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    if (req->query_at == SIZE_MAX) {
        call->error_status = 400;
        return PP_EINVAL;
    }
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *e = amp ? amp : end;
        if (e - q > 3 && memcmp(q, "id=", 3) == 0)
            return pp_sim_call_add(call, q + 3, (size_t)(e - q - 3));
        q = e + 1;
    }
    call->error_status = 400;
    return PP_EINVAL;
}

static int public_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    char w[40];
    *status = 200;
    const pp_sim_parcel_t *p = n ? &parcels[0] : NULL;
    if (!p || !p->valid || p->visible == 0) {
        bool ad = p && strncmp(p->number, "AD", 2) == 0;
        pp_sim_put(&b, "callback({\"status\":\"\",\"number\":\"");
        if (p)
            pp_sim_put_escaped_json(&b, p->number);
        pp_sim_put(&b,
                   "\",\"full\":false,\"history\":[],\"label\":\"\",\"return\":false,\"truckNo\":null,"
                   "\"returnTruck\":null,\"historyHtml\":\"\",\"err\":%s});",
                   ad ? "1003" : "null");
        return pp_sim_buf_finish(&b, body, len);
    }
    const orlen_step_t last = step_name(p->sc.steps[p->visible - 1].kind, &p->sc);
    pp_sim_put(&b,
               "callback({\"status\":\"OK\",\"number\":\"%s\",\"full\":true,\"label\":\"%s\",\"return\":%s,"
               "\"truckNo\":null,\"returnTruck\":null,\"history\":[",
               p->number, last.label, last.attr[0] ? "true" : "false");
    for (int k = 0; k < p->visible; k++) {
        const pp_sim_step_t *s = &p->sc.steps[k];
        orlen_step_t o = step_name(s->kind, &p->sc);
        pp_sim_format_warsaw(p->origin + (time_t)s->at_s, w); /* YYYY-MM-DDTHH:MM */
        pp_sim_put(&b, "%s{\"date\":\"%.2s-%.2s-%.4s, %.5s\",\"code\":\"%d\",\"label\":\"%s\",\"labelShort\":\"%s\"}",
                   k ? "," : "", w + 8, w + 5, w, w + 11, o.code, o.label, o.label);
    }
    pp_sim_put(&b, "],\"historyHtml\":\"\",\"err\":null});");
    return pp_sim_buf_finish(&b, body, len);
}

static int public_error(int status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    pp_sim_put(&b, "<html><head><title>%d</title></head><body><h1>%d</h1></body></html>\n", status,
               status);
    return pp_sim_buf_finish(&b, body, len);
}

const pp_sim_shape_t pp_sim_shape_orlen = {
    .carrier = "orlen",
    .route = ORLEN_SOAP_ROUTE,
    .content_type = "text/xml; charset=utf-8",
    .parse_request = soap_parse_request,
    .check_auth = soap_check_auth,
    .number_ok = orlen_number_ok,
    .render = soap_render,
    .render_error = soap_error,
};

const pp_sim_shape_t pp_sim_shape_orlen_public = {
    .carrier = "orlen_public",
    .route = ORLEN_PUBLIC_ROUTE,
    .content_type = "application/javascript; charset=utf-8",
    .parse_request = public_parse_request,
    .number_ok = orlen_number_ok,
    .render = public_render,
    .render_error = public_error,
};
