/* test_status.c - status names, ranks and the forward-only key-change rule. */
#include "check.h"
#include "status.h"

typedef struct {
    const char *from;
    int progress;
    const char *next;
    int changes;
    const char *after;
} row_t;

static const row_t rows[] = {
    {"info_received", 1, "in_transit", 1, "in_transit"},
    {"in_transit", 2, "in_transit", 0, "in_transit"},    /* repeated hub scan */
    {"in_transit", 2, "info_received", 0, "in_transit"}, /* backwards */
    {"out_for_delivery", 3, "in_transit", 0, "out_for_delivery"},
    {"out_for_delivery", 3, "available_for_pickup", 1, "available_for_pickup"},
    {"available_for_pickup", 4, "out_for_delivery", 0, "available_for_pickup"},
    {"out_for_delivery", 3, "delivery_failed", 1, "delivery_failed"},
    {"delivery_failed", 3, "out_for_delivery", 1, "out_for_delivery"}, /* second attempt */
    {"delivery_failed", 3, "in_transit", 0, "delivery_failed"},
    {"delivery_failed", 3, "delivered", 1, "delivered"},
    {"exception", 2, "in_transit", 1, "in_transit"},
    {"delivered", 5, "in_transit", 0, "delivered"}, /* terminal */
    {"delivered", 5, "returned", 0, "delivered"},
    {"in_transit", 2, "returning", 1, "returning"},
    {"returning", 2, "in_transit", 0, "returning"},
    {"returning", 2, "delivered", 0, "returning"},
    {"returning", 2, "returned", 1, "returned"},
    {"in_transit", 2, "unknown", 0, "in_transit"},
    {"info_received", 1, "not_found_yet", 0, "info_received"},
    {"info_received", 1, "delivered", 1, "delivered"},
    {"in_transit", 2, "expired", 1, "expired"},
};

int main(void)
{
    for (int i = 0; i < PP_ST__COUNT; i++) {
        pp_status_t st;
        CHECK_INT(pp_status_parse(pp_status_name((pp_status_t)i), &st), 0);
        CHECK_INT(st, i);
    }
    pp_status_t st;
    CHECK(pp_status_parse("bogus", &st) != 0);
    CHECK(pp_status_is_terminal(PP_ST_DELIVERED));
    CHECK(!pp_status_is_terminal(PP_ST_AVAILABLE_FOR_PICKUP));

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pp_status_t cur, next;
        int progress = rows[i].progress;
        CHECK_INT(pp_status_parse(rows[i].from, &cur), 0);
        CHECK_INT(pp_status_parse(rows[i].next, &next), 0);
        int changed = pp_status_advance(&cur, &progress, next);
        if (changed != rows[i].changes)
            fprintf(stderr, "row %zu: %s -> %s\n", i, rows[i].from, rows[i].next);
        CHECK_INT(changed, rows[i].changes);
        CHECK_STR(pp_status_name(cur), rows[i].after);
    }
    /* One label per status and language, shared by the card, its page and the bot. */
    for (int k = 0; k < PP_ST__COUNT; k++) {
        CHECK(pp_status_label((pp_status_t)k, false)[0] != '\0');
        CHECK(pp_status_label((pp_status_t)k, true)[0] != '\0');
    }
    CHECK_STR(pp_status_label(PP_ST_AVAILABLE_FOR_PICKUP, false), "czeka na odbiór");
    CHECK_STR(pp_status_label(PP_ST_AVAILABLE_FOR_PICKUP, true), "ready for pickup");
    CHECK_STR(pp_status_label((pp_status_t)99, false), "status nieznany");
    return CHECK_DONE();
}
