/* routes.c - the route files of pp-api: one row per file, each registering its routes. */
#include "api.h"
#include "routes.h"

#include <stddef.h>

const pp_api_register_fn pp_api_route_files[] = {
    pp_api_register_feed, /* feed.c: PUT /v1/users/{id}, PUT /v1/transactions/{id} (service key) */
    pp_api_register_seller, /* seller.c: PUT /v1/transactions/{id}/shipment, GET /v1/transactions/{id} */
    pp_api_register_buyer, /* buyer.c: buyer tokens (a->buyer_auth); GET/PUT /v1/me/notifications */
    pp_api_register_imlink, /* imlink.c: POST /v1/me/im-link, POST /v1/me/im-link/verify */
    pp_api_register_pages, /* pages.c: GET /, /moje-konto/ustawienia/powiadomienia, /transakcje/{id}, static */
    NULL,
};
