/* test_event.c - event codec round trip and the decoder's rejection of poison payloads. */
#include "check.h"
#include "event.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

static const char *const poison[] = {
    "",
    "not json",
    "[1,2,3]",
    "{}",
    "{\"event_id\":\"nope\",\"schema_version\":1}",
    /* valid except one field each */
    "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":2,\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"1\",\"previous_status\":null,\"status\":\"in_transit\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}",
    "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"1\",\"previous_status\":null,\"status\":\"teleported\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}",
    "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"1\",\"previous_status\":null,\"status\":\"in_transit\",\"occurred_at\":\"yesterday\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}",
    "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,\"kind\":\"status_changed\",\"shipment_id\":-5,\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"1\",\"previous_status\":null,\"status\":\"in_transit\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}",
    "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"1\",\"previous_status\":null,\"status\":\"in_transit\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1.5}",
    /* a required field that cleaning empties (tests/fuzz/regressions/event) */
    "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"\\u0008\\u0001\",\"previous_status\":null,\"status\":\"in_transit\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}",
};

/* Event ids: version 4 UUIDs in lower case, none twice (400: the per-thread pool refilled). */
static void check_ids(void)
{
    static char seen[400][37];
    for (int i = 0; i < 400; i++) {
        pp_event_t e;
        uuid_t u;
        pp_event_new_id(&e);
        CHECK_INT(strlen(e.event_id), 36);
        CHECK_INT(uuid_parse(e.event_id, u), 0);
        CHECK_INT(e.event_id[14], '4');
        CHECK(strchr("89ab", e.event_id[19]) != NULL);
        CHECK(strspn(e.event_id, "0123456789abcdef-") == 36);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(seen[k], e.event_id) != 0);
        memcpy(seen[i], e.event_id, 37);
    }
}

/* The encoder's text is what cJSON printed for the same event (escapes included), so the
 * payloads on the topic did not change when it stopped building a cJSON tree. */
static void check_text(void)
{
    pp_event_t ev = {.kind = PP_EV_STATUS_CHANGED,
                     .shipment_id = 9007199254740991LL,
                     .transaction_id = 2,
                     .previous_status = PP_ST_UNKNOWN,
                     .status = PP_ST_DELIVERED,
                     .occurred_at = 1795000000,
                     .detected_at = 1795000001,
                     .sequence = 12};
    snprintf(ev.event_id, sizeof ev.event_id, "6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11");
    snprintf(ev.carrier, sizeof ev.carrier, "inpost");
    snprintf(ev.tracking_number, sizeof ev.tracking_number, "6200");
    snprintf(ev.carrier_status_text, sizeof ev.carrier_status_text,
             "\"q\" \\ \b\f\n\r\t \x01\x1f \x7f żółć /");
    char *json = NULL;
    CHECK_INT(pp_event_encode(&ev, &json), 0);
    CHECK_STR(json, "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,"
                    "\"kind\":\"status_changed\",\"shipment_id\":9007199254740991,"
                    "\"transaction_id\":2,\"carrier\":\"inpost\",\"tracking_number\":\"6200\","
                    "\"previous_status\":null,\"status\":\"delivered\",\"carrier_status\":null,"
                    "\"carrier_status_text\":\"\\\"q\\\" \\\\ \\b\\f\\n\\r\\t \\u0001\\u001f \x7f żółć /\","
                    "\"location\":null,\"occurred_at\":\"2026-11-18T11:06:40Z\","
                    "\"detected_at\":\"2026-11-18T11:06:41Z\",\"sequence\":12}");
    /* the same as cJSON's own printing of the parsed text */
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    char *again = o ? cJSON_PrintUnformatted(o) : NULL;
    CHECK(again != NULL);
    if (again)
        CHECK_STR(strstr(again, "\"carrier_status_text\""), strstr(json, "\"carrier_status_text\""));
    free(again);
    cJSON_Delete(o);
    free(json);
}

int main(void)
{
    check_ids();
    check_text();
    pp_event_t ev = {0}, back;
    char err[256];
    pp_event_new_id(&ev);
    ev.kind = PP_EV_STATUS_CHANGED;
    ev.shipment_id = 42;
    ev.transaction_id = 9000000001LL;
    snprintf(ev.carrier, sizeof ev.carrier, "inpost");
    snprintf(ev.tracking_number, sizeof ev.tracking_number, "620000000000000000000042");
    ev.previous_status = PP_ST_OUT_FOR_DELIVERY;
    ev.status = PP_ST_AVAILABLE_FOR_PICKUP;
    snprintf(ev.carrier_status, sizeof ev.carrier_status, "ready_to_pickup");
    snprintf(ev.carrier_status_text, sizeof ev.carrier_status_text,
             "Umieszczona w automacie Paczkomat — zażółć");
    snprintf(ev.location, sizeof ev.location, "KRA01M");
    ev.occurred_at = 1795000000;
    ev.detected_at = 1795000100;
    ev.sequence = 4;

    char *json = NULL;
    CHECK_INT(pp_event_encode(&ev, &json), 0);
    CHECK(json != NULL);
    CHECK_INT(pp_event_decode(json, strlen(json), &back, err, sizeof err), 0);
    CHECK_STR(back.event_id, ev.event_id);
    CHECK_INT(back.shipment_id, 42);
    CHECK_INT(back.transaction_id, 9000000001LL);
    CHECK_INT(back.status, PP_ST_AVAILABLE_FOR_PICKUP);
    CHECK_INT(back.previous_status, PP_ST_OUT_FOR_DELIVERY);
    CHECK_STR(back.carrier_status_text, ev.carrier_status_text);
    CHECK_STR(back.location, "KRA01M");
    CHECK_INT(back.occurred_at, ev.occurred_at);
    CHECK_INT(back.detected_at, ev.detected_at);
    CHECK_INT(back.sequence, 4);
    CHECK_INT(back.kind, PP_EV_STATUS_CHANGED);
    free(json);

    for (size_t i = 0; i < sizeof poison / sizeof poison[0]; i++) {
        err[0] = '\0';
        int rc = pp_event_decode(poison[i], strlen(poison[i]), &back, err, sizeof err);
        CHECK(rc != 0);
        CHECK(err[0] != '\0');
    }

    /* im-link-code.v1: round trip, and the decoder refuses what the notifier must not send. */
    pp_link_event_t lk = {0}, lb;
    snprintf(lk.event_id, sizeof lk.event_id, "%s", ev.event_id);
    lk.user_id = 77;
    snprintf(lk.channel, sizeof lk.channel, "xmpp");
    snprintf(lk.address, sizeof lk.address, "kupujacy@example.pl");
    snprintf(lk.code, sizeof lk.code, "012345");
    snprintf(lk.locale, sizeof lk.locale, "pl");
    lk.expires_at = 1795000600;
    CHECK_INT(pp_link_event_encode(&lk, &json), 0);
    CHECK_INT(pp_link_event_decode(json, strlen(json), &lb, err, sizeof err), 0);
    CHECK_STR(lb.event_id, lk.event_id);
    CHECK_INT(lb.user_id, 77);
    CHECK_STR(lb.address, "kupujacy@example.pl");
    CHECK_STR(lb.code, "012345");
    CHECK_INT(lb.expires_at, 1795000600);
    /* a shipment event is not a link event, and vice versa */
    CHECK(pp_event_decode(json, strlen(json), &back, err, sizeof err) != 0);
    free(json);
    CHECK_INT(pp_event_encode(&ev, &json), 0);
    CHECK(pp_link_event_decode(json, strlen(json), &lb, err, sizeof err) != 0);
    free(json);
    static const char *const link_poison[] = {
        "{\"kind\":\"im_link_code\"}",
        "{\"event_id\":\"0b7a3c1e-1111-4222-8333-944455556666\",\"schema_version\":1,\"kind\":\"im_link_code\","
        "\"user_id\":1,\"channel\":\"xmpp\",\"address\":\"a@b\",\"code\":\"12ab56\",\"locale\":\"pl\","
        "\"expires_at\":\"2026-01-01T00:00:00Z\"}",
        "{\"event_id\":\"0b7a3c1e-1111-4222-8333-944455556666\",\"schema_version\":1,\"kind\":\"im_link_code\","
        "\"user_id\":1,\"channel\":\"xmpp\",\"address\":\"nobody\",\"code\":\"123456\",\"locale\":\"pl\","
        "\"expires_at\":\"2026-01-01T00:00:00Z\"}",
        "{\"event_id\":\"0b7a3c1e-1111-4222-8333-944455556666\",\"schema_version\":1,\"kind\":\"im_link_code\","
        "\"user_id\":0,\"channel\":\"xmpp\",\"address\":\"a@b\",\"code\":\"123456\",\"locale\":\"pl\","
        "\"expires_at\":\"2026-01-01T00:00:00Z\"}",
    };
    for (size_t i = 0; i < sizeof link_poison / sizeof link_poison[0]; i++) {
        err[0] = '\0';
        CHECK(pp_link_event_decode(link_poison[i], strlen(link_poison[i]), &lb, err, sizeof err) != 0);
        CHECK(err[0] != '\0');
    }

    /* hostile text in a valid event: every decoded text field comes out clean */
    static const char hostile[] =
        "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,"
        "\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,"
        "\"carrier\":\"inp\\u0001ost\",\"tracking_number\":\"62\r\n00\",\"previous_status\":null,"
        "\"status\":\"in_transit\",\"carrier_status\":\"c\\u001bode\",\"carrier_status_text\":"
        "\"Przyj\\u0119ta\\u0085\\u009b w \xff oddziale\",\"location\":\"KRA\\u0001X\","
        "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}";
    CHECK_INT(pp_event_decode(hostile, strlen(hostile), &back, err, sizeof err), 0);
    CHECK_STR(back.carrier, "inpost");
    CHECK_STR(back.tracking_number, "62  00");
    CHECK_STR(back.carrier_status, "code");
    CHECK_STR(back.carrier_status_text, "Przyjęta  w \xEF\xBF\xBD oddziale");
    CHECK_STR(back.location, "KRAX");
    /* a long Polish text is refused as before (longer than its field), never cut in half */
    char longev[1024];
    snprintf(longev, sizeof longev,
             "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,"
             "\"kind\":\"status_changed\",\"shipment_id\":1,\"transaction_id\":2,"
             "\"carrier\":\"inpost\",\"tracking_number\":\"1\",\"status\":\"in_transit\","
             "\"location\":\"%s\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
             "\"detected_at\":\"2026-01-01T00:00:00Z\",\"sequence\":1}",
             "Źdźbło żółtej gęśli Źdźbło żółtej gęśli Źdźbło żółtej gęśli Źdźbło żółtej gęśli "
             "Źdźbło żółtej gęśli Źdźbło żółtej gęśli");
    CHECK(pp_event_decode(longev, strlen(longev), &back, err, sizeof err) != 0);
    CHECK(pp_text_is_clean(err, strlen(err)));
    /* a reason quoting a control character is clean */
    static const char badkind[] =
        "{\"event_id\":\"6f1c1d6e-5f43-4d0a-9b7e-0d7d6c1e2a11\",\"schema_version\":1,"
        "\"kind\":\"x\\u0001\\n\"}";
    CHECK(pp_event_decode(badkind, strlen(badkind), &back, err, sizeof err) != 0);
    CHECK(pp_text_is_clean(err, strlen(err)));
    /* the IM-link event too */
    static const char hostile_link[] =
        "{\"event_id\":\"0b7a3c1e-1111-4222-8333-944455556666\",\"schema_version\":1,\"kind\":\"im_link_code\","
        "\"user_id\":1,\"channel\":\"xm\\u0001pp\",\"address\":\"a@b\\r\\nX\",\"code\":\"123456\",\"locale\":\"p\\u0085l\","
        "\"expires_at\":\"2026-01-01T00:00:00Z\"}";
    CHECK_INT(pp_link_event_decode(hostile_link, strlen(hostile_link), &lb, err, sizeof err), 0);
    CHECK_STR(lb.channel, "xmpp");
    CHECK_STR(lb.address, "a@b  X");
    CHECK_STR(lb.locale, "p l");
    return CHECK_DONE();
}
