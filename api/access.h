/* access.h - pp-api's access log (internal to api/): one line per request through the one
 * logger (JSON fields when log_format = json), never a token, a key or an IM-link code. */
#ifndef PP_API_ACCESS_H
#define PP_API_ACCESS_H

#include "api.h"

#include <stddef.h>

/* When a request starts (loop thread): what its line will say, if api_access_log is on and
 * log_level lets info lines through. */
void pp_api_access_begin(const pp_api_t *a, const h2o_req_t *req, pp_api_access_t *acc);

/*
 * Its line, at info: method, path, status, bytes (of the answer's body), duration, client,
 * request id, and the caller when authenticated (auth may be NULL): user_id of a buyer,
 * seller_id of a seller. Status 499: the client went away before the answer. Nothing when
 * acc->on is false.
 */
void pp_api_access_end(const pp_api_access_t *acc, const pp_api_auth_t *auth, int status, size_t bytes);

#endif
