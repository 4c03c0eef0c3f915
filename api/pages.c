/* pages.c - the buyer's web pages: Moje konto › Ustawienia › Powiadomienia, the payment card
 * /transakcje/{id}, an index, their one script and stylesheet. The sources in api/web/ are
 * embedded at build time (tools/embed-files) and rendered once per language at start:
 * {{key}} = text from messages.json (HTML-escaped), {{$var}} = lang, lang_query, refresh
 * (web_card_refresh_s), messages (the language's texts as JSON, for app.js). Polish by
 * default, English with ?lang=en. The pages hold no buyer data: app.js reads the buyer token
 * from the URL fragment and calls the JSON API. */
#include "api.h"
#include "err.h"
#include "log.h"
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const unsigned char *data; /* NUL-terminated */
    size_t len;                /* without the NUL */
} web_file_t;

#include "web_assets.h" /* generated: static const web_file_t web_files[] */

#define N_WEB_FILES (sizeof web_files / sizeof web_files[0])
#define KEY_MAX 64

enum { LANG_PL, LANG_EN, N_LANGS };
static const char *const lang_names[N_LANGS] = {"pl", "en"};

enum { PAGE_INDEX, PAGE_SETTINGS, PAGE_CARD, PAGE_NOT_FOUND, N_PAGES };
static const char *const page_files[N_PAGES] = {"index.html", "settings.html", "card.html",
                                                "notfound.html"};

/* Rendered pages, built once by pp_api_register_pages and read-only afterwards. */
static struct {
    char *html[N_PAGES][N_LANGS];
    size_t len[N_PAGES][N_LANGS];
} pages;

/* Every page and asset: a strict policy (no inline script or style, nothing from elsewhere,
 * no framing), no MIME sniffing, no Referer leaving. pp_api_reply adds cache-control: no-store. */
static const char *const security_headers[][2] = {
    {"content-security-policy",
     "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
    {"x-content-type-options", "nosniff"},
    {"referrer-policy", "no-referrer"},
    {"x-frame-options", "DENY"},
};

typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

static int buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return PP_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return PP_OK;
}

static int buf_add_html(buf_t *b, const char *s)
{
    int rc = PP_OK;
    for (; *s && rc == PP_OK; s++) {
        switch (*s) {
        case '&': rc = buf_add(b, "&amp;", 5); break;
        case '<': rc = buf_add(b, "&lt;", 4); break;
        case '>': rc = buf_add(b, "&gt;", 4); break;
        case '"': rc = buf_add(b, "&quot;", 6); break;
        case '\'': rc = buf_add(b, "&#39;", 5); break;
        default: rc = buf_add(b, s, 1);
        }
    }
    return rc;
}

static const web_file_t *web_file(const char *name)
{
    for (size_t i = 0; i < N_WEB_FILES; i++)
        if (strcmp(web_files[i].name, name) == 0)
            return &web_files[i];
    return NULL;
}

/* messages.json: {"pl": {key: text}, "en": {...}} with the same keys in both. */
static int load_messages(cJSON **out)
{
    const web_file_t *f = web_file("messages.json");
    if (!f) {
        pp_error("api pages: messages.json is not embedded (api/meson.build)");
        return PP_EINVAL;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)f->data, f->len);
    if (!cJSON_IsObject(root)) {
        pp_error("api pages: api/web/messages.json is not a JSON object");
        goto fail;
    }
    for (int l = 0; l < N_LANGS; l++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, lang_names[l]);
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(root, lang_names[!l]);
        if (!cJSON_IsObject(m) || !cJSON_IsObject(other)) {
            pp_error("api pages: api/web/messages.json has no \"%s\" object", lang_names[l]);
            goto fail;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, m)
        {
            if (!cJSON_IsString(e) ||
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(other, e->string))) {
                pp_error("api pages: api/web/messages.json: \"%s\".\"%s\" is not a text in both languages",
                         lang_names[l], e->string);
                goto fail;
            }
        }
    }
    *out = root;
    return PP_OK;
fail:
    cJSON_Delete(root);
    return PP_EINVAL;
}

/* The texts of one language as JSON that is safe inside <script type="application/json">. */
static int messages_json(const cJSON *msgs, buf_t *out)
{
    char *s = cJSON_PrintUnformatted(msgs);
    if (!s)
        return PP_ENOMEM;
    int rc = PP_OK;
    for (const char *c = s; *c && rc == PP_OK; c++)
        rc = *c == '<' ? buf_add(out, "\\u003c", 6) : buf_add(out, c, 1);
    free(s);
    return rc;
}

/* Render template f in language lang into out; unknown placeholders are errors (logged). */
static int render(const web_file_t *f, int lang, const cJSON *msgs, const char *msgs_json,
                  long refresh_s, buf_t *out)
{
    const char *s = (const char *)f->data, *end = s + f->len;
    while (s < end) {
        const char *open = strstr(s, "{{");
        if (!open)
            return buf_add(out, s, (size_t)(end - s));
        int rc = buf_add(out, s, (size_t)(open - s));
        if (rc)
            return rc;
        const char *close = strstr(open + 2, "}}");
        size_t n = close ? (size_t)(close - open - 2) : 0;
        if (!close || n == 0 || n >= KEY_MAX) {
            pp_error("api pages: api/web/%s: unterminated or empty {{...}} at byte %zu", f->name,
                     (size_t)(open - (const char *)f->data));
            return PP_EINVAL;
        }
        char key[KEY_MAX];
        memcpy(key, open + 2, n);
        key[n] = '\0';
        char num[32];
        if (strcmp(key, "$lang") == 0) {
            rc = buf_add(out, lang_names[lang], 2);
        } else if (strcmp(key, "$lang_query") == 0) {
            rc = lang == LANG_PL ? PP_OK : buf_add(out, "?lang=en", 8);
        } else if (strcmp(key, "$refresh") == 0) {
            snprintf(num, sizeof num, "%ld", refresh_s);
            rc = buf_add(out, num, strlen(num));
        } else if (strcmp(key, "$messages") == 0) {
            rc = buf_add(out, msgs_json, strlen(msgs_json));
        } else {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(msgs, key);
            if (!cJSON_IsString(m)) {
                pp_error("api pages: api/web/%s: {{%s}} is not in messages.json (\"%s\")", f->name,
                         key, lang_names[lang]);
                return PP_EINVAL;
            }
            rc = buf_add_html(out, m->valuestring);
        }
        if (rc)
            return rc;
        s = close + 2;
    }
    return PP_OK;
}

static void pages_free(void)
{
    for (int p = 0; p < N_PAGES; p++)
        for (int l = 0; l < N_LANGS; l++) {
            free(pages.html[p][l]);
            pages.html[p][l] = NULL;
            pages.len[p][l] = 0;
        }
}

static int render_all(long refresh_s)
{
    cJSON *msgs = NULL;
    buf_t js = {0};
    int rc = load_messages(&msgs);
    if (rc)
        return rc;
    pages_free();
    for (int l = 0; l < N_LANGS && rc == PP_OK; l++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(msgs, lang_names[l]);
        js.len = 0;
        if ((rc = messages_json(m, &js)))
            break;
        for (int p = 0; p < N_PAGES && rc == PP_OK; p++) {
            const web_file_t *f = web_file(page_files[p]);
            buf_t out = {0};
            if (!f) {
                pp_error("api pages: %s is not embedded (api/meson.build)", page_files[p]);
                rc = PP_EINVAL;
                break;
            }
            rc = render(f, l, m, js.p, refresh_s, &out);
            if (rc) {
                free(out.p);
                break;
            }
            pages.html[p][l] = out.p;
            pages.len[p][l] = out.len;
        }
    }
    free(js.p);
    cJSON_Delete(msgs);
    if (rc)
        pages_free();
    return rc;
}

/* ?lang=en anywhere in the query string: English; anything else: Polish. */
static int req_lang(const pp_api_req_t *r)
{
    if (!r->req || r->req->query_at == SIZE_MAX)
        return LANG_PL;
    const char *q = r->req->path.base + r->req->query_at + 1;
    const char *end = r->req->path.base + r->req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        size_t n = amp ? (size_t)(amp - q) : (size_t)(end - q);
        if (n == 7 && memcmp(q, "lang=en", 7) == 0)
            return LANG_EN;
        q += n + 1;
    }
    return LANG_PL;
}

static void send_secured(pp_api_req_t *r, int status, const char *content_type, const char *body,
                         size_t len)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        pp_api_header_set(r, security_headers[i][0], security_headers[i][1]);
    pp_api_reply(r, status, content_type, body, len);
}

static void send_page(pp_api_req_t *r, int status, int page)
{
    int l = req_lang(r);
    pp_api_header_set(r, "content-language", lang_names[l]);
    send_secured(r, status, "text/html; charset=utf-8", pages.html[page][l], pages.len[page][l]);
}

static int index_page(pp_api_req_t *r)
{
    send_page(r, 200, PAGE_INDEX);
    return 0;
}

static int settings_page(pp_api_req_t *r)
{
    send_page(r, 200, PAGE_SETTINGS);
    return 0;
}

/* The id is only checked for shape here; the card itself (and who may see it) comes from
 * GET /v1/transactions/{id}, which app.js calls with the buyer token. */
static int card_page(pp_api_req_t *r)
{
    long long id;
    if (pp_api_param_id(r, "id", &id) != PP_OK) {
        send_page(r, 404, PAGE_NOT_FOUND);
        return 0;
    }
    send_page(r, 200, PAGE_CARD);
    return 0;
}

static int static_file(pp_api_req_t *r, const char *name, const char *content_type)
{
    const web_file_t *f = web_file(name);
    if (!f) {
        pp_warn("api pages: %s is not embedded", name);
        return PP_ENOTFOUND;
    }
    send_secured(r, 200, content_type, (const char *)f->data, f->len);
    return 0;
}

static int app_js(pp_api_req_t *r)
{
    return static_file(r, "app.js", "text/javascript; charset=utf-8");
}

static int style_css(pp_api_req_t *r)
{
    return static_file(r, "style.css", "text/css; charset=utf-8");
}

int pp_api_register_pages(pp_api_t *a)
{
    int rc = render_all(a->cfg->web_card_refresh_s);
    if (rc) {
        pp_error("api pages: cannot render the web pages: %s", pp_strerror(rc));
        return rc;
    }
    if ((rc = pp_api_route(a, "GET", "/", PP_API_AUTH_NONE, index_page)) ||
        (rc = pp_api_route(a, "GET", "/moje-konto/ustawienia/powiadomienia", PP_API_AUTH_NONE,
                           settings_page)) ||
        (rc = pp_api_route(a, "GET", "/transakcje/{id}", PP_API_AUTH_NONE, card_page)) ||
        (rc = pp_api_route(a, "GET", "/static/app.js", PP_API_AUTH_NONE, app_js)))
        return rc;
    return pp_api_route(a, "GET", "/static/style.css", PP_API_AUTH_NONE, style_css);
}
