/* body.c - pp-api request bodies: strict JSON (media type, one object, RFC 8259 tokens only, no trailing data, no duplicate keys, clean text). */
#include "api.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ows(char c) { return c == ' ' || c == '\t'; }

bool pp_api_json_media_type(const char *ct, size_t len)
{
    static const char mt[] = "application/json";
    const size_t mtl = sizeof mt - 1;
    if (!ct || len < mtl || strncasecmp(ct, mt, mtl) != 0)
        return false;
    size_t i = mtl;
    while (i < len && ows(ct[i]))
        i++;
    if (i == len)
        return true;
    if (ct[i++] != ';')
        return false;
    while (i < len && ows(ct[i]))
        i++;
    if (len - i < 7 || strncasecmp(ct + i, "charset", 7) != 0)
        return false;
    i += 7;
    while (i < len && ows(ct[i]))
        i++;
    if (i >= len || ct[i++] != '=')
        return false;
    while (i < len && ows(ct[i]))
        i++;
    bool quoted = i < len && ct[i] == '"';
    i += quoted;
    if (len - i < 5 || strncasecmp(ct + i, "utf-8", 5) != 0)
        return false;
    i += 5;
    if (quoted && (i >= len || ct[i++] != '"'))
        return false;
    while (i < len && ows(ct[i]))
        i++;
    return i == len;
}

/* Drop an incomplete UTF-8 sequence left at the end of s by a cut. */
static void trim_utf8(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* ---- the text of every string: valid UTF-8, no control character (C0, DEL, C1) ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static long hex4(const unsigned char *p, size_t left)
{
    if (left < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((char)p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static bool is_control(long cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

/* Bytes of one UTF-8 sequence at p (left bytes), strict (no overlong, no surrogate, at most
 * U+10FFFF), with its code point in *cp; 0 = invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left, long *cp)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, *cp = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, *cp = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char b = p[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
            return 0;
        *cp = (*cp << 6) | (b & 0x3f);
    }
    return n;
}

/* RFC 8259 whitespace: nothing else may stand between tokens (cJSON skips any byte <= 0x20). */
static bool json_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Bytes of one RFC 8259 number at b[i] (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, then a
 * delimiter), 0 if it is not one: '+5', '05', '.5', '5.', '0x1f', '1e', NaN and the like. */
static size_t json_number(const unsigned char *b, size_t len, size_t i)
{
    size_t j = i;
    if (j < len && b[j] == '-')
        j++;
    if (j >= len || !is_digit(b[j]))
        return 0;
    if (b[j] == '0')
        j++;
    else
        while (j < len && is_digit(b[j]))
            j++;
    if (j < len && b[j] == '.') {
        if (++j >= len || !is_digit(b[j]))
            return 0;
        while (j < len && is_digit(b[j]))
            j++;
    }
    if (j < len && (b[j] == 'e' || b[j] == 'E')) {
        if (++j < len && (b[j] == '+' || b[j] == '-'))
            j++;
        if (j >= len || !is_digit(b[j]))
            return 0;
        while (j < len && is_digit(b[j]))
            j++;
    }
    if (j < len && !json_ws(b[j]) && (b[j] == 0 || !strchr(",]}", b[j])))
        return 0;
    return j - i;
}

/* Scans a string's text from b[*ip] (just after its opening quote) to its closing quote (*ip
 * left there): -1 for an escape JSON does not have, else 1 when the text holds a control
 * character or invalid UTF-8 (as written, escapes included), 0 when it is clean. */
static int scan_string(const unsigned char *b, size_t len, size_t *ip)
{
    size_t i = *ip;
    bool bad = false;
    while (i < len && b[i] != '"') {
        long cp;
        if (b[i] == '\\' && i + 1 < len) {
            char e = (char)b[i + 1];
            if (e == 'u' ? hex4(b + i + 2, len - i - 2) < 0 : !e || !strchr("\"\\/bfnrt", e))
                return -1;
            if (e == 'u') {
                cp = hex4(b + i + 2, len - i - 2);
                i += 6;
                if (cp >= 0xd800 && cp <= 0xdbff) { /* needs its low surrogate */
                    long lo2 = i + 1 < len && b[i] == '\\' && b[i + 1] == 'u'
                                   ? hex4(b + i + 2, len - i - 2)
                                   : -1;
                    if (lo2 >= 0xdc00 && lo2 <= 0xdfff)
                        i += 6;
                    else
                        bad = true;
                } else if ((cp >= 0xdc00 && cp <= 0xdfff) || is_control(cp)) {
                    bad = true;
                }
            } else {
                /* \b \f \n \r \t are control characters; \" \\ \/ are text */
                bad |= e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't';
                i += 2;
            }
            continue;
        }
        size_t n = utf8_seq(b + i, len - i, &cp);
        if (n == 0) {
            bad = true;
            i++;
        } else {
            bad |= is_control(cp);
            i += n;
        }
    }
    *ip = i;
    return bad ? 1 : 0;
}

/*
 * One pass over the raw body (already parsed by cJSON, which is lenient): between strings
 * only RFC 8259 tokens (whitespace is space, tab, LF, CR; numbers as the grammar writes them,
 * no leading zero or '+', no '.5' or '5.'; true, false, null); every string's text is checked
 * as written (escapes included: cJSON turns "\u0001" into a raw byte and cuts a string at
 * "\u0000"). The field of a bad value is the key before it. 0, or PP_EINVAL with *code, field
 * and what (what was wrong, for the message).
 */
static int scan_body(const unsigned char *b, size_t len, const char **code, const char **what,
                     char *field, size_t fcap)
{
    char key[64] = "";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = b[i];
        if (c != '"') {
            size_t n = 0;
            if (json_ws(c) || (c && strchr("{}[]:,", c)))
                continue;
            if (c == '-' || is_digit(c))
                n = json_number(b, len, i);
            else if (len - i >= 4 && (memcmp(b + i, "true", 4) == 0 || memcmp(b + i, "null", 4) == 0))
                n = 4;
            else if (len - i >= 5 && memcmp(b + i, "false", 5) == 0)
                n = 5;
            if (n == 0) {
                *code = "invalid_json";
                *what = c == '-' || c == '+' || c == '.' || is_digit(c)
                            ? "a number not written as JSON writes it"
                        : c < 0x20 || c == 0x7f ? "a control character between tokens"
                                                : "a value JSON does not have";
                snprintf(field, fcap, "%s", key);
                return PP_EINVAL;
            }
            i += n - 1;
            continue;
        }
        size_t start = ++i;
        int sc = scan_string(b, len, &i);
        if (sc < 0) {
            /* cJSON refused the body already; a key must not be taken from it */
            *code = "invalid_json";
            *what = "a string escape JSON does not have";
            snprintf(field, fcap, "%s", key);
            return PP_EINVAL;
        }
        bool bad = sc > 0;
        size_t end = i; /* at the closing quote */
        size_t j = i + 1;
        while (j < len && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n'))
            j++;
        bool is_key = j < len && b[j] == ':';
        if (bad) {
            *code = "invalid_text";
            *what = "a control character or invalid UTF-8";
            snprintf(field, fcap, "%s", is_key ? "" : key);
            return PP_EINVAL;
        }
        if (is_key) {
            size_t kl = end - start < sizeof key ? end - start : sizeof key - 1;
            memcpy(key, b + start, kl);
            key[kl] = '\0';
            trim_utf8(key);
        }
    }
    return PP_OK;
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The first key that appears twice in one object (anywhere in the tree), or NULL. */
static const char *duplicate_key(const cJSON *j)
{
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return NULL;
    size_t n = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        const char *d = duplicate_key(c);
        if (d)
            return d;
        n++;
    }
    if (!cJSON_IsObject(j) || n < 2)
        return NULL;
    const char **names = malloc(n * sizeof *names);
    if (!names)
        return "";
    size_t k = 0;
    for (const cJSON *c = j->child; c; c = c->next)
        names[k++] = c->string ? c->string : "";
    qsort(names, n, sizeof *names, cmp_names);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            dup = names[i];
    free(names);
    return dup;
}

/* err's code and message for what scan_body found (err->field set by it). */
static void scan_error(pp_api_json_err_t *err, const char *code, const char *what)
{
    err->code = code;
    if (strcmp(code, "invalid_text") == 0)
        snprintf(err->message, sizeof err->message, "%s%s%s holds %s",
                 err->field[0] ? "field '" : "a field name", err->field, err->field[0] ? "'" : "",
                 what);
    else
        snprintf(err->message, sizeof err->message, "%s%s%s%s", what,
                 err->field[0] ? " after field '" : "", err->field, err->field[0] ? "'" : "");
}

int pp_api_json_strict(const char *buf, size_t len, cJSON **out, pp_api_json_err_t *err)
{
    *out = NULL;
    memset(err, 0, sizeof *err);
    err->code = "invalid_json";
    if (!buf || len == 0) {
        snprintf(err->message, sizeof err->message, "a JSON object body is required");
        return PP_EINVAL;
    }
    const char *end = NULL;
    const char *code = NULL, *what = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        /* cJSON refuses some JSON that is only bad text (a lone surrogate such as \ud800):
         * say so, with its field, as for the text cJSON lets through. */
        if (!j &&
            scan_body((const unsigned char *)buf, len, &code, &what, err->field, sizeof err->field) !=
                PP_OK &&
            strcmp(code, "invalid_text") == 0) {
            scan_error(err, code, what);
            return PP_EINVAL;
        }
        err->field[0] = '\0';
        snprintf(err->message, sizeof err->message, "the body is not a JSON object");
        return PP_EINVAL;
    }
    while (end && (size_t)(end - buf) < len && json_ws((unsigned char)*end))
        end++;
    if (!end || (size_t)(end - buf) != len) {
        cJSON_Delete(j);
        snprintf(err->message, sizeof err->message, "data after the JSON object");
        return PP_EINVAL;
    }
    if (scan_body((const unsigned char *)buf, len, &code, &what, err->field, sizeof err->field) !=
        PP_OK) {
        cJSON_Delete(j);
        scan_error(err, code, what);
        return PP_EINVAL;
    }
    const char *dup = duplicate_key(j);
    if (dup) {
        snprintf(err->field, sizeof err->field, "%s", dup);
        trim_utf8(err->field);
        snprintf(err->message, sizeof err->message, "field '%s' appears twice", err->field);
        cJSON_Delete(j);
        return PP_EINVAL;
    }
    *out = j;
    return PP_OK;
}

cJSON *pp_api_body_json(pp_api_req_t *r)
{
    if (!r->req)
        return NULL;
    h2o_iovec_t b = r->req->entity;
    if (b.len > (size_t)r->api->cfg->api_max_body) { /* h2o refuses these while reading */
        pp_api_reply_error(r, 413, "body_too_large", "the request body exceeds %ld bytes",
                           r->api->cfg->api_max_body);
        return NULL;
    }
    h2o_iovec_t ct = pp_api_header(r, "content-type");
    if (!pp_api_json_media_type(ct.base, ct.len)) {
        pp_api_reply_error(r, 415, "unsupported_media_type",
                           "send the body as Content-Type: application/json (charset utf-8 if any)");
        return NULL;
    }
    cJSON *j = NULL;
    pp_api_json_err_t e;
    if (pp_api_json_strict(b.base, b.len, &j, &e) == PP_OK)
        return j;
    cJSON *root = cJSON_CreateObject();
    cJSON *o = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    if (o) {
        cJSON_AddStringToObject(o, "code", e.code);
        cJSON_AddStringToObject(o, "message", e.message);
        if (e.field[0])
            cJSON_AddStringToObject(o, "field", e.field);
    }
    pp_api_reply_json(r, 400, o ? root : NULL);
    cJSON_Delete(root);
    return NULL;
}
