/* soapxml.c - safe libxml2 parsing and local-name walking of SOAP envelopes, XML escaping. */
#include "soapxml.h"
#include "carrier.h"
#include "../err.h"

#include <libxml/parser.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_parser(void) { xmlInitParser(); }

int pp_soapxml_parse(const char *body, size_t len, xmlDocPtr *doc, char *err, size_t errlen)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr d = NULL;
    *doc = NULL;
    if (!body || len == 0) {
        snprintf(err, errlen, "empty body");
        return PP_EPARSE;
    }
    if (len > INT_MAX) {
        snprintf(err, errlen, "body too large (%zu bytes)", len);
        return PP_EPARSE;
    }
    pthread_once(&init_once, init_parser);
    if (!(ctxt = xmlNewParserCtxt()))
        return PP_ENOMEM;
    /* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading, no network. */
    d = xmlCtxtReadMemory(ctxt, body, (int)len, "response.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!d || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[160] = "";
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            size_t ml = strlen(msg);
            while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
                msg[--ml] = '\0';
        }
        snprintf(err, errlen, "body is not well-formed XML (%zu bytes; line %d: %s)", len,
                 e ? e->line : 0, msg[0] ? msg : "unknown error");
        goto fail;
    }
    if (d->intSubset || d->extSubset) {
        snprintf(err, errlen, "document has a DTD (not allowed in SOAP)");
        goto fail;
    }
    if (!xmlDocGetRootElement(d)) {
        snprintf(err, errlen, "document has no root element");
        goto fail;
    }
    xmlFreeParserCtxt(ctxt);
    *doc = d;
    return PP_OK;
fail:
    if (d)
        xmlFreeDoc(d);
    xmlFreeParserCtxt(ctxt);
    return PP_EPARSE;
}

static bool is_elem(xmlNodePtr n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && (!local || xmlStrcmp(n->name, BAD_CAST local) == 0);
}

static bool soap_ns(xmlNodePtr n)
{
    return n->ns && n->ns->href &&
           (xmlStrcmp(n->ns->href, BAD_CAST PP_SOAP11_NS) == 0 ||
            xmlStrcmp(n->ns->href, BAD_CAST PP_SOAP12_NS) == 0);
}

xmlNodePtr pp_soapxml_child(xmlNodePtr parent, const char *local)
{
    if (!parent)
        return NULL;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (is_elem(c, local))
            return c;
    return NULL;
}

xmlNodePtr pp_soapxml_next(xmlNodePtr n, const char *local)
{
    for (n = n ? n->next : NULL; n; n = n->next)
        if (is_elem(n, local))
            return n;
    return NULL;
}

xmlNodePtr pp_soapxml_first(xmlNodePtr parent) { return pp_soapxml_child(parent, NULL); }

xmlNodePtr pp_soapxml_body(xmlDocPtr doc)
{
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!is_elem(root, "Envelope") || !soap_ns(root))
        return NULL;
    for (xmlNodePtr c = root->children; c; c = c->next)
        if (is_elem(c, "Body") && soap_ns(c))
            return c;
    return NULL;
}

bool pp_soapxml_is_nil(xmlNodePtr n)
{
    if (!n)
        return false;
    xmlChar *v = xmlGetNsProp(n, BAD_CAST "nil", BAD_CAST "http://www.w3.org/2001/XMLSchema-instance");
    bool nil = v && (xmlStrcmp(v, BAD_CAST "true") == 0 || xmlStrcmp(v, BAD_CAST "1") == 0);
    xmlFree(v);
    return nil;
}

int pp_soapxml_text(xmlNodePtr n, char *out, size_t cap)
{
    if (cap == 0)
        return PP_EINVAL;
    out[0] = '\0';
    if (!n || pp_soapxml_is_nil(n))
        return PP_OK;
    if (pp_soapxml_first(n))
        return PP_EPARSE;
    xmlChar *v = xmlNodeGetContent(n);
    if (!v)
        return PP_OK;
    const char *s = (const char *)v;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r' || s[l - 1] == '\n'))
        l--;
    if (l >= cap) {
        l = cap - 1;
        while (l > 0 && ((unsigned char)s[l] & 0xC0) == 0x80) /* do not split a character */
            l--;
    }
    memcpy(out, s, l);
    out[l] = '\0';
    xmlFree(v);
    return PP_OK;
}

bool pp_soapxml_fault(xmlNodePtr body, char *out, size_t cap)
{
    xmlNodePtr f = pp_soapxml_child(body, "Fault");
    char code[128] = "", text[384] = "";
    if (!f)
        return false;
    xmlNodePtr c = pp_soapxml_child(f, "faultcode"), s = pp_soapxml_child(f, "faultstring");
    if (!c && !s) { /* SOAP 1.2 */
        c = pp_soapxml_child(pp_soapxml_child(f, "Code"), "Value");
        s = pp_soapxml_child(pp_soapxml_child(f, "Reason"), "Text");
    }
    if (pp_soapxml_text(c, code, sizeof code) != 0)
        code[0] = '\0';
    if (pp_soapxml_text(s, text, sizeof text) != 0)
        text[0] = '\0';
    snprintf(out, cap, "%s%s%s", code, code[0] && text[0] ? ": " : "",
             code[0] || text[0] ? text : "SOAP fault without code or text");
    return true;
}

void pp_soapxml_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* Control characters other than tab/newline are not allowed in XML 1.0. */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                fputc('?', f);
            else
                fputc(*s, f);
        }
    }
}

void pp_soapxml_element(FILE *f, const char *name, const char *s)
{
    fprintf(f, "<%s>", name);
    pp_soapxml_escape(f, s);
    fprintf(f, "</%s>", name);
}

FILE *pp_soapxml_begin(char **body, size_t *blen, const char *prefix, const char *ns)
{
    *body = NULL;
    *blen = 0;
    FILE *f = open_memstream(body, blen);
    if (f)
        fprintf(f,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<soapenv:Envelope xmlns:soapenv=\"" PP_SOAP11_NS "\" xmlns:%s=\"%s\">",
                prefix, ns);
    return f;
}

int pp_soapxml_finish(FILE *f, char **body, size_t *blen, pp_http_request_t *req,
                      const char *base_url, const char *path, const char *action)
{
    int rc;
    fputs("</soapenv:Body></soapenv:Envelope>\n", f);
    if (fclose(f) != 0 || !*body) {
        free(*body);
        *body = NULL;
        return PP_ENOMEM;
    }
    req->body = *body;
    req->body_len = *blen;
    *body = NULL;
    req->method = "POST";
    if (asprintf(&req->url, "%.*s%s", (int)pp_carrier_base_len(base_url), base_url, path) < 0) {
        req->url = NULL;
        rc = PP_ENOMEM;
        goto fail;
    }
    if ((rc = pp_http_request_add_header(req, "Content-Type: text/xml; charset=utf-8")) ||
        (rc = pp_http_request_add_header(req, "SOAPAction: \"%s\"", action)) ||
        (rc = pp_http_request_add_header(req, "Accept: text/xml")))
        goto fail;
    return PP_OK;
fail:
    pp_http_request_free(req);
    return rc;
}

int pp_soapxml_open_response(int http_status, const char *body, size_t len, xmlDocPtr *doc,
                             xmlNodePtr *sbody, char *err, size_t errlen)
{
    char xerr[256] = "", fault[512];
    int rc = pp_soapxml_parse(body, len, doc, xerr, sizeof xerr);
    *sbody = rc == 0 ? pp_soapxml_body(*doc) : NULL;
    if (*sbody && pp_soapxml_fault(*sbody, fault, sizeof fault)) {
        /* e.g. bad credentials: DPD "Login failed", Poczta Polska wsse:FailedAuthentication */
        pp_carrier_err(err, errlen, "HTTP %d: SOAP fault: %s", http_status, fault);
        return PP_EHTTP;
    }
    if (http_status != 200) {
        pp_carrier_err(err, errlen, "HTTP %d%s", http_status,
                       http_status == 429 ? ": rate limited"
                                          : (*sbody ? "" : " (body is not a SOAP envelope)"));
        return PP_EHTTP;
    }
    if (rc) {
        pp_carrier_err(err, errlen, "%s", xerr);
        return rc;
    }
    if (!*sbody) {
        pp_carrier_err(err, errlen, "body is not a SOAP Envelope with a Body");
        return PP_EPARSE;
    }
    return PP_OK;
}
