/* inpost.h - InPost ShipX response shapes for the carrier simulator. */
#ifndef PP_SIM_INPOST_H
#define PP_SIM_INPOST_H

#include "scenario.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Syntactic check the simulator applies (24 digits, as ShipX parcel numbers). */
int pp_sim_inpost_number_ok(const char *number);
/*
 * GET /v1/tracking/{number} body for the first `visible` steps of sc (visible >= 1), newest
 * first; datetimes = origin + step offset, in Europe/Warsaw time. *out malloc'd.
 */
int pp_sim_inpost_body(const char *number, const pp_sim_scenario_t *sc, int visible, time_t origin,
                       char **out, size_t *len) __attribute__((warn_unused_result));
/* ShipX error body {"status":..,"error":..,"description":..,"details":null} into out. */
size_t pp_sim_inpost_error(int status, const char *error, const char *description, char *out,
                           size_t outlen);

#endif
