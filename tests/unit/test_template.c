/* test_template.c - every status and kind rendered in Polish and English, carriers, limits. */
#include "check.h"
#include "err.h"
#include "template.h"

#include <string.h>

static pp_event_t ev_of(const char *carrier, const char *number, pp_event_kind_t kind,
                        pp_status_t st, const char *location)
{
    pp_event_t ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.carrier, sizeof ev.carrier, "%s", carrier);
    snprintf(ev.tracking_number, sizeof ev.tracking_number, "%s", number);
    snprintf(ev.location, sizeof ev.location, "%s", location);
    ev.kind = kind;
    ev.status = st;
    return ev;
}

static const struct {
    const char *carrier, *number;
    pp_event_kind_t kind;
    pp_status_t status;
    const char *location, *pl, *en;
} cases[] = {
    {"inpost", "620000000000000000000123", PP_EV_STATUS_CHANGED, PP_ST_AVAILABLE_FOR_PICKUP,
     "KRA01M", "Paczka InPost 620000000000000000000123: czeka w Paczkomacie KRA01M",
     "Parcel InPost 620000000000000000000123: is waiting in the Paczkomat locker KRA01M"},
    {"dhl", "112233445566", PP_EV_STATUS_CHANGED, PP_ST_AVAILABLE_FOR_PICKUP, "DHL POP 123",
     "Paczka DHL 112233445566: czeka w punkcie odbioru DHL POP 123",
     "Parcel DHL 112233445566: is waiting at the pickup point DHL POP 123"},
    {"inpost", "620000000000000000000123", PP_EV_STATUS_CHANGED, PP_ST_AVAILABLE_FOR_PICKUP, "",
     "Paczka InPost 620000000000000000000123: czeka w Paczkomacie",
     "Parcel InPost 620000000000000000000123: is waiting in the Paczkomat locker"},
    {"dpd", "13245678901234", PP_EV_NUMBER_ENTERED, PP_ST_INFO_RECEIVED, "",
     "Paczka DPD 13245678901234: sprzedawca nadał przesyłkę",
     "Parcel DPD 13245678901234: the seller entered the tracking number"},
    {"dhl", "112233445566", PP_EV_STATUS_CHANGED, PP_ST_INFO_RECEIVED, "",
     "Paczka DHL 112233445566: przewoźnik otrzymał dane przesyłki",
     "Parcel DHL 112233445566: the carrier received the shipment details"},
    {"ups", "1Z999AA10123456784", PP_EV_STATUS_CHANGED, PP_ST_IN_TRANSIT, "Warszawa",
     "Paczka UPS 1Z999AA10123456784: w drodze", "Parcel UPS 1Z999AA10123456784: in transit"},
    {"gls", "12345678901", PP_EV_STATUS_CHANGED, PP_ST_OUT_FOR_DELIVERY, "",
     "Paczka GLS 12345678901: wydana do doręczenia", "Parcel GLS 12345678901: out for delivery"},
    {"pocztapolska", "00659007734567890123", PP_EV_STATUS_CHANGED, PP_ST_DELIVERED, "",
     "Paczka Poczta Polska 00659007734567890123: doręczona",
     "Parcel Poczta Polska 00659007734567890123: delivered"},
    {"orlen", "RP123456789PL", PP_EV_STATUS_CHANGED, PP_ST_DELIVERY_FAILED, "",
     "Paczka ORLEN Paczka RP123456789PL: nieudana próba doręczenia",
     "Parcel ORLEN Paczka RP123456789PL: delivery attempt failed"},
    {"dhl", "112233445566", PP_EV_STATUS_CHANGED, PP_ST_EXCEPTION, "",
     "Paczka DHL 112233445566: problem z przesyłką",
     "Parcel DHL 112233445566: a problem with the shipment"},
    {"dhl", "112233445566", PP_EV_STATUS_CHANGED, PP_ST_RETURNING, "",
     "Paczka DHL 112233445566: wraca do nadawcy", "Parcel DHL 112233445566: returning to the sender"},
    {"dhl", "112233445566", PP_EV_STATUS_CHANGED, PP_ST_RETURNED, "",
     "Paczka DHL 112233445566: zwrócona do nadawcy", "Parcel DHL 112233445566: returned to the sender"},
    {"dhl", "112233445566", PP_EV_STATUS_CHANGED, PP_ST_EXPIRED, "",
     "Paczka DHL 112233445566: brak nowych informacji od przewoźnika, śledzenie zakończone",
     "Parcel DHL 112233445566: no news from the carrier for a long time, tracking stopped"},
    {"fedex", "123456789012", PP_EV_STATUS_CHANGED, PP_ST_DELIVERED, "",
     "Paczka fedex 123456789012: doręczona", "Parcel fedex 123456789012: delivered"},
};

int main(void)
{
    char out[512];
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        pp_event_t ev = ev_of(cases[i].carrier, cases[i].number, cases[i].kind, cases[i].status,
                              cases[i].location);
        CHECK_INT(pp_template_render(&ev, "pl", out, sizeof out), 0);
        CHECK_STR(out, cases[i].pl);
        CHECK_INT(pp_template_render(&ev, NULL, out, sizeof out), 0); /* default = Polish */
        CHECK_STR(out, cases[i].pl);
        CHECK_INT(pp_template_render(&ev, "en", out, sizeof out), 0);
        CHECK_STR(out, cases[i].en);
    }
    /* Every notifiable status has a text in both languages. */
    for (int st = PP_ST_INFO_RECEIVED; st < PP_ST__COUNT; st++) {
        pp_event_t ev = ev_of("dhl", "1", PP_EV_STATUS_CHANGED, (pp_status_t)st, "X");
        CHECK_INT(pp_template_render(&ev, "pl", out, sizeof out), 0);
        CHECK_INT(pp_template_render(&ev, "en", out, sizeof out), 0);
    }
    /* Never-notified statuses are refused. */
    pp_event_t bad = ev_of("dhl", "1", PP_EV_STATUS_CHANGED, PP_ST_NOT_FOUND_YET, "");
    CHECK_INT(pp_template_render(&bad, "pl", out, sizeof out), PP_EINVAL);
    bad.status = PP_ST_UNKNOWN;
    CHECK_INT(pp_template_render(&bad, "en", out, sizeof out), PP_EINVAL);
    /* Too small a buffer: error and an empty string, never a truncated message. */
    pp_event_t ok =
        ev_of("inpost", "620000000000000000000123", PP_EV_STATUS_CHANGED, PP_ST_DELIVERED, "");
    char small[20];
    CHECK_INT(pp_template_render(&ok, "pl", small, sizeof small), PP_EINVAL);
    CHECK_STR(small, "");
    CHECK_STR(pp_template_carrier_name("pocztapolska"), "Poczta Polska");
    CHECK_STR(pp_template_carrier_name("orlen"), "ORLEN Paczka");

    /* The IM-link code message carries the code and the minutes left, in the buyer's language. */
    pp_link_event_t lk = {.user_id = 1,
                          .channel = "xmpp",
                          .address = "a@b",
                          .code = "042917",
                          .locale = "pl"};
    CHECK_INT(pp_template_link_code(&lk, 10, out, sizeof out), 0);
    CHECK(strstr(out, "Twój kod to 042917.") != NULL);
    CHECK(strstr(out, "Ważny 10 min.") != NULL);
    snprintf(lk.locale, sizeof lk.locale, "en");
    CHECK_INT(pp_template_link_code(&lk, 3, out, sizeof out), 0);
    CHECK(strstr(out, "your code is 042917.") != NULL);
    CHECK_INT(pp_template_link_code(&lk, 3, small, sizeof small), PP_EINVAL);
    CHECK_STR(small, "");
    return CHECK_DONE();
}
