/* pocztapolska.c - Poczta Polska adapter: SOAP Sledzenie sprawdzPrzesylke/sprawdzPrzesylki with WS-Security. */
#include "carrier.h"
#include "../checkdigit.h"
#include "numbers.h"
#include "soapxml.h"
#include "../err.h"
#include "../timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This carrier's key k (an index into keys[]) in cfg. */
#define CFG(k) pp_carrier_cfg_str(cfg, "pocztapolska", (k))

/*
 * Tracking-number formats (numbers.c detects over every carrier's; sources: research/
 * carriers.md §8, jkeen/tracking_number_data). Confidence: how surely a number of this shape,
 * check digit right, is this carrier's; a shape other carriers share gets less.
 * S10 items from other countries than PL: inferred to be delivered (and tracked) by Poczta
 * Polska once in Poland.
 */
static const pp_number_format_t formats[] = {
    {"pocztapolska", "pp_domestic", "^00[0-9]5900773[0-9]{10}$", "GS1 mod 10",
     pp_checkdigit_gs1_valid, 95, "observed"},
    {"pocztapolska", "pp_s10_pl", "^[A-Z]{2}[0-9]{9}PL$", "UPU S10 mod 11", pp_checkdigit_s10_valid,
     95, "confirmed"},
    {"pocztapolska", "pp_s10_inbound", "^[A-Z]{2}[0-9]{9}[A-Z]{2}$", "UPU S10 mod 11",
     pp_checkdigit_s10_valid, 40, "inferred"},
    {"pocztapolska", "pp_pocztex", "^PX[0-9]{10}$", "none (not found)", NULL, 60, "observed"},
};

/* Configuration keys: pocztapolska_<name> (PP_POCZTAPOLSKA_<NAME>), docs/config.md. */
enum { K_BASE_URL = PP_CARRIER_KEY_OWN, K_USERNAME, K_PASSWORD };
static const pp_carrier_key_t keys[] = {
    [PP_CARRIER_KEY_RPS] =
        {"rps", PP_CFG_INT, "5", 0, 100000, true, false,
         "fleet-wide Poczta Polska requests/s (0 = unlimited; none published; shared public credentials: be polite)"},
    [PP_CARRIER_KEY_PER_DAY] = {"per_day", PP_CFG_INT, "0", 0, 100000000, true, false,
                                "fleet-wide Poczta Polska requests per UTC day (0 = unlimited; none published)"},
    [K_BASE_URL] = {"base_url", PP_CFG_STR, "https://tt.poczta-polska.pl", 0, 0, true, false,
                    "Poczta Polska tracking base URL (SOAP Sledzenie at /Sledzenie/services/Sledzenie)"},
    [K_USERNAME] = {"username", PP_CFG_STR, "sledzeniepp", 0, 0, true, false,
                    "Poczta Polska WS-Security username (default: the public account Poczta Polska publishes for this service)"},
    [K_PASSWORD] = {"password", PP_CFG_STR, "PPSA", 0, 0, true, true,
                    "Poczta Polska WS-Security password, sent as PasswordText (default: the published public one)"},
};

extern const pp_carrier_t pp_carrier_pocztapolska;

#define PP_PATH "/Sledzenie/services/Sledzenie"
#define PP_NS "http://sledzenie.pocztapolska.pl"
#define WSSE_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WSU_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define PW_TEXT                                                                                    \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"

/*
 * Numbers per sprawdzPrzesylki call. The service says its limit through
 * maksymalnaLiczbaPrzesylek, whose runtime value the research could not find (§11); 20 is
 * a conservative guess. Whether the public account may call sprawdzPrzesylki at all is
 * also unknown: the batch answer then carries Komunikat.status -2 and parse() reports it.
 */
#define PP_MAX_BATCH 20

/*
 * Scan codes (Zdarzenie.kod) → normalized status. The codes are those of Poczta Polska's
 * tracking (research/carriers.md §6.2, seen in the REST API; the SOAP service reports the
 * same kind of codes in `kod` [observed in public SOAP clients that map `kod` through a
 * table]). An unknown code falls back on the event name (names[] below).
 */
typedef struct pp_code {
    const char *code;
    pp_status_t status;
} pp_code_t;

static const pp_code_t codes[] = {
    {"P_REJ_KN1", PP_ST_INFO_RECEIVED}, /* registered (data from the sender) */
    {"P_PPDN", PP_ST_IN_TRANSIT},       /* posted */
    {"P_NAD", PP_ST_IN_TRANSIT},        /* nadanie */
    {"P_PZL", PP_ST_IN_TRANSIT},
    {"P_WZL", PP_ST_IN_TRANSIT},
    {"P_WEOC", PP_ST_IN_TRANSIT},
    {"P_WYPL", PP_ST_IN_TRANSIT},
    {"P_WYOC", PP_ST_IN_TRANSIT},
    {"P_WEPL", PP_ST_IN_TRANSIT},
    {"P_WPUCPP", PP_ST_IN_TRANSIT},
    {"P_ZWC", PP_ST_IN_TRANSIT},
    {"P_WD", PP_ST_OUT_FOR_DELIVERY}, /* wydanie do doręczenia */
    {"P_WDML", PP_ST_OUT_FOR_DELIVERY},
    {"P_NDD", PP_ST_OUT_FOR_DELIVERY},
    {"P_A", PP_ST_AVAILABLE_FOR_PICKUP}, /* awizo: waits at the office */
    {"P_KWD", PP_ST_AVAILABLE_FOR_PICKUP},
    {"P_PA", PP_ST_AVAILABLE_FOR_PICKUP}, /* powtórne awizo */
    {"P_D", PP_ST_DELIVERED},             /* doręczono */
    {"P_OWU", PP_ST_DELIVERED},           /* odebrano w placówce */
    {"P_NDZ", PP_ST_RETURNING},           /* zwrot */
    {"P_ND", PP_ST_DELIVERY_FAILED},      /* niedoręczenie (the research lists it as a problem) */
    {"P_NDZK", PP_ST_EXCEPTION},
    {"P_NDPD", PP_ST_EXCEPTION},
    {"P_R", PP_ST_EXCEPTION},
    {"P_NDZAP", PP_ST_EXCEPTION},
    {"P_NDZKON", PP_ST_EXCEPTION},
    {"P_ZDUN", PP_ST_EXCEPTION},
    {"P_CZDKN", PP_ST_EXCEPTION},
    {"P_NDPJ", PP_ST_EXCEPTION},
};

/* Fallback on Zdarzenie.nazwa: first rule whose (lower-case) needle occurs wins; order matters. */
typedef struct name_rule {
    const char *needle;
    pp_status_t status;
} name_rule_t;

static const name_rule_t names[] = {
    {"zwrot", PP_ST_RETURNING},
    {"niedoręcz", PP_ST_DELIVERY_FAILED},
    {"nieudan", PP_ST_DELIVERY_FAILED},
    {"do doręczenia", PP_ST_OUT_FOR_DELIVERY}, /* wydanie / przekazanie do doręczenia */
    {"w doręczeniu", PP_ST_OUT_FOR_DELIVERY},
    {"awizo", PP_ST_AVAILABLE_FOR_PICKUP},
    {"do odbioru", PP_ST_AVAILABLE_FOR_PICKUP},
    {"czeka na odbiór", PP_ST_AVAILABLE_FOR_PICKUP},
    {"odebran", PP_ST_DELIVERED}, /* odebrano / odebrana w placówce */
    {"doręcz", PP_ST_DELIVERED},  /* doręczono, doręczenie */
    {"zarejestrowan", PP_ST_INFO_RECEIVED},
    {"nadani", PP_ST_IN_TRANSIT},
    {"nadana", PP_ST_IN_TRANSIT},
    {"przyję", PP_ST_IN_TRANSIT},
    {"wysłan", PP_ST_IN_TRANSIT},
    {"w drodze", PP_ST_IN_TRANSIT},
    {"sortowni", PP_ST_IN_TRANSIT},
};

static pp_status_t map_event(const char *code, const char *name)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i].code, code) == 0)
            return codes[i].status;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasestr(name, names[i].needle))
            return names[i].status;
    return PP_ST_UNKNOWN;
}

/*
 * WS-Security UsernameToken with PasswordText, as the public clients send it (research
 * §6.1); no Nonce/Created, which PasswordText does not need.
 */
static int pp_build_request(const pp_config_t *cfg, const char *token, const char *const *numbers,
                            size_t n, pp_http_request_t *req)
{
    char *body;
    size_t blen;
    memset(req, 0, sizeof(*req));
    if (!cfg || !numbers || n == 0 || n > PP_MAX_BATCH || !CFG(K_BASE_URL)[0])
        return PP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!numbers[i] || !numbers[i][0] || strlen(numbers[i]) > 64)
            return PP_EINVAL;
    const char *op = n == 1 ? "sprawdzPrzesylke" : "sprawdzPrzesylki";
    FILE *f = pp_soapxml_begin(&body, &blen, "sled", PP_NS);
    if (!f)
        return PP_ENOMEM;
    fputs("<soapenv:Header><wsse:Security soapenv:mustUnderstand=\"1\" xmlns:wsse=\"" WSSE_NS
          "\" xmlns:wsu=\"" WSU_NS "\"><wsse:UsernameToken wsu:Id=\"UsernameToken-1\">",
          f);
    pp_soapxml_element(f, "wsse:Username", CFG(K_USERNAME));
    fputs("<wsse:Password Type=\"" PW_TEXT "\">", f);
    pp_soapxml_escape(f, CFG(K_PASSWORD));
    fprintf(f,
            "</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>"
            "<soapenv:Body><sled:%s>",
            op);
    for (size_t i = 0; i < n; i++)
        pp_soapxml_element(f, "sled:numer", numbers[i]);
    fprintf(f, "</sled:%s>", op);
    (void)token;
    char action[32];
    snprintf(action, sizeof action, "urn:%s", op);
    return pp_soapxml_finish(f, &body, &blen, req, CFG(K_BASE_URL), PP_PATH, action);
}

/* Zdarzenie.czas: Polish local time "YYYY-MM-DD HH:MM" (seconds optional, 'T' accepted). */
static int parse_czas(const char *s, time_t *out)
{
    int Y, M, D, h, m, sec = 0, used = 0;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &Y, &M, &D, &sep, &h, &m, &used) != 6 ||
        (sep != ' ' && sep != 'T') || used != 16)
        return PP_EPARSE;
    if (s[16] == ':') {
        int used2 = 0;
        if (sscanf(s + 17, "%2d%n", &sec, &used2) != 1 || used2 != 2)
            return PP_EPARSE;
        used = 19;
    }
    if (s[used] != '\0')
        return PP_EPARSE;
    return pp_time_warsaw_to_utc(Y, M, D, h, m, sec, out);
}

static bool parse_bool(xmlNodePtr n, bool *out)
{
    char v[16];
    *out = false;
    if (!n)
        return true;
    if (pp_soapxml_text(n, v, sizeof v))
        return false;
    if (!v[0] || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return true;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return true;
    }
    return false;
}

static int parse_zdarzenie(xmlNodePtr z, size_t idx, pp_track_event_t *ev, bool *konczace,
                           char *err, size_t errlen)
{
    char czas[40], kod[64], nazwa[150], jedn[128], przyczyna[96];
    xmlNodePtr t = pp_soapxml_child(z, "czas");
    if (!t || pp_soapxml_text(t, czas, sizeof czas) || parse_czas(czas, &ev->occurred_at)) {
        pp_carrier_err(err, errlen, "zdarzenie[%zu].czas missing or not 'YYYY-MM-DD HH:MM' ('%.40s')",
                       idx, t ? czas : "");
        return PP_EPARSE;
    }
    if (pp_soapxml_text(pp_soapxml_child(z, "kod"), kod, sizeof kod) ||
        pp_soapxml_text(pp_soapxml_child(z, "nazwa"), nazwa, sizeof nazwa) ||
        pp_soapxml_text(pp_soapxml_child(pp_soapxml_child(z, "jednostka"), "nazwa"), jedn, sizeof jedn) ||
        pp_soapxml_text(pp_soapxml_child(pp_soapxml_child(z, "przyczyna"), "nazwa"), przyczyna,
                        sizeof przyczyna)) {
        pp_carrier_err(err, errlen,
                       "zdarzenie[%zu]: kod/nazwa/jednostka/przyczyna of the wrong type", idx);
        return PP_EPARSE;
    }
    if (!kod[0] && !nazwa[0]) {
        pp_carrier_err(err, errlen, "zdarzenie[%zu] has neither kod nor nazwa", idx);
        return PP_EPARSE;
    }
    if (!parse_bool(pp_soapxml_child(z, "konczace"), konczace)) {
        pp_carrier_err(err, errlen, "zdarzenie[%zu].konczace is not a boolean", idx);
        return PP_EPARSE;
    }
    ev->status = map_event(kod, nazwa);
    snprintf(ev->carrier_code, sizeof(ev->carrier_code), "%.63s", kod[0] ? kod : nazwa);
    snprintf(ev->description, sizeof(ev->description), "%s%s%s%s", nazwa, przyczyna[0] ? " (" : "",
             przyczyna, przyczyna[0] ? ")" : "");
    snprintf(ev->location, sizeof(ev->location), "%s", jedn);
    return PP_OK;
}

/*
 * A return changes the meaning of what follows: after a return event, "delivered" is the
 * parcel reaching the sender (returned), and any other main-line scan is the way back
 * (returning). When handling is finished (zakonczonoObsluge, or a konczace event last) and
 * a return happened, the last event is a finished return: returned, never delivered.
 */
static void apply_return_rules(pp_track_result_t *r, bool finished)
{
    bool ret = false;
    for (size_t i = 0; i < r->n_events; i++) {
        pp_track_event_t *e = &r->events[i];
        if (e->status == PP_ST_RETURNING || e->status == PP_ST_RETURNED)
            ret = true;
        else if (ret && e->status == PP_ST_DELIVERED)
            e->status = PP_ST_RETURNED;
        else if (ret && pp_status_rank(e->status) > 1)
            e->status = PP_ST_RETURNING;
    }
    if (ret && finished && r->n_events > 0)
        r->events[r->n_events - 1].status = PP_ST_RETURNED;
}

static int parse_dane(xmlNodePtr dane, pp_track_result_t *r, char *err, size_t errlen)
{
    bool finished = false, last_konczace = false;
    xmlNodePtr list = pp_soapxml_child(dane, "zdarzenia");
    size_t n = 0;
    if (!parse_bool(pp_soapxml_child(dane, "zakonczonoObsluge"), &finished)) {
        pp_carrier_err(err, errlen, "danePrzesylki.zakonczonoObsluge is not a boolean");
        return PP_EPARSE;
    }
    for (xmlNodePtr z = pp_soapxml_child(list, "zdarzenie"); z; z = pp_soapxml_next(z, "zdarzenie"))
        if (!pp_soapxml_is_nil(z))
            n++;
    if (n == 0)
        return PP_OK;
    if (!(r->events = calloc(n, sizeof(*r->events))))
        return PP_ENOMEM;
    bool *konczace = calloc(n, sizeof(bool));
    if (!konczace)
        return PP_ENOMEM;
    size_t i = 0;
    for (xmlNodePtr z = pp_soapxml_child(list, "zdarzenie"); z; z = pp_soapxml_next(z, "zdarzenie")) {
        if (pp_soapxml_is_nil(z))
            continue;
        int rc = parse_zdarzenie(z, i, &r->events[i], &konczace[i], err, errlen);
        if (rc) {
            free(konczace);
            return rc;
        }
        i++;
    }
    r->n_events = n;
    /* Wire order is oldest first in every sample; sort (stable) by time anyway. */
    for (size_t a = 1; a < n; a++) {
        pp_track_event_t tmp = r->events[a];
        bool k = konczace[a];
        size_t b = a;
        while (b > 0 && r->events[b - 1].occurred_at > tmp.occurred_at) {
            r->events[b] = r->events[b - 1];
            konczace[b] = konczace[b - 1];
            b--;
        }
        r->events[b] = tmp;
        konczace[b] = k;
    }
    last_konczace = konczace[n - 1];
    free(konczace);
    apply_return_rules(r, finished || last_konczace);
    /* Where to collect it: the office of the latest "waiting for you" event. */
    for (size_t k = n; k-- > 0;)
        if (r->events[k].status == PP_ST_AVAILABLE_FOR_PICKUP) {
            snprintf(r->pickup_point, sizeof(r->pickup_point), "%.63s", r->events[k].location);
            break;
        }
    return PP_OK;
}

/*
 * One Przesylka. status: 0 OK, 1 other parcels share this number (first one's data), 2 no
 * events, -1 no such parcel, -2 invalid number, -99 unknown error (research §6.1).
 * *unknown_error is set for -99 (the caller decides: error for a single, not-found in a batch).
 */
static int parse_przesylka(xmlNodePtr p, size_t idx, pp_track_result_t *r, bool *unknown_error,
                           char *err, size_t errlen)
{
    char numer[64], st[16];
    char *end;
    *unknown_error = false;
    if (pp_soapxml_text(pp_soapxml_child(p, "numer"), numer, sizeof numer) ||
        pp_soapxml_text(pp_soapxml_child(p, "status"), st, sizeof st)) {
        pp_carrier_err(err, errlen, "przesylka[%zu]: numer/status of the wrong type", idx);
        return PP_EPARSE;
    }
    long status = strtol(st, &end, 10);
    if (!st[0] || *end) {
        pp_carrier_err(err, errlen, "przesylka[%zu].status missing or not an integer ('%.15s')",
                       idx, st);
        return PP_EPARSE;
    }
    xmlNodePtr dane = pp_soapxml_child(p, "danePrzesylki");
    if (!numer[0] && dane && pp_soapxml_text(pp_soapxml_child(dane, "numer"), numer, sizeof numer)) {
        pp_carrier_err(err, errlen, "przesylka[%zu].danePrzesylki.numer of the wrong type", idx);
        return PP_EPARSE;
    }
    snprintf(r->tracking_number, sizeof(r->tracking_number), "%s", numer);
    switch (status) {
    case 0:
    case 1:
    case 2:
        r->found = true;
        return dane && !pp_soapxml_is_nil(dane) ? parse_dane(dane, r, err, errlen) : PP_OK;
    case -1:
    case -2: r->found = false; return PP_OK;
    case -99:
        r->found = false;
        *unknown_error = true;
        return PP_OK;
    default:
        pp_carrier_err(err, errlen, "przesylka[%zu].status %ld is not a known value", idx, status);
        return PP_EPARSE;
    }
}

static const char *komunikat_reason(long st)
{
    switch (st) {
    case -1: return "too many numbers in one call (see maksymalnaLiczbaPrzesylek)";
    case -2: return "this account may not query many numbers at once";
    case -3: return "invalid dates";
    case -99: return "unknown error";
    default: return "unknown status";
    }
}

/* The answer of sprawdzPrzesylke (one number) into *rp (*np = 1); -99 is an error here. */
static int parse_single(xmlNodePtr ret, pp_track_result_t **rp, size_t *np, char *err, size_t errlen)
{
    bool unknown_error = false;
    pp_track_result_t *r = calloc(1, sizeof(*r));
    if (!(*rp = r))
        return PP_ENOMEM;
    *np = 1;
    int rc = parse_przesylka(ret, 0, r, &unknown_error, err, errlen);
    if (rc)
        return rc;
    if (unknown_error) {
        pp_carrier_err(err, errlen, "Poczta Polska answered status -99 (unknown error) for %s",
                       r->tracking_number);
        return PP_EHTTP;
    }
    return PP_OK;
}

/* The answer of sprawdzPrzesylki (a Komunikat listing many) into *rp and *np. */
static int parse_batch(xmlNodePtr ret, pp_track_result_t **rp, size_t *np, char *err, size_t errlen)
{
    char st[16];
    char *end;
    bool unknown_error = false;
    if (pp_soapxml_text(pp_soapxml_child(ret, "status"), st, sizeof st)) {
        pp_carrier_err(err, errlen, "Komunikat.status of the wrong type");
        return PP_EPARSE;
    }
    long kst = strtol(st, &end, 10);
    if (!st[0] || *end) {
        pp_carrier_err(err, errlen, "Komunikat.status missing or not an integer ('%.15s')", st);
        return PP_EPARSE;
    }
    if (kst != 0) {
        pp_carrier_err(err, errlen, "Poczta Polska batch status %ld: %s", kst, komunikat_reason(kst));
        return PP_EHTTP;
    }
    xmlNodePtr list = pp_soapxml_child(ret, "przesylki");
    size_t cap = 0, n_unknown = 0;
    for (xmlNodePtr p = pp_soapxml_child(list, "przesylka"); p; p = pp_soapxml_next(p, "przesylka"))
        cap++;
    if (cap == 0) {
        pp_carrier_err(err, errlen, "batch answer without any przesylka");
        return PP_EPARSE;
    }
    pp_track_result_t *r = calloc(cap, sizeof(*r));
    if (!(*rp = r))
        return PP_ENOMEM;
    for (xmlNodePtr p = pp_soapxml_child(list, "przesylka"); p; p = pp_soapxml_next(p, "przesylka")) {
        size_t n = (*np)++;
        int rc = parse_przesylka(p, n, &r[n], &unknown_error, err, errlen);
        if (rc)
            return rc;
        n_unknown += unknown_error;
    }
    /* -99 for some numbers: those read as not found; for all of them: an error. */
    if (n_unknown == *np) {
        pp_carrier_err(err, errlen,
                       "Poczta Polska answered status -99 (unknown error) for every number");
        return PP_EHTTP;
    }
    return PP_OK;
}

static int pp_parse(int http_status, const char *body, size_t len, pp_track_result_t **results,
                    size_t *n_results, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr sbody;
    pp_track_result_t *r = NULL;
    size_t n = 0;
    int rc;
    *results = NULL;
    *n_results = 0;
    if (err && errlen)
        err[0] = '\0';
    if ((rc = pp_soapxml_open_response(http_status, body, len, &doc, &sbody, err, errlen)) != 0)
        goto fail;
    rc = PP_EPARSE;
    xmlNodePtr resp = pp_soapxml_first(sbody);
    const char *op = resp ? (const char *)resp->name : "";
    bool batch = strncmp(op, "sprawdzPrzesylki", 16) == 0;
    if (!batch && strncmp(op, "sprawdzPrzesylke", 16) != 0) {
        pp_carrier_err(err, errlen, "SOAP Body holds <%.60s>, not a sprawdzPrzesylke/i response", op);
        goto fail;
    }
    xmlNodePtr ret = pp_soapxml_child(resp, "return");
    if (!ret || pp_soapxml_is_nil(ret)) {
        pp_carrier_err(err, errlen, "%.60s has no return", op);
        goto fail;
    }
    rc = batch ? parse_batch(ret, &r, &n, err, errlen) : parse_single(ret, &r, &n, err, errlen);
    if (rc)
        goto fail;
    xmlFreeDoc(doc);
    *results = r;
    *n_results = n;
    return PP_OK;
fail:
    pp_track_results_free(r, n);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

const pp_carrier_t pp_carrier_pocztapolska = {
    .name = "pocztapolska",
    .display = "Poczta Polska",
    .aliases = (const char *const[]){"poczta polska", "pp", "poczta", NULL},
    .help_names = "Poczta Polska / PP",
    .formats = formats,
    .n_formats = PP_N(formats),
    .example = {"00#5900773#########?",
                pp_checkdigit_gs1_finish}, /* domestic (00 + extension digit + 5900773 + serial) */
    .auth = PP_CARRIER_AUTH_BODY,
    .keys = keys,
    .n_keys = PP_N(keys),
    .max_batch = PP_MAX_BATCH,
    .build_request = pp_build_request,
    .parse_raw = pp_parse,
};
