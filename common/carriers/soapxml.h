/*
 * soapxml.h - SOAP over libxml2 for carrier adapters and simulator shapes: safe parsing
 * (no network, no entity expansion, no DTD), Envelope/Body/Fault lookup and element
 * walking by local name (namespace prefixes differ between servers and versions), text
 * extraction, and XML escaping for the request envelopes we build ourselves.
 * Used by carriers/dpd.c, carriers/pocztapolska.c and tools/carrier-sim/{dpd,pocztapolska}.c.
 */
#ifndef PP_CARRIERS_SOAPXML_H
#define PP_CARRIERS_SOAPXML_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PP_SOAP11_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define PP_SOAP12_NS "http://www.w3.org/2003/05/soap-envelope"

/*
 * Parse body[0..len) as XML: XML_PARSE_NONET, no XML_PARSE_NOENT (entities are never
 * substituted), and a document with a DTD is refused (SOAP forbids DTDs; this also shuts
 * out XXE and entity bombs). 0 and *doc (free with xmlFreeDoc), or PP_EPARSE with the
 * reason (libxml2's message and line) in err.
 */
int pp_soapxml_parse(const char *body, size_t len, xmlDocPtr *doc, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The Body element of a SOAP 1.1 or 1.2 Envelope root, or NULL if doc is not an envelope. */
xmlNodePtr pp_soapxml_body(xmlDocPtr doc);
/*
 * If body holds a Fault: true, and "faultcode: faultstring" (SOAP 1.1) or
 * "Code/Value: Reason/Text" (SOAP 1.2) in out. False when there is no Fault.
 */
bool pp_soapxml_fault(xmlNodePtr body, char *out, size_t cap);
/* First element child of parent with this local name (any namespace), or NULL. */
xmlNodePtr pp_soapxml_child(xmlNodePtr parent, const char *local);
/* Next element sibling after n with this local name, or NULL. */
xmlNodePtr pp_soapxml_next(xmlNodePtr n, const char *local);
/* First element child of parent, whatever its name, or NULL. */
xmlNodePtr pp_soapxml_first(xmlNodePtr parent);
/* True for an element with xsi:nil="true" (or "1"). */
bool pp_soapxml_is_nil(xmlNodePtr n);
/*
 * Text of a simple element, whitespace-trimmed, into out (truncated to cap - 1 bytes at a
 * UTF-8 character boundary). n NULL or nil gives "". Returns 0, or PP_EPARSE when the
 * element has element children (a complex value where a string belongs).
 */
int pp_soapxml_text(xmlNodePtr n, char *out, size_t cap);
/* Write s to f with &, <, >, ", ' escaped (for building envelopes with open_memstream). */
void pp_soapxml_escape(FILE *f, const char *s);
/* Write <name>s escaped</name> to f. */
void pp_soapxml_element(FILE *f, const char *name, const char *s);

struct pp_http_request;
/*
 * Request envelopes: pp_soapxml_begin opens a memstream on *body and writes the XML
 * declaration and a SOAP 1.1 <soapenv:Envelope> declaring soapenv and prefix=ns (NULL if
 * out of memory); the caller writes Header and <soapenv:Body>... Then pp_soapxml_finish
 * closes Body and Envelope and the stream, and makes req a POST of the body to
 * base_url (trailing slashes dropped) + path, with Content-Type text/xml, SOAPAction
 * "action" and Accept text/xml. PP_OK, or an error with the body and req freed.
 */
FILE *pp_soapxml_begin(char **body, size_t *blen, const char *prefix, const char *ns);
int pp_soapxml_finish(FILE *f, char **body, size_t *blen, struct pp_http_request *req,
                      const char *base_url, const char *path, const char *action)
    __attribute__((warn_unused_result));
/*
 * The common opening of a carrier's SOAP answer: parse body, find the Envelope Body and
 * report (PP_EHTTP) a Fault or an HTTP status other than 200, then a parse error
 * (PP_EPARSE or PP_ENOMEM), then a document that is not an envelope (PP_EPARSE); the
 * message goes to err. PP_OK with *doc (free with xmlFreeDoc) and *sbody; on error *doc
 * may still be set and must be freed.
 */
int pp_soapxml_open_response(int http_status, const char *body, size_t len, xmlDocPtr *doc,
                             xmlNodePtr *sbody, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
