/*
 * xmpp_stanza.h - small stanza helpers of the XMPP channel (xmpp.c, xmpp_archive.c).
 */
#ifndef PP_NOTIFIER_XMPP_STANZA_H
#define PP_NOTIFIER_XMPP_STANZA_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

/* "condition: text" of a stanza's <error/> ("unknown error" without one). */
void pp_xmpp_error_reason(xmpp_ctx_t *ctx, xmpp_stanza_t *st, char *reason, size_t len);
/* Same bare JID (the part before '/'), ignoring case (both come prepped from the server). */
bool pp_xmpp_same_bare(const char *a, const char *b);
/* <iq type='get' id=id><ping xmlns='urn:xmpp:ping'/></iq>, or NULL without memory. The
 * server answers it after everything sent before it: the barrier and the markers. */
xmpp_stanza_t *pp_xmpp_ping_iq(xmpp_ctx_t *ctx, const char *id);
/* New child element of parent (borrowed: parent holds it), NULL on allocation failure. */
xmpp_stanza_t *pp_xmpp_add_elem(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
                                const char *ns);
/* <name>text</name> under parent; PP_OK or PP_ENOMEM. */
int pp_xmpp_add_text_elem(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name, const char *text);
/* <field var=var [type=hidden]><value>v</value></field> under a data form. */
int pp_xmpp_add_field(xmpp_ctx_t *ctx, xmpp_stanza_t *form, const char *var, const char *v,
                      bool hidden);

#endif
