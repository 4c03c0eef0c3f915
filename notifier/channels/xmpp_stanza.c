/*
 * xmpp_stanza.c - small stanza helpers of the XMPP channel (no connection state): error
 * reasons, bare-JID comparison, the ping iq and element builders.
 */
#include "xmpp_stanza.h"
#include "err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "condition: text" of a stanza's <error/> ("unknown error" without one). */
void pp_xmpp_error_reason(xmpp_ctx_t *ctx, xmpp_stanza_t *st, char *reason, size_t len)
{
    snprintf(reason, len, "unknown error");
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    if (!err)
        return;
    const char *cond = NULL;
    char *text = NULL;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(err); c; c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (!name)
            continue;
        if (strcmp(name, "text") == 0) {
            if (!text)
                text = xmpp_stanza_get_text(c);
        } else if (!cond) {
            cond = name;
        }
    }
    snprintf(reason, len, "%s%s%s", cond ? cond : "error", text ? ": " : "", text ? text : "");
    if (text)
        xmpp_free(ctx, text);
}

/* Same bare JID (the part before '/'), ignoring case (both come prepped from the server). */
bool pp_xmpp_same_bare(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* <iq type='get' id=id><ping xmlns='urn:xmpp:ping'/></iq>, or NULL without memory. The
 * server answers it after everything sent before it: the barrier and the markers. */
xmpp_stanza_t *pp_xmpp_ping_iq(xmpp_ctx_t *ctx, const char *id)
{
    xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", id);
    xmpp_stanza_t *ping = iq ? xmpp_stanza_new(ctx) : NULL;
    bool ok = ping && xmpp_stanza_set_name(ping, "ping") == XMPP_EOK &&
              xmpp_stanza_set_ns(ping, "urn:xmpp:ping") == XMPP_EOK &&
              xmpp_stanza_add_child(iq, ping) == XMPP_EOK;
    if (ping)
        xmpp_stanza_release(ping);
    if (!ok && iq) {
        xmpp_stanza_release(iq);
        iq = NULL;
    }
    return iq;
}

/* New child element of parent (borrowed: parent holds it), NULL on allocation failure. */
xmpp_stanza_t *pp_xmpp_add_elem(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name, const char *ns)
{
    xmpp_stanza_t *e = xmpp_stanza_new(ctx);
    if (!e)
        return NULL;
    if (xmpp_stanza_set_name(e, name) != XMPP_EOK || (ns && xmpp_stanza_set_ns(e, ns)) ||
        xmpp_stanza_add_child(parent, e) != XMPP_EOK) {
        xmpp_stanza_release(e);
        return NULL;
    }
    xmpp_stanza_release(e);
    return e;
}

/* <name>text</name> under parent. */
int pp_xmpp_add_text_elem(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name, const char *text)
{
    xmpp_stanza_t *e = pp_xmpp_add_elem(ctx, parent, name, NULL);
    xmpp_stanza_t *t = e ? xmpp_stanza_new(ctx) : NULL;
    if (!t)
        return PP_ENOMEM;
    int rc = xmpp_stanza_set_text(t, text) == XMPP_EOK && xmpp_stanza_add_child(e, t) == XMPP_EOK
                 ? PP_OK
                 : PP_ENOMEM;
    xmpp_stanza_release(t);
    return rc;
}

/* <field var=var [type=hidden]><value>v</value></field> under the form. */
int pp_xmpp_add_field(xmpp_ctx_t *ctx, xmpp_stanza_t *form, const char *var, const char *v, bool hidden)
{
    xmpp_stanza_t *f = pp_xmpp_add_elem(ctx, form, "field", NULL);
    if (!f || xmpp_stanza_set_attribute(f, "var", var) != XMPP_EOK ||
        (hidden && xmpp_stanza_set_attribute(f, "type", "hidden") != XMPP_EOK))
        return PP_ENOMEM;
    return pp_xmpp_add_text_elem(ctx, f, "value", v);
}
