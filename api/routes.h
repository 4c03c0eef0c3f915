/* routes.h - registration functions of the route files listed in routes.c. */
#ifndef PP_API_ROUTES_H
#define PP_API_ROUTES_H

#include "api.h"

int pp_api_register_feed(pp_api_t *a) __attribute__((warn_unused_result));
int pp_api_register_seller(pp_api_t *a) __attribute__((warn_unused_result));
int pp_api_register_buyer(pp_api_t *a) __attribute__((warn_unused_result));
int pp_api_register_imlink(pp_api_t *a) __attribute__((warn_unused_result));
int pp_api_register_pages(pp_api_t *a) __attribute__((warn_unused_result));

#endif
