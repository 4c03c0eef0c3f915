/* pocztapolska.c - renders simulator scenarios as Poczta Polska Sledzenie SOAP answers (Axis2 style, WS-Security checked). */
#include "pocztapolska.h"
#include "carriers/numbers.h"
#include "carriers/soapxml.h"
#include "err.h"
#include "httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PP_NS "http://sledzenie.pocztapolska.pl"
#define PP_XSD "http://sledzenie.pocztapolska.pl/xsd"
#define WSSE_NS "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
/* maksymalnaLiczbaPrzesylek of the simulated service (the real value is unknown). */
#define SIM_MAX_NUMBERS 20

typedef struct {
    const char *kod, *nazwa, *przyczyna; /* przyczyna NULL = none */
} pp_event_t;

/* Scenario step → scan code (research §6.2) and a Polish event name in Poczta Polska's style. */
static pp_event_t step_event(pp_sim_step_kind_t k, bool to_locker)
{
    switch (k) {
    case PP_SIM_LABEL_CREATED:
        return (pp_event_t){"P_REJ_KN1", "Przesyłka zarejestrowana w systemie", NULL};
    case PP_SIM_DROPPED_AT_LOCKER: return (pp_event_t){"P_NAD", "Nadanie", NULL};
    case PP_SIM_COLLECTED: return (pp_event_t){"P_NAD", "Nadanie", NULL};
    case PP_SIM_TAKEN_FROM_LOCKER:
        return (pp_event_t){"P_WYPL", "Wysłanie z placówki nadawczej", NULL};
    case PP_SIM_SOURCE_BRANCH_IN: return (pp_event_t){"P_PZL", "Przyjęcie w placówce", NULL};
    case PP_SIM_SOURCE_BRANCH_OUT:
        return (pp_event_t){"P_WYPL", "Wysłanie z placówki nadawczej", NULL};
    case PP_SIM_SORTING_IN: return (pp_event_t){"P_WEOC", "Przyjęcie w sortowni", NULL};
    case PP_SIM_SORTING_OUT: return (pp_event_t){"P_WYOC", "Wysłanie z sortowni", NULL};
    case PP_SIM_TARGET_BRANCH_IN:
        return (pp_event_t){"P_WEPL", "Przyjęcie w placówce doręczającej", NULL};
    case PP_SIM_OUT_FOR_DELIVERY: return (pp_event_t){"P_WD", "Wydanie do doręczenia", NULL};
    case PP_SIM_NOTICE_LEFT:
        return (pp_event_t){"P_A", "Awizo - przesyłka do odbioru w placówce", "Adresat nieobecny"};
    case PP_SIM_UNDELIVERED:
        return (pp_event_t){"P_ND", "Niedoręczenie", "Brak dostępu do adresata"};
    case PP_SIM_READY_AT_LOCKER:
        return (pp_event_t){"P_KWD", "Przesyłka gotowa do odbioru w placówce", NULL};
    case PP_SIM_PICKUP_REMINDER: return (pp_event_t){"P_PA", "Powtórne awizo", NULL};
    case PP_SIM_DELIVERED:
        return to_locker ? (pp_event_t){"P_OWU", "Odebrano w placówce", NULL}
                         : (pp_event_t){"P_D", "Doręczenie", NULL};
    }
    return (pp_event_t){"P_INNE", "Zdarzenie", NULL};
}

static const struct {
    const char *code, *name;
} offices[] = {
    {"KRA", "UP Kraków 1"},    {"WAW", "UP Warszawa 1"}, {"GDA", "UP Gdańsk 1"},
    {"POZ", "UP Poznań 1"},    {"WRO", "UP Wrocław 1"},  {"LOD", "UP Łódź 1"},
    {"KAT", "UP Katowice 1"},  {"LUB", "UP Lublin 1"},   {"SZC", "UP Szczecin 1"},
    {"BYD", "UP Bydgoszcz 1"}, {"RZE", "UP Rzeszów 1"},  {"OLS", "UP Olsztyn 1"},
    {"SOR", "WER Warszawa"},
};

static const char *office_of(const char *place)
{
    for (size_t i = 0; i < sizeof offices / sizeof offices[0]; i++)
        if (strncmp(place, offices[i].code, 3) == 0)
            return offices[i].name;
    return "Poczta Polska";
}

static bool pp_number_ok(const char *number) { return pp_number_valid("pocztapolska", number); }

static bool is_op(xmlNodePtr op)
{
    static const char *const ops[] = {"sprawdzPrzesylke", "sprawdzPrzesylki", "sprawdzPrzesylkePl",
                                      "sprawdzPrzesylkiPl"};
    if (!op || !op->ns || xmlStrcmp(op->ns->href, BAD_CAST PP_NS) != 0)
        return false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (xmlStrcmp(op->name, BAD_CAST ops[i]) == 0)
            return true;
    return false;
}

static int pp_parse_request(h2o_req_t *req, pp_sim_call_t *call)
{
    xmlDocPtr doc = NULL;
    char err[256], numer[64];
    int rc = PP_OK;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        call->error_status = 405;
        return PP_EINVAL;
    }
    if (pp_soapxml_parse(req->entity.base, req->entity.len, &doc, err, sizeof err) != 0) {
        call->error_status = 400;
        return PP_EINVAL;
    }
    xmlNodePtr op = pp_soapxml_first(pp_soapxml_body(doc));
    if (!is_op(op) || !pp_soapxml_child(op, "numer")) {
        call->error_status = 400;
        rc = PP_EINVAL;
    }
    for (xmlNodePtr n = rc ? NULL : pp_soapxml_child(op, "numer"); n && rc == PP_OK;
         n = pp_soapxml_next(n, "numer")) {
        if (pp_soapxml_text(n, numer, sizeof numer) != 0) {
            call->error_status = 400;
            rc = PP_EINVAL;
        } else {
            rc = pp_sim_call_add(call, numer, strlen(numer));
        }
    }
    xmlFreeDoc(doc);
    return rc;
}

/*
 * WS-Security UsernameToken (PasswordText) must carry --client-id/--client-secret, or the
 * public sledzeniepp/PPSA when the simulator runs without them. No header = no access.
 */
static int pp_check_auth(pp_sim_t *s, h2o_req_t *req)
{
    xmlDocPtr doc = NULL;
    char err[256], user[128], pass[128];
    int bad = 1;
    const char *want_user = s->client_id ? s->client_id : "sledzeniepp";
    const char *want_pass = s->client_id ? (s->client_secret ? s->client_secret : "") : "PPSA";
    if (pp_soapxml_parse(req->entity.base, req->entity.len, &doc, err, sizeof err) != 0)
        return 500;
    xmlNodePtr env = xmlDocGetRootElement(doc), hdr = pp_soapxml_child(env, "Header");
    xmlNodePtr sec = pp_soapxml_child(hdr, "Security");
    xmlNodePtr tok = sec && sec->ns && xmlStrcmp(sec->ns->href, BAD_CAST WSSE_NS) == 0
                         ? pp_soapxml_child(sec, "UsernameToken")
                         : NULL;
    xmlNodePtr u = pp_soapxml_child(tok, "Username"), p = pp_soapxml_child(tok, "Password");
    if (u && p && pp_soapxml_text(u, user, sizeof user) == 0 &&
        pp_soapxml_text(p, pass, sizeof pass) == 0) {
        xmlChar *type = xmlGetProp(p, BAD_CAST "Type");
        bool text = !type || xmlStrstr(type, BAD_CAST "#PasswordText");
        xmlFree(type);
        bad = !(text && strcmp(user, want_user) == 0 && strcmp(pass, want_pass) == 0);
    }
    xmlFreeDoc(doc);
    /* Axis2/Rampart answers the fault with HTTP 500; the framework sends 401 for any nonzero. */
    return bad ? 500 : 0;
}

static int pp_error(int status, char **body, size_t *len)
{
    const char *code = "soapenv:Server", *text = "Internal Server Error";
    const char *ns = "";
    switch (status) {
    case 400:
        code = "soapenv:Client";
        text = "The endpoint reference (EPR) for the Operation not found";
        break;
    case 401:
        code = "wsse:FailedAuthentication";
        text = "The security token could not be authenticated or authorized";
        ns = " xmlns:wsse=\"" WSSE_NS "\"";
        break;
    case 404:
        code = "soapenv:Client";
        text = "The requested service is not available";
        break;
    case 405:
        code = "soapenv:Client";
        text = "Only POST is supported";
        break;
    case 429: text = "Too many requests"; break;
    }
    pp_sim_buf_t b = {0};
    pp_sim_put(&b,
               "<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv=\"" PP_SOAP11_NS
               "\"><soapenv:Body><soapenv:Fault><faultcode%s>%s</faultcode><faultstring>%s"
               "</faultstring><detail /></soapenv:Fault></soapenv:Body></soapenv:Envelope>",
               ns, code, text);
    return pp_sim_buf_finish(&b, body, len);
}

/* "2026-03-29 03:30": Polish local time, minutes only, as czas is on the wire. */
static void czas(time_t t, char out[24])
{
    char iso[40];
    pp_sim_format_warsaw(t, iso);
    snprintf(out, 24, "%.10s %.5s", iso, iso + 11);
}

static void put_jednostka(pp_sim_buf_t *b, const char *tag, const char *name)
{
    pp_sim_put(b,
               "<ax21:%s xsi:type=\"ax21:Jednostka\"><ax21:daneSzczegolowe xsi:nil=\"true\"/>"
               "<ax21:nazwa>",
               tag);
    pp_sim_put_escaped_xml(b, name);
    pp_sim_put(b, "</ax21:nazwa></ax21:%s>", tag);
}

/* One Przesylka (the single answer's return, or one przesylka of a batch). */
static void put_przesylka(pp_sim_buf_t *b, const pp_sim_parcel_t *p)
{
    int status = !p->valid ? -2 : p->visible == 0 ? -1 : 0;
    if (status != 0) {
        pp_sim_put(b, "<ax21:danePrzesylki xsi:nil=\"true\"/>");
    } else {
        const pp_sim_scenario_t *sc = &p->sc;
        const pp_sim_step_t *last = &sc->steps[p->visible - 1];
        const char *src = office_of(sc->from_locker ? sc->dropoff_id : sc->steps[1].place);
        const char *dst = office_of(sc->to_locker ? sc->locker_id : sc->steps[sc->n_steps - 1].place);
        char when[24];
        czas(p->origin + (time_t)sc->steps[0].at_s, when);
        pp_sim_put(b,
                   "<ax21:danePrzesylki xsi:type=\"ax21:DanePrzesylki\"><ax21:dataNadania>%.10s"
                   "</ax21:dataNadania><ax21:format xsi:nil=\"true\"/><ax21:kodKrajuNadania>PL"
                   "</ax21:kodKrajuNadania><ax21:kodKrajuPrzezn>PL</ax21:kodKrajuPrzezn>"
                   "<ax21:kodRodzPrzes>PPA</ax21:kodRodzPrzes><ax21:krajNadania>Polska"
                   "</ax21:krajNadania><ax21:krajPrzezn>Polska</ax21:krajPrzezn><ax21:masa>%.1f"
                   "</ax21:masa><ax21:numer>",
                   when, 0.5 + (double)(sc->size - 'A'));
        pp_sim_put_escaped_xml(b, p->number);
        pp_sim_put(b, "</ax21:numer><ax21:proceduraSerwis xsi:nil=\"true\"/><ax21:rodzPrzes>Paczka "
                      "pocztowa</ax21:rodzPrzes>");
        put_jednostka(b, "urzadNadania", src);
        put_jednostka(b, "urzadPrzezn", dst);
        pp_sim_put(b,
                   "<ax21:zakonczonoObsluge>%s</ax21:zakonczonoObsluge><ax21:zdarzenia "
                   "xsi:type=\"ax21:ListaZdarzen\">",
                   last->kind == PP_SIM_DELIVERED ? "true" : "false");
        for (int i = 0; i < p->visible; i++) { /* oldest first, as the service sends them */
            const pp_sim_step_t *st = &sc->steps[i];
            pp_event_t ev = step_event(st->kind, sc->to_locker);
            const char *where = st->place[0] ? office_of(st->place)
                                : (st->kind == PP_SIM_READY_AT_LOCKER ||
                                   st->kind == PP_SIM_PICKUP_REMINDER || st->kind == PP_SIM_DELIVERED)
                                    ? dst
                                    : src;
            czas(p->origin + (time_t)st->at_s, when);
            pp_sim_put(b, "<ax21:zdarzenie xsi:type=\"ax21:Zdarzenie\"><ax21:czas>%s</ax21:czas>",
                       when);
            put_jednostka(b, "jednostka", where);
            pp_sim_put(b, "<ax21:kod>%s</ax21:kod><ax21:konczace>%s</ax21:konczace><ax21:nazwa>",
                       ev.kod, st->kind == PP_SIM_DELIVERED ? "true" : "false");
            pp_sim_put_escaped_xml(b, ev.nazwa);
            pp_sim_put(b, "</ax21:nazwa>");
            if (ev.przyczyna) {
                pp_sim_put(b,
                           "<ax21:przyczyna xsi:type=\"ax21:Przyczyna\"><ax21:kod>%s_1</ax21:kod>"
                           "<ax21:nazwa>",
                           ev.kod);
                pp_sim_put_escaped_xml(b, ev.przyczyna);
                pp_sim_put(b, "</ax21:nazwa></ax21:przyczyna>");
            } else {
                pp_sim_put(b, "<ax21:przyczyna xsi:nil=\"true\"/>");
            }
            pp_sim_put(b, "</ax21:zdarzenie>");
        }
        pp_sim_put(b, "</ax21:zdarzenia></ax21:danePrzesylki>");
    }
    pp_sim_put(b, "<ax21:numer>");
    pp_sim_put_escaped_xml(b, p->number);
    pp_sim_put(b, "</ax21:numer><ax21:status>%d</ax21:status>", status);
}

/*
 * One number → the sprawdzPrzesylke answer (Przesylka); several → sprawdzPrzesylki
 * (Komunikat). The framework passes only the numbers, so a sprawdzPrzesylki call with a
 * single number is answered in the single shape (the adapter sends those as sprawdzPrzesylke).
 */
static int pp_render(const pp_sim_parcel_t *parcels, size_t n, int *status, char **body, size_t *len)
{
    pp_sim_buf_t b = {0};
    const char *op = n == 1 ? "sprawdzPrzesylkeResponse" : "sprawdzPrzesylkiResponse";
    *status = 200;
    pp_sim_put(&b,
               "<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv=\"" PP_SOAP11_NS
               "\"><soapenv:Body><ns:%s xmlns:ns=\"" PP_NS "\"><ns:return xmlns:ax21=\"" PP_XSD
               "\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"ax21:%s\">",
               op, n == 1 ? "Przesylka" : "Komunikat");
    if (n == 1) {
        put_przesylka(&b, &parcels[0]);
    } else if (n > SIM_MAX_NUMBERS) {
        pp_sim_put(&b, "<ax21:przesylki xsi:nil=\"true\"/><ax21:status>-1</ax21:status>");
    } else {
        pp_sim_put(&b, "<ax21:przesylki xsi:type=\"ax21:ListaPrzesylek\">");
        for (size_t i = 0; i < n; i++) {
            pp_sim_put(&b, "<ax21:przesylka xsi:type=\"ax21:Przesylka\">");
            put_przesylka(&b, &parcels[i]);
            pp_sim_put(&b, "</ax21:przesylka>");
        }
        pp_sim_put(&b, "</ax21:przesylki><ax21:status>0</ax21:status>");
    }
    pp_sim_put(&b, "</ns:return></ns:%s></soapenv:Body></soapenv:Envelope>", op);
    return pp_sim_buf_finish(&b, body, len);
}

const pp_sim_shape_t pp_sim_shape_pocztapolska = {
    .carrier = "pocztapolska",
    .route = "/Sledzenie/services/Sledzenie",
    .content_type = "text/xml; charset=utf-8",
    .parse_request = pp_parse_request,
    .check_auth = pp_check_auth,
    .number_ok = pp_number_ok,
    .render = pp_render,
    .render_error = pp_error,
};
