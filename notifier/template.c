/* template.c - message texts per status and locale, rendering (carrier names and locker wording from the registry); the IM-link code message. */
#include "template.h"
#include "carriers/carrier.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

enum { LANG_PL = 0, LANG_EN = 1 };

/* Text per status, [status][lang]; NULL = never notified. Pickup is handled apart. */
static const char *const status_text[PP_ST__COUNT][2] = {
    [PP_ST_INFO_RECEIVED] = {"przewoźnik otrzymał dane przesyłki",
                             "the carrier received the shipment details"},
    [PP_ST_IN_TRANSIT] = {"w drodze", "in transit"},
    [PP_ST_OUT_FOR_DELIVERY] = {"wydana do doręczenia", "out for delivery"},
    [PP_ST_DELIVERED] = {"doręczona", "delivered"},
    [PP_ST_DELIVERY_FAILED] = {"nieudana próba doręczenia", "delivery attempt failed"},
    [PP_ST_EXCEPTION] = {"problem z przesyłką", "a problem with the shipment"},
    [PP_ST_RETURNING] = {"wraca do nadawcy", "returning to the sender"},
    [PP_ST_RETURNED] = {"zwrócona do nadawcy", "returned to the sender"},
    [PP_ST_EXPIRED] = {"brak nowych informacji od przewoźnika, śledzenie zakończone",
                       "no news from the carrier for a long time, tracking stopped"},
};

const char *pp_template_carrier_name(const char *carrier)
{
    const pp_carrier_t *c = pp_carrier_find(carrier);
    return c && strcmp(c->name, carrier) == 0 ? c->display : carrier;
}

/* "czeka w Paczkomacie KRA01M" (the carrier's locker wording) / "czeka w punkcie odbioru X"
 * (location optional). */
static int pickup_text(const pp_event_t *ev, int lang, char *out, size_t outlen)
{
    static const char *const generic[2] = {"czeka w punkcie odbioru", "is waiting at the pickup point"};
    const pp_carrier_t *c = pp_carrier_find(ev->carrier);
    const char *where =
        c && strcmp(c->name, ev->carrier) == 0 && c->locker[lang] ? c->locker[lang] : generic[lang];
    int n = ev->location[0] ? snprintf(out, outlen, "%s %s", where, ev->location)
                            : snprintf(out, outlen, "%s", where);
    return (n < 0 || (size_t)n >= outlen) ? PP_EINVAL : PP_OK;
}

int pp_template_render(const pp_event_t *ev, const char *locale, char *out, size_t outlen)
{
    char text[256];
    int lang = (locale && strcmp(locale, "en") == 0) ? LANG_EN : LANG_PL;
    if (!out || outlen == 0)
        return PP_EINVAL;
    out[0] = '\0';
    if (ev->kind == PP_EV_NUMBER_ENTERED) {
        snprintf(text, sizeof text, "%s",
                 lang == LANG_EN ? "the seller entered the tracking number"
                                 : "sprzedawca nadał przesyłkę");
    } else if (ev->status == PP_ST_AVAILABLE_FOR_PICKUP) {
        if (pickup_text(ev, lang, text, sizeof text))
            return PP_EINVAL;
    } else {
        if ((unsigned)ev->status >= PP_ST__COUNT || !status_text[ev->status][lang])
            return PP_EINVAL;
        snprintf(text, sizeof text, "%s", status_text[ev->status][lang]);
    }
    int n = snprintf(out, outlen, "%s %s %s: %s", lang == LANG_EN ? "Parcel" : "Paczka",
                     pp_template_carrier_name(ev->carrier), ev->tracking_number, text);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return PP_EINVAL;
    }
    return PP_OK;
}

int pp_template_link_code(const pp_link_event_t *ev, long minutes, char *out, size_t outlen)
{
    int n;
    if (!out || outlen == 0)
        return PP_EINVAL;
    if (strcmp(ev->locale, "en") == 0)
        n = snprintf(out, outlen,
                     "parcelpush: your code is %s. Enter it in My account > Settings > Notifications "
                     "to receive parcel status messages at this address. Valid for %ld min. "
                     "If you did not ask for it, ignore this message.",
                     ev->code, minutes);
    else
        n = snprintf(out, outlen,
                     "parcelpush: Twój kod to %s. Wpisz go w Moje konto › Ustawienia › Powiadomienia, "
                     "aby dostawać tu powiadomienia o statusie przesyłek. Ważny %ld min. "
                     "Jeśli to nie Ty, zignoruj tę wiadomość.",
                     ev->code, minutes);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return PP_EINVAL;
    }
    return PP_OK;
}
