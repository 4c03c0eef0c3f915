/* orlen_soap.c - ORLEN Paczka's partner SOAP answer (GiveMePackStatusFullHistoryList) read with libxml2. */
#include "orlen.h"
#include "../err.h"
#include "../timeutil.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SOAP Data: "YYYY-MM-DDTHH:MM:SS[.fffffff][Z]", Warsaw wall time despite the 'Z'. */
static int soap_time(const char *s, time_t *out)
{
    int Y, M, D, h, m, sec = 0;
    const char *p = s;
    if (pp_time_digits(&p, 4, &Y) || *p++ != '-' || pp_time_digits(&p, 2, &M) || *p++ != '-' ||
        pp_time_digits(&p, 2, &D) || (*p != 'T' && *p != ' ') || (p++, pp_time_digits(&p, 2, &h)) ||
        *p++ != ':' || pp_time_digits(&p, 2, &m))
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
    const xmlNode *err; /* first Err outside a row */
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

/* Parses the body and finds the SOAP Body: PP_OK with *doc and *bodyel, or the error (an HTTP
 * status other than 200 first). *doc may be set on error too. */
static int soap_body(int http_status, const char *body, size_t len, xmlDocPtr *doc,
                     const xmlNode **bodyel, char *err, size_t errlen)
{
    if (len > (size_t)INT32_MAX) {
        pp_carrier_err(err, errlen, "body too large");
        return PP_EPARSE;
    }
    *doc = xmlReadMemory(body, (int)len, "orlen.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    const xmlNode *root = *doc ? xmlDocGetRootElement(*doc) : NULL;
    if (!root) {
        if (http_status != 200) {
            pp_carrier_err(err, errlen, "HTTP %d (body is not XML)", http_status);
            return PP_EHTTP;
        }
        pp_carrier_err(err, errlen, "body is not well-formed XML (%zu bytes, truncated?)", len);
        return PP_EPARSE;
    }
    *bodyel = is_elem(root, "Envelope") ? child(root, "Body") : NULL;
    if (!*bodyel) {
        if (http_status != 200) {
            pp_carrier_err(err, errlen, "HTTP %d (not a SOAP envelope)", http_status);
            return PP_EHTTP;
        }
        pp_carrier_err(err, errlen, "not a SOAP envelope (root <%s>)", (const char *)root->name);
        return PP_EPARSE;
    }
    return PP_OK;
}

/* The answer's own errors: a SOAP fault (or an HTTP status other than 200), an Err other than
 * 0 and 006-008, no Response element. */
static int soap_errors(int http_status, const xmlNode *bodyel, const walk_t *w, char *err, size_t errlen)
{
    if (w->fault || http_status != 200) {
        char code[64] = "", msg[200] = "";
        text_of(child(w->fault, "faultcode"), code, sizeof code);
        text_of(child(w->fault, "faultstring"), msg, sizeof msg);
        pp_carrier_err(err, errlen, "HTTP %d: SOAP fault%s%s%s%s", http_status, code[0] ? " " : "",
                       code, msg[0] ? ": " : "", msg);
        return PP_EHTTP;
    }
    if (w->err) {
        char es[32], des[200] = "";
        long ev = 0;
        text_of(w->err, es, sizeof es);
        text_of(child(w->err->parent, "ErrDes"), des, sizeof des);
        if (es[0] && pp_orlen_parse_int(es, &ev) != 0) {
            pp_carrier_err(err, errlen, "Err '%s' is not a number", es);
            return PP_EPARSE;
        }
        /* 0 and 006-008 mean OK (compare numerically: "000", "6") */
        if (es[0] && ev != 0 && !(ev >= 6 && ev <= 8)) {
            pp_carrier_err(err, errlen, "ORLEN Paczka error %s%s%s", es, des[0] ? ": " : "", des);
            return PP_EHTTP;
        }
    }
    if (!child(bodyel, ORLEN_OP "Response")) {
        pp_carrier_err(err, errlen, "no " ORLEN_OP "Response in the SOAP body");
        return PP_EPARSE;
    }
    return PP_OK;
}

/* Groups the rows by PackCode in order of first appearance: one result each in r (*nr of them,
 * room for their events allocated), owner[i] = the result of row i. */
static int soap_group(const walk_t *w, pp_track_result_t *r, size_t *nr, size_t *owner, char *err,
                      size_t errlen)
{
    size_t *counts = calloc(w->n ? w->n : 1, sizeof *counts);
    int rc = PP_OK;
    if (!counts)
        return PP_ENOMEM;
    for (size_t i = 0; i < w->n; i++) {
        char pc[64];
        text_of(child(w->rows[i], "PackCode"), pc, sizeof pc);
        if (!pc[0]) {
            pp_carrier_err(err, errlen, "row %zu: empty PackCode", i);
            rc = PP_EPARSE;
            goto out;
        }
        size_t k = 0;
        while (k < *nr && strcmp(r[k].tracking_number, pc) != 0)
            k++;
        if (k == *nr)
            snprintf(r[(*nr)++].tracking_number, sizeof r[0].tracking_number, "%s", pc);
        owner[i] = k;
        counts[k]++;
    }
    for (size_t k = 0; k < *nr; k++) {
        r[k].found = true;
        if (!(r[k].events = calloc(counts[k], sizeof *r[k].events))) {
            rc = PP_ENOMEM;
            goto out;
        }
    }
out:
    free(counts);
    return rc;
}

/* Each row as an event of its result (archiving rows dropped); then each result's events sorted by time. */
static int soap_events(const walk_t *w, pp_track_result_t *r, size_t nr, const size_t *owner,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < w->n; i++) {
        char trans[32], des[256], data[64], attr[32];
        long code;
        pp_track_result_t *res = &r[owner[i]];
        text_of(child(w->rows[i], "Trans"), trans, sizeof trans);
        text_of(child(w->rows[i], "Trans_Des"), des, sizeof des);
        text_of(child(w->rows[i], "Data"), data, sizeof data);
        text_of(child(w->rows[i], "Attribute"), attr, sizeof attr);
        if (pp_orlen_parse_int(trans, &code) != 0) {
            pp_carrier_err(err, errlen, "%s: Trans '%.20s' is not a number", res->tracking_number,
                           trans);
            return PP_EPARSE;
        }
        if (code == ORLEN_ARCHIVED)
            continue; /* archiving: not a parcel event */
        pp_track_event_t *ev = &res->events[res->n_events];
        if (soap_time(data, &ev->occurred_at) != 0) {
            pp_carrier_err(err, errlen, "%s: Data '%.40s' is not a timestamp", res->tracking_number,
                           data);
            return PP_EPARSE;
        }
        ev->status = pp_orlen_map_code((int)code, attr, des);
        if (attr[0])
            snprintf(ev->carrier_code, sizeof ev->carrier_code, "%ld_%s", code, attr);
        else
            snprintf(ev->carrier_code, sizeof ev->carrier_code, "%ld", code);
        snprintf(ev->description, sizeof ev->description, "%s", des[0] ? des : trans);
        res->n_events++;
    }
    for (size_t k = 0; k < nr; k++)
        pp_track_events_sort(r[k].events, r[k].n_events);
    return PP_OK;
}

int pp_orlen_parse_soap(int http_status, const char *body, size_t len, pp_track_result_t **results,
                        size_t *n_results, char *err, size_t errlen)
{
    pp_track_result_t *r = NULL;
    size_t nr = 0, *owner = NULL;
    walk_t w = {0};
    xmlDocPtr doc = NULL;
    const xmlNode *bodyel = NULL;
    pthread_once(&xml_once, xml_init);
    int rc = soap_body(http_status, body, len, &doc, &bodyel, err, errlen);
    if (rc)
        goto fail;
    walk(bodyel->children, &w, 0);
    if (w.oom) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = soap_errors(http_status, bodyel, &w, err, errlen)))
        goto fail;
    if ((w.n && !(r = calloc(w.n, sizeof *r))) || !(owner = calloc(w.n ? w.n : 1, sizeof *owner))) {
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = soap_group(&w, r, &nr, owner, err, errlen)) ||
        (rc = soap_events(&w, r, nr, owner, err, errlen)))
        goto fail;
    free(owner);
    free(w.rows);
    xmlFreeDoc(doc);
    *results = r;
    *n_results = nr;
    return PP_OK;
fail:
    free(owner);
    pp_track_results_free(r, nr);
    free(w.rows);
    xmlFreeDoc(doc);
    return rc;
}
