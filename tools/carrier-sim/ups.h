/* ups.h - UPS Track API v1 shape of the carrier simulator (GET /api/track/v1/details/{n}, POST /security/v1/oauth/token). */
#ifndef PP_SIM_UPS_H
#define PP_SIM_UPS_H

#include "sim.h"

extern const pp_sim_shape_t pp_sim_shape_ups;

#endif
