/* orlen.c - ORLEN Paczka adapter: partner SOAP GiveMePackStatusFullHistoryList (libxml2) or the public JSONP tracker. */
#include "carrier.h"
#include "../err.h"
#include "../timeutil.h"
#include "numbers.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Facts: research/carriers.md §7 ([observed]: partner clients and a public tracker client;
 * the official PDF was not read).
 *
 * Transport. One adapter, two transports chosen by config (the interface has no config in
 * max_batch, and two registry rows would make two carrier names for one number format):
 *  - partner credentials set (orlen_partner_id and orlen_partner_key): SOAP 1.1 POST
 *    {orlen_base_url}/WebServicePwRProd/WebServicePwR.asmx, GiveMePackStatusFullHistoryList,
 *    up to 1000 numbers (max_batch);
 *  - otherwise the public tracker GET {orlen_public_url}/parcel/api-status?id=N&jsonp=callback,
 *    ONE number per request: build_request refuses n > 1 with PP_EINVAL, so a poller without
 *    partner credentials send ORLEN numbers one at a time (batch_limit() says so).
 * parse() tells the two answers apart by their first byte ('<' = SOAP).
 *
 * Times. SOAP `Data` ends in 'Z' but is Europe/Warsaw local time (§7.1/§10: 09:45:23Z means
 * 09:45 in Warsaw), so the 'Z' is ignored on purpose and the wall time converted with
 * pp_time_warsaw_to_utc; an explicit numeric offset, should one ever appear, is honoured.
 * JSONP `date` is "DD-MM-YYYY, HH:MM", Warsaw local time as well.
 *
 * Not found. SOAP: a number without rows is simply absent from the answer (the poller then
 * counts it as not found); [inferred: the research shows no not-found answer]. JSONP:
 * status "" with an empty history (or err set, e.g. 1003 for Allegro Delivery AD... codes).
 */

#define ORLEN_MAX_BATCH 1000
#define ORLEN_SOAP_PATH "/WebServicePwRProd/WebServicePwR.asmx"
#define ORLEN_OP "GiveMePackStatusFullHistoryList"

extern const pp_carrier_t pp_carrier_orlen;

typedef struct orlen_code {
    int code;
    pp_status_t status;
} orlen_code_t;

/* Trans codes §7.2 (Polish names there and in Trans_Des). 888 (archiving) is dropped. */
static const orlen_code_t codes[] = {
    {200, PP_ST_INFO_RECEIVED}, /* Zaawizowana do PwR: announced, no scan yet */
    {201, PP_ST_EXCEPTION},     /* Anulowane awizo */
    /* on the way */
    {100, PP_ST_IN_TRANSIT}, {110, PP_ST_IN_TRANSIT}, {120, PP_ST_IN_TRANSIT},
    {193, PP_ST_IN_TRANSIT}, {195, PP_ST_IN_TRANSIT}, {210, PP_ST_IN_TRANSIT},
    {230, PP_ST_IN_TRANSIT}, {240, PP_ST_IN_TRANSIT}, {241, PP_ST_IN_TRANSIT},
    {300, PP_ST_IN_TRANSIT}, {400, PP_ST_IN_TRANSIT}, {401, PP_ST_IN_TRANSIT},
    {450, PP_ST_IN_TRANSIT}, {653, PP_ST_IN_TRANSIT}, {681, PP_ST_IN_TRANSIT},
    /* last leg to the point ("released for delivery" in the research's plugin) */
    {610, PP_ST_OUT_FOR_DELIVERY}, {660, PP_ST_OUT_FOR_DELIVERY}, {665, PP_ST_OUT_FOR_DELIVERY},
    {670, PP_ST_OUT_FOR_DELIVERY}, {680, PP_ST_OUT_FOR_DELIVERY}, {685, PP_ST_OUT_FOR_DELIVERY},
    /* waiting at the point */
    {620, PP_ST_AVAILABLE_FOR_PICKUP}, {690, PP_ST_AVAILABLE_FOR_PICKUP},
    {691, PP_ST_AVAILABLE_FOR_PICKUP}, {695, PP_ST_AVAILABLE_FOR_PICKUP},
    {696, PP_ST_AVAILABLE_FOR_PICKUP},
    /* problems ("issue" in the plugin; 700 is uncertain: its name reads like transit) */
    {677, PP_ST_EXCEPTION}, {679, PP_ST_EXCEPTION}, {700, PP_ST_EXCEPTION},
    {708, PP_ST_EXCEPTION}, {710, PP_ST_EXCEPTION}, {711, PP_ST_EXCEPTION},
    {712, PP_ST_EXCEPTION}, {714, PP_ST_EXCEPTION}, {729, PP_ST_EXCEPTION},
    {739, PP_ST_EXCEPTION}, {749, PP_ST_EXCEPTION}, {780, PP_ST_EXCEPTION},
    {790, PP_ST_EXCEPTION}, {800, PP_ST_EXCEPTION}, {999, PP_ST_EXCEPTION},
    {2000, PP_ST_EXCEPTION},
    /* going back to the sender: Powrót - nieodebrana w terminie, Zwrot do nadawcy */
    {709, PP_ST_RETURNING}, {750, PP_ST_RETURNING}, {900, PP_ST_RETURNING},
    /* done. 1100 "Odebrana" = delivered per research §10 (the §7.2 plugin says returned). */
    {1000, PP_ST_DELIVERED}, {1100, PP_ST_DELIVERED},
    {1200, PP_ST_RETURNED}, /* Odebrana - zwrot */
    {1220, PP_ST_RETURNED}, /* Zwrot do nadawcy (picked up by the sender) */
};

#define ORLEN_ARCHIVED 888

/*
 * Code + attribute -> status. POWROT / 2_POWROT (parcel going back to the sender):
 * 1000/1100/1220 = returned, anything else = returning. ZWROT (a consumer return) keeps
 * the plain mapping. 690 in the public tracker also means "in another country" (§7.3).
 */
static pp_status_t map_code(int code, const char *attribute, const char *label)
{
    pp_status_t st = PP_ST_UNKNOWN;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            st = codes[i].status;
    if (attribute && (strcmp(attribute, "POWROT") == 0 || strcmp(attribute, "2_POWROT") == 0) &&
        st != PP_ST_UNKNOWN)
        return code == 1000 || code == 1100 || code == 1200 || code == 1220 ? PP_ST_RETURNED
                                                                           : PP_ST_RETURNING;
    if (code == 690 && label && strstr(label, "innym kraju"))
        return PP_ST_IN_TRANSIT;
    return st;
}

/* 13 digits starting 2 or 3, or 7 or 10 digits (§7.4). */
static bool orlen_validate(const char *number)
{
    return pp_number_valid("orlen", number);
}

/* Append s to *buf (realloc'd) with XML escaping. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_xml(sbuf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_str(b, "&lt;"); break;
        case '>': sb_str(b, "&gt;"); break;
        case '&': sb_str(b, "&amp;"); break;
        case '"': sb_str(b, "&quot;"); break;
        case '\'': sb_str(b, "&apos;"); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                break; /* not allowed in XML 1.0 */
            sb_put(b, s, 1);
        }
    }
}

static int build_soap(const pp_config_t *cfg, const char *const *numbers, size_t n, pp_http_request_t *req)
{
    sbuf_t b = {0};
    int rc;
    const char *ns = cfg->orlen_soap_ns && cfg->orlen_soap_ns[0] ? cfg->orlen_soap_ns
                                                                 : "https://91.242.220.103/WebServicePwR";
    req->method = "POST";
    if (asprintf(&req->url, "%.*s" ORLEN_SOAP_PATH, (int)pp_carrier_base_len(cfg->orlen_base_url), cfg->orlen_base_url) < 0) {
        req->url = NULL;
        return PP_ENOMEM;
    }
    sb_str(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
               "<soap:Body><" ORLEN_OP " xmlns=\"");
    sb_xml(&b, ns);
    sb_str(&b, "\"><PartnerID>");
    sb_xml(&b, cfg->orlen_partner_id);
    sb_str(&b, "</PartnerID><PartnerKey>");
    sb_xml(&b, cfg->orlen_partner_key);
    sb_str(&b, "</PartnerKey><PackCodes>");
    for (size_t i = 0; i < n; i++) {
        sb_str(&b, "<string>");
        sb_xml(&b, numbers[i]);
        sb_str(&b, "</string>");
    }
    sb_str(&b, "</PackCodes></" ORLEN_OP "></soap:Body></soap:Envelope>\n");
    if (b.oom) {
        free(b.p);
        return PP_ENOMEM;
    }
    req->body = b.p;
    req->body_len = b.len;
    size_t nl = strlen(ns);
    while (nl > 0 && ns[nl - 1] == '/')
        nl--;
    if ((rc = pp_http_request_add_header(req, "Content-Type: text/xml; charset=utf-8")) ||
        (rc = pp_http_request_add_header(req, "SOAPAction: \"%.*s/" ORLEN_OP "\"", (int)nl, ns)))
        return rc;
    return PP_OK;
}

static int build_public(const pp_config_t *cfg, const char *number, pp_http_request_t *req)
{
    char esc[3 * 64 + 1];
    if (pp_carrier_url_escape(number, esc, sizeof esc))
        return PP_EINVAL;
    req->method = "GET";
    if (asprintf(&req->url, "%.*s/parcel/api-status?id=%s&jsonp=callback", (int)pp_carrier_base_len(cfg->orlen_public_url),
                 cfg->orlen_public_url, esc) < 0) {
        req->url = NULL;
        return PP_ENOMEM;
    }
    return pp_http_request_add_header(req, "Accept: application/javascript, application/json");
}

static bool has_partner(const pp_config_t *cfg)
{
    return cfg->orlen_partner_id && cfg->orlen_partner_id[0] && cfg->orlen_partner_key &&
           cfg->orlen_partner_key[0];
}

/* The partner SOAP list takes up to 1000 numbers; the public tracker one. */
static int orlen_batch_limit(const pp_config_t *cfg)
{
    return has_partner(cfg) ? ORLEN_MAX_BATCH : 1;
}

static int orlen_build_request(const pp_config_t *cfg, const char *token, const char *const *numbers,
                               size_t n, pp_http_request_t *req)
{
    int rc;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n < 1 || n > ORLEN_MAX_BATCH)
        return PP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!numbers[i] || !numbers[i][0] || strlen(numbers[i]) > 63)
            return PP_EINVAL;
    if (has_partner(cfg)) {
        if (!pp_carrier_base_len(cfg->orlen_base_url))
            return PP_EINVAL;
        rc = build_soap(cfg, numbers, n, req);
    } else {
        if (n != 1 || !pp_carrier_base_len(cfg->orlen_public_url))
            return PP_EINVAL; /* the public tracker takes one number */
        rc = build_public(cfg, numbers[0], req);
    }
    if (rc)
        pp_http_request_free(req);
    return rc;
}

/* ---- times ------------------------------------------------------------------------------- */

/* SOAP Data: "YYYY-MM-DDTHH:MM:SS[.fffffff][Z]", Warsaw wall time despite the 'Z'. */
static int soap_time(const char *s, time_t *out)
{
    int Y, M, D, h, m, sec = 0;
    const char *p = s;
    if (pp_time_digits(&p, 4, &Y) || *p++ != '-' || pp_time_digits(&p, 2, &M) || *p++ != '-' || pp_time_digits(&p, 2, &D) ||
        (*p != 'T' && *p != ' ') || (p++, pp_time_digits(&p, 2, &h)) || *p++ != ':' || pp_time_digits(&p, 2, &m))
        return PP_EPARSE;
    if (*p == ':') {
        p++;
        if (pp_time_digits(&p, 2, &sec))
            return PP_EPARSE;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return PP_EPARSE;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (*p == '+' || *p == '-') { /* a real offset: trust it */
        int zone = 0;
        return pp_time_parse_iso(s, out, &zone) == 0 && zone ? PP_OK : PP_EPARSE;
    }
    if (*p == 'Z' || *p == 'z') /* misleading: the wall time is Warsaw's (research §7.1) */
        p++;
    if (*p != '\0')
        return PP_EPARSE;
    return pp_time_warsaw_to_utc(Y, M, D, h, m, sec, out);
}

/* JSONP date: "DD-MM-YYYY, HH:MM" (also without the comma, or with ":SS"), Warsaw local time. */
static int public_time(const char *s, time_t *out)
{
    int Y, M, D, h, m, sec = 0;
    const char *p = s;
    if (pp_time_digits(&p, 2, &D) || *p++ != '-' || pp_time_digits(&p, 2, &M) || *p++ != '-' || pp_time_digits(&p, 4, &Y))
        return PP_EPARSE;
    if (*p == ',')
        p++;
    if (*p != ' ')
        return PP_EPARSE;
    while (*p == ' ')
        p++;
    if (pp_time_digits(&p, 2, &h) || *p++ != ':' || pp_time_digits(&p, 2, &m))
        return PP_EPARSE;
    if (*p == ':' && (p++, pp_time_digits(&p, 2, &sec)))
        return PP_EPARSE;
    if (*p != '\0')
        return PP_EPARSE;
    return pp_time_warsaw_to_utc(Y, M, D, h, m, sec, out);
}

/* Strict non-negative integer (leading zeros allowed: Err "006"). */
static int parse_int(const char *s, long *out)
{
    char *end;
    while (*s == ' ')
        s++;
    if (!isdigit((unsigned char)*s))
        return PP_EPARSE;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || *end || v > 1000000)
        return PP_EPARSE;
    *out = v;
    return PP_OK;
}

/* ---- SOAP -------------------------------------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

static bool is_elem(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is_elem(c, name))
            return c;
    return NULL;
}

/* Text of an element (malloc'd by libxml2, trimmed copy into out). */
static void text_of(const xmlNode *n, char *out, size_t cap)
{
    out[0] = '\0';
    if (!n)
        return;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t)
        return;
    const char *s = (const char *)t;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t l = strlen(s);
    while (l > 0 && isspace((unsigned char)s[l - 1]))
        l--;
    snprintf(out, cap, "%.*s", (int)(l < cap ? l : cap - 1), s);
    xmlFree(t);
}

/* A row = an element with PackCode and Trans children (PackStatus, or a DataSet row). */
static bool is_row(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && child(n, "PackCode") && child(n, "Trans");
}

typedef struct walk {
    const xmlNode **rows;
    size_t n, cap;
    const xmlNode *err;  /* first Err outside a row */
    const xmlNode *fault;
    int oom;
} walk_t;

static void walk(const xmlNode *n, walk_t *w, int depth)
{
    for (; n && !w->oom; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (depth > 64)
            return;
        if (is_row(n)) {
            if (w->n == w->cap) {
                size_t nc = w->cap ? w->cap * 2 : 64;
                const xmlNode **nr = realloc(w->rows, nc * sizeof *nr);
                if (!nr) {
                    w->oom = 1;
                    return;
                }
                w->rows = nr;
                w->cap = nc;
            }
            w->rows[w->n++] = n;
            continue;
        }
        if (is_elem(n, "Fault") && !w->fault)
            w->fault = n;
        if (is_elem(n, "Err") && !w->err)
            w->err = n;
        walk(n->children, w, depth + 1);
    }
}

static int parse_soap(int http_status, const char *body, size_t len, pp_track_result_t **results,
                      size_t *n_results, char *err, size_t errlen)
{
    pp_track_result_t *r = NULL;
    size_t nr = 0;
    walk_t w = {0};
    int rc;
    pthread_once(&xml_once, xml_init);
    if (len > (size_t)INT32_MAX) {
        pp_carrier_err(err, errlen, "body too large");
        return PP_EPARSE;
    }
    xmlDocPtr doc = xmlReadMemory(body, (int)len, "orlen.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        if (http_status != 200) {
            pp_carrier_err(err, errlen, "HTTP %d (body is not XML)", http_status);
            rc = PP_EHTTP;
        } else {
            pp_carrier_err(err, errlen, "body is not well-formed XML (%zu bytes, truncated?)", len);
            rc = PP_EPARSE;
        }
        goto fail;
    }
    const xmlNode *bodyel = is_elem(root, "Envelope") ? child(root, "Body") : NULL;
    if (!bodyel) {
        if (http_status != 200) {
            pp_carrier_err(err, errlen, "HTTP %d (not a SOAP envelope)", http_status);
            rc = PP_EHTTP;
        } else {
            pp_carrier_err(err, errlen, "not a SOAP envelope (root <%s>)", (const char *)root->name);
            rc = PP_EPARSE;
        }
        goto fail;
    }
    walk(bodyel->children, &w, 0);
    if (w.oom) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if (w.fault || http_status != 200) {
        char code[64] = "", msg[200] = "";
        text_of(child(w.fault, "faultcode"), code, sizeof code);
        text_of(child(w.fault, "faultstring"), msg, sizeof msg);
        pp_carrier_err(err, errlen, "HTTP %d: SOAP fault%s%s%s%s", http_status, code[0] ? " " : "", code,
                msg[0] ? ": " : "", msg);
        rc = PP_EHTTP;
        goto fail;
    }
    if (w.err) {
        char es[32], des[200] = "";
        long ev;
        text_of(w.err, es, sizeof es);
        text_of(child(w.err->parent, "ErrDes"), des, sizeof des);
        if (es[0] && parse_int(es, &ev) != 0) {
            pp_carrier_err(err, errlen, "Err '%s' is not a number", es);
            rc = PP_EPARSE;
            goto fail;
        }
        /* 0 and 006-008 mean OK (compare numerically: "000", "6") */
        if (es[0] && ev != 0 && !(ev >= 6 && ev <= 8)) {
            pp_carrier_err(err, errlen, "ORLEN Paczka error %s%s%s", es, des[0] ? ": " : "", des);
            rc = PP_EHTTP;
            goto fail;
        }
    }
    if (!child(bodyel, ORLEN_OP "Response")) {
        pp_carrier_err(err, errlen, "no " ORLEN_OP "Response in the SOAP body");
        rc = PP_EPARSE;
        goto fail;
    }
    /* Group rows by PackCode, in order of first appearance. */
    if (w.n && !(r = calloc(w.n, sizeof *r))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    size_t *counts = calloc(w.n ? w.n : 1, sizeof *counts);
    size_t *owner = calloc(w.n ? w.n : 1, sizeof *owner);
    if (!counts || !owner) {
        free(counts);
        free(owner);
        rc = PP_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < w.n; i++) {
        char pc[64];
        text_of(child(w.rows[i], "PackCode"), pc, sizeof pc);
        if (!pc[0]) {
            pp_carrier_err(err, errlen, "row %zu: empty PackCode", i);
            rc = PP_EPARSE;
            free(counts);
            free(owner);
            goto fail;
        }
        size_t k = 0;
        while (k < nr && strcmp(r[k].tracking_number, pc) != 0)
            k++;
        if (k == nr)
            snprintf(r[nr++].tracking_number, sizeof r[0].tracking_number, "%s", pc);
        owner[i] = k;
        counts[k]++;
    }
    for (size_t k = 0; k < nr; k++) {
        r[k].found = true;
        if (!(r[k].events = calloc(counts[k], sizeof *r[k].events))) {
            free(counts);
            free(owner);
            rc = PP_ENOMEM;
            goto fail;
        }
    }
    free(counts);
    rc = PP_OK;
    for (size_t i = 0; i < w.n && rc == PP_OK; i++) {
        char trans[32], des[256], data[64], attr[32];
        long code;
        pp_track_result_t *res = &r[owner[i]];
        text_of(child(w.rows[i], "Trans"), trans, sizeof trans);
        text_of(child(w.rows[i], "Trans_Des"), des, sizeof des);
        text_of(child(w.rows[i], "Data"), data, sizeof data);
        text_of(child(w.rows[i], "Attribute"), attr, sizeof attr);
        if (parse_int(trans, &code) != 0) {
            pp_carrier_err(err, errlen, "%s: Trans '%.20s' is not a number", res->tracking_number, trans);
            rc = PP_EPARSE;
            break;
        }
        if (code == ORLEN_ARCHIVED)
            continue; /* archiving: not a parcel event */
        pp_track_event_t *ev = &res->events[res->n_events];
        if (soap_time(data, &ev->occurred_at) != 0) {
            pp_carrier_err(err, errlen, "%s: Data '%.40s' is not a timestamp", res->tracking_number, data);
            rc = PP_EPARSE;
            break;
        }
        ev->status = map_code((int)code, attr, des);
        if (attr[0])
            snprintf(ev->carrier_code, sizeof ev->carrier_code, "%ld_%s", code, attr);
        else
            snprintf(ev->carrier_code, sizeof ev->carrier_code, "%ld", code);
        snprintf(ev->description, sizeof ev->description, "%s", des[0] ? des : trans);
        res->n_events++;
    }
    free(owner);
    if (rc)
        goto fail;
    for (size_t k = 0; k < nr; k++)
        pp_track_events_sort(r[k].events, r[k].n_events);
    free(w.rows);
    xmlFreeDoc(doc);
    *results = r;
    *n_results = nr;
    return PP_OK;
fail:
    pp_track_results_free(r, nr);
    free(w.rows);
    xmlFreeDoc(doc);
    return rc;
}

/* ---- public JSONP ------------------------------------------------------------------------ */

/* A string or a number member as text; absent/null -> "" ; other types -> PP_EPARSE. */
static int str_or_num(const cJSON *o, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    out[0] = '\0';
    if (!v || cJSON_IsNull(v))
        return PP_OK;
    if (cJSON_IsString(v)) {
        snprintf(out, cap, "%s", v->valuestring);
        return PP_OK;
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9) {
        snprintf(out, cap, "%ld", (long)v->valuedouble);
        return PP_OK;
    }
    return PP_EPARSE;
}

static int parse_public(int http_status, const char *body, size_t len, pp_track_result_t **results,
                        size_t *n_results, char *err, size_t errlen)
{
    cJSON *root = NULL;
    pp_track_result_t *r = NULL;
    int rc;
    if (http_status != 200) {
        pp_carrier_err(err, errlen, "HTTP %d from the public tracker", http_status);
        return PP_EHTTP;
    }
    /* callback( ... ); -> the JSON inside. Plain JSON is accepted too. */
    size_t a = 0, b = len;
    while (a < b && isspace((unsigned char)body[a]))
        a++;
    while (b > a && (isspace((unsigned char)body[b - 1]) || body[b - 1] == ';'))
        b--;
    if (a < b && body[a] != '{') {
        size_t i = a;
        while (i < b && (isalnum((unsigned char)body[i]) || body[i] == '_' || body[i] == '$' || body[i] == '.'))
            i++;
        if (i == a || i >= b || body[i] != '(' || body[b - 1] != ')') {
            pp_carrier_err(err, errlen, "body is neither JSONP callback(...) nor JSON (%zu bytes)", len);
            return PP_EPARSE;
        }
        a = i + 1;
        b--;
    }
    if (a >= b || !(root = cJSON_ParseWithLength(body + a, b - a)) || !cJSON_IsObject(root)) {
        pp_carrier_err(err, errlen, "JSONP payload is not a JSON object (truncated?)");
        rc = PP_EPARSE;
        goto fail;
    }
    char status[32], number[64], errc[32];
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(root, "history");
    if (str_or_num(root, "status", status, sizeof status) || str_or_num(root, "number", number, sizeof number) ||
        str_or_num(root, "err", errc, sizeof errc)) {
        pp_carrier_err(err, errlen, "status/number/err has the wrong type");
        rc = PP_EPARSE;
        goto fail;
    }
    if (hist && !cJSON_IsNull(hist) && !cJSON_IsArray(hist)) {
        pp_carrier_err(err, errlen, "history is not an array");
        rc = PP_EPARSE;
        goto fail;
    }
    if (!(r = calloc(1, sizeof *r))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    snprintf(r->tracking_number, sizeof r->tracking_number, "%s", number);
    size_t n = cJSON_IsArray(hist) ? (size_t)cJSON_GetArraySize(hist) : 0;
    if (!status[0] || n == 0) {
        /* "" with an empty history = no data (err 1003 = Allegro Delivery code) */
        if (strcmp(status, "OK") == 0 && n == 0 && !errc[0]) {
            r->found = true; /* known, no scans yet */
        } else if (status[0] && strcmp(status, "OK") != 0) {
            pp_carrier_err(err, errlen, "unexpected status '%.20s'", status);
            rc = PP_EPARSE;
            goto fail;
        }
        goto done;
    }
    if (strcmp(status, "OK") != 0) {
        pp_carrier_err(err, errlen, "unexpected status '%.20s'", status);
        rc = PP_EPARSE;
        goto fail;
    }
    r->found = true;
    if (!(r->events = calloc(n, sizeof *r->events))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    size_t i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, hist)
    {
        char code[16], date[40], label[200], shortl[100];
        long c;
        if (!cJSON_IsObject(h) || str_or_num(h, "code", code, sizeof code) ||
            str_or_num(h, "date", date, sizeof date) || str_or_num(h, "label", label, sizeof label) ||
            str_or_num(h, "labelShort", shortl, sizeof shortl)) {
            pp_carrier_err(err, errlen, "history[%zu] is not an object of strings", i);
            rc = PP_EPARSE;
            goto fail;
        }
        if (parse_int(code, &c) != 0) {
            pp_carrier_err(err, errlen, "history[%zu].code '%.15s' is not a number", i, code);
            rc = PP_EPARSE;
            goto fail;
        }
        i++;
        if (c == ORLEN_ARCHIVED)
            continue;
        pp_track_event_t *ev = &r->events[r->n_events];
        if (public_time(date, &ev->occurred_at) != 0) {
            pp_carrier_err(err, errlen, "history[%zu].date '%.40s' is not DD-MM-YYYY, HH:MM", i - 1, date);
            rc = PP_EPARSE;
            goto fail;
        }
        ev->status = map_code((int)c, NULL, label);
        snprintf(ev->carrier_code, sizeof ev->carrier_code, "%ld", c);
        snprintf(ev->description, sizeof ev->description, "%s", label[0] ? label : shortl);
        r->n_events++;
    }
    pp_track_events_sort(r->events, r->n_events); /* wire: oldest first already (§7.3); stable */
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

static int orlen_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
                       size_t *n_results, char *err, size_t errlen)
{
    *results = NULL;
    *n_results = 0;
    if (err && errlen)
        err[0] = '\0';
    size_t a = 0;
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
        a = 3;
    while (body && a < len && isspace((unsigned char)body[a]))
        a++;
    if (!body || a >= len) {
        if (http_status != 200) {
            pp_carrier_err(err, errlen, "HTTP %d with an empty body", http_status);
            return PP_EHTTP;
        }
        pp_carrier_err(err, errlen, "empty body");
        return PP_EPARSE;
    }
    if (body[a] == '<')
        return parse_soap(http_status, body, len, results, n_results, err, errlen);
    return parse_public(http_status, body, len, results, n_results, err, errlen);
}

const pp_carrier_t pp_carrier_orlen = {
    .name = "orlen",
    .display = "ORLEN Paczka",
    .max_batch = ORLEN_MAX_BATCH,
    .batch_limit = orlen_batch_limit,
    .build_request = orlen_build_request,
    .parse_raw = orlen_parse,
    .validate = orlen_validate,
};
