/*
 * carrier.h - the descriptor every carrier adapter fills in (one file per carrier, one row in
 * carriers/registry.c). It is the single source of what is particular to a carrier: its
 * names and the bot's aliases, its tracking-number formats and example, whether it delivers
 * to lockers, its batch size and kind of credentials, and its configuration keys; detection
 * (numbers.c), the config table (config_keys.c), budgets, the notifier's templates, the bot
 * and the API read it from here. An adapter builds the HTTP request(s) and parses the body it
 * gets back; it never does I/O itself, so the same code path serves real carriers and the
 * simulator (only base URLs and credentials differ, from config).
 */
#ifndef PP_CARRIER_H
#define PP_CARRIER_H

#include "../config.h"
#include "../status.h"
#include "numbers.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct pp_track_event {
    pp_status_t status;    /* normalized (PP_ST_UNKNOWN when the code is not mapped) */
    char carrier_code[64]; /* carrier's raw status code/name */
    char description[256]; /* carrier's raw text, if any */
    char location[128];    /* place / locker id, if any */
    time_t occurred_at;    /* UTC */
} pp_track_event_t;

typedef struct pp_track_result {
    char tracking_number[64];
    bool found;               /* false: carrier does not know the number (yet) */
    pp_track_event_t *events; /* oldest first; malloc'd array */
    size_t n_events;
    char pickup_point[64];    /* e.g. InPost target_machine_id, "" if none */
    char pickup_address[192]; /* the pickup point's street address, "" if unknown */
    time_t pickup_deadline;   /* last day to collect it (UTC), 0 if unknown */
} pp_track_result_t;

#define PP_HTTP_MAX_HEADERS 8

typedef struct pp_http_request {
    const char *method;                 /* "GET" or "POST" (static string) */
    char *url;                          /* malloc'd */
    char *headers[PP_HTTP_MAX_HEADERS]; /* malloc'd "Name: value" lines */
    int n_headers;
    char *body; /* malloc'd or NULL */
    size_t body_len;
} pp_http_request_t;

/* The credentials a carrier asks for (ARCHITECTURE.md's carrier table; ppctl). */
typedef enum pp_carrier_auth {
    PP_CARRIER_AUTH_NONE,  /* none, or an optional static token */
    PP_CARRIER_AUTH_KEY,   /* a static key or token in a header */
    PP_CARRIER_AUTH_OAUTH, /* an OAuth2 token, requested and cached: build_auth_request set */
    PP_CARRIER_AUTH_BODY,  /* a login and password inside every request body (SOAP) */
} pp_carrier_auth_t;

/*
 * One configuration key of a carrier: <carrier>_<name> in files, PP_<CARRIER>_<NAME> in the
 * environment, a row of the config reference (docs/config.md). Every carrier's keys[] starts
 * with its budget, PP_CARRIER_KEY_RPS and PP_CARRIER_KEY_PER_DAY (budget.c reads them); its own
 * keys (base URL, credentials, ...) follow from PP_CARRIER_KEY_OWN on, and the adapter reads
 * them with pp_carrier_cfg_str/_int by their index (config_keys.c makes the table rows).
 */
typedef struct pp_carrier_key {
    const char *name; /* after "<carrier>_": "base_url" */
    pp_config_type_t type;
    const char *def; /* default, as text */
    long min, max;   /* PP_CFG_INT: accepted range */
    bool reloadable; /* takes effect on SIGHUP (else at a restart) */
    bool secret;     /* masked in logs and dumps */
    const char *doc;
} pp_carrier_key_t;
enum { PP_CARRIER_KEY_RPS, PP_CARRIER_KEY_PER_DAY, PP_CARRIER_KEY_OWN };

/* A synthetic valid number: '#' a free digit, '?' the check character finish() computes. */
typedef struct pp_number_example {
    const char *tmpl;
    void (*finish)(char *s, size_t len);
} pp_number_example_t;

typedef struct pp_carrier {
    const char *name;    /* config/wire name: "inpost" */
    const char *display; /* human name, in notifications and bot answers: "InPost" */
    /* The bot's names for it besides `name`, folded (lower-case ASCII, one space between
     * words; NULL-terminated): "paczkomat", "siodemka", "ruch". */
    const char *const *aliases;
    const char *help_names; /* how the bot's help lists it: "ORLEN / RUCH" */
    /* Its tracking-number formats (most specific first) and a synthetic example's shape;
     * detection is unambiguous for the example. */
    const pp_number_format_t *formats;
    size_t n_formats;
    pp_number_example_t example;
    /* Delivers to its own lockers: the pickup wording {Polish, English} the notifier uses
     * ("czeka w Paczkomacie"); {NULL, NULL}: the generic pickup point. */
    const char *locker[2];
    pp_carrier_auth_t auth;
    const pp_carrier_key_t *keys; /* see pp_carrier_key_t; n_keys <= PP_CARRIER_KEYS_MAX */
    size_t n_keys;
    int max_batch; /* tracking numbers per request */
    /* Optional: the batch size the configured transport allows (<= max_batch), when it
     * depends on configuration (ORLEN: partner SOAP 1000, public JSONP 1). */
    int (*batch_limit)(const pp_config_t *cfg);
    /*
     * Optional (NULL when the carrier needs no token): the OAuth2 client-credentials (or
     * similar) token request, and the parser of its response (token text and lifetime).
     * The poller caches the token per process and refreshes it before it expires or
     * after a 401.
     */
    int (*build_auth_request)(const pp_config_t *cfg, pp_http_request_t *req);
    int (*parse_auth)(int http_status, const char *body, size_t len, char *token, size_t cap,
                      long *expires_in_s, char *err, size_t errlen);
    /*
     * Build the request for numbers[0..n), n <= max_batch; token is the cached access
     * token or NULL. Fills *req (free with pp_http_request_free).
     */
    int (*build_request)(const pp_config_t *cfg, const char *token, const char *const *numbers,
                         size_t n, pp_http_request_t *req);
    /*
     * Parse one HTTP response. On success returns 0 and a malloc'd array of results
     * (one per parcel in the response; free with pp_track_results_free). Not-found is a
     * result with found=false, not an error. Malformed input returns PP_EPARSE with a
     * reason in err; PP_EHTTP for an HTTP status that is an error (e.g. 500, 401).
     * Its strings are the carrier's raw text: call pp_carrier_parse, never this.
     */
    int (*parse_raw)(int http_status, const char *body, size_t len, pp_track_result_t **results,
                     size_t *n_results, char *err, size_t errlen);
} pp_carrier_t;
#define PP_N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * c->parse_raw, then every string of every result (number, pickup point and address, each
 * event's code, description and place) through pp_text_clean: valid UTF-8, no control
 * characters, cut on a character boundary. The one way in for the poller, the bot and ppctl.
 * A tracking number that cleaning would change makes the whole answer PP_EPARSE (results
 * freed, *n_results 0): it is the key a result is matched by, never silently changed.
 */
int pp_carrier_parse(const pp_carrier_t *c, int http_status, const char *body, size_t len,
                     pp_track_result_t **results, size_t *n_results, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same cleaning for results an adapter made (pp_carrier_parse calls it). */
void pp_track_results_clean(pp_track_result_t *r, size_t n);

/* Registry (carriers/registry.c): the rows in order, then any a test build adds
 * (pp_carrier_extra). NULL if unknown; the name's case does not matter. */
const pp_carrier_t *pp_carrier_find(const char *name);
const pp_carrier_t *const *pp_carrier_all(size_t *n);
/* "dhl, ups, inpost, ..." (static): the names an unknown carrier is answered with. */
const char *pp_carrier_names(void);
/* A test build's extra rows (NULL-terminated; tests/tools/carrier_throwaway.c); none elsewhere. */
extern const pp_carrier_t *const pp_carrier_extra[] __attribute__((weak));

/* The value of key k (an index into its keys[]) of the carrier named carrier in cfg; "" / 0
 * for a carrier cfg has no settings of (adapter.c: by name, so an adapter's helper files need
 * not reach its descriptor). */
const char *pp_carrier_cfg_str(const pp_config_t *cfg, const char *carrier, int k);
long pp_carrier_cfg_int(const pp_config_t *cfg, const char *carrier, int k);

void pp_http_request_free(pp_http_request_t *req);
int pp_http_request_add_header(pp_http_request_t *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pp_track_results_free(pp_track_result_t *r, size_t n);

/* ---- helpers for adapters (adapter.c) ---------------------------------------------------- */
struct cJSON;
/* printf into err (NULL-safe); the parse functions' reason for PP_EPARSE/PP_EHTTP. */
void pp_carrier_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Standard base64 (RFC 4648, padded) of in[0..len) into *out (malloc'd). 0 or PP_ENOMEM. */
int pp_carrier_base64(const char *in, size_t len, char **out) __attribute__((warn_unused_result));
/* Length of a base URL without trailing '/' (0 if NULL or empty). */
size_t pp_carrier_base_len(const char *url);
/* Percent-encode s (RFC 3986 unreserved kept) into out; PP_EINVAL if it does not fit. */
int pp_carrier_url_escape(const char *s, char *out, size_t cap);
/* Optional JSON string member: absent or null -> "", wrong type -> PP_EPARSE. */
int pp_carrier_json_opt_string(const struct cJSON *obj, const char *key, const char **out);
/* Shape rules for pp_number_format_t.check_fn: the number (or its tail after a 2-letter
 * prefix) holds a digit, so that words are never taken for tracking numbers. */
bool pp_carrier_has_digit(const char *number);
bool pp_carrier_tail_has_digit(const char *number);
/*
 * Read a token endpoint's answer with c->parse_auth: PP_OK with *token (malloc'd; free it)
 * and *ttl_s (3600 when the carrier gives no lifetime), or an error with *token NULL and
 * the detail in err: PP_ENOMEM, parse_auth's code, or PP_EPARSE for an empty token or one
 * with a byte that is not visible ASCII (it goes into an HTTP header).
 */
int pp_carrier_read_token(const pp_carrier_t *c, int status, const char *body, size_t len,
                          char **token, long *ttl_s, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Stable sort by occurred_at, oldest first (carriers' wire order is not to be trusted). */
void pp_track_events_sort(pp_track_event_t *ev, size_t n);

#endif
