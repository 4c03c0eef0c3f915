/* inpost.h - InPost ShipX tracking shape of the carrier simulator (GET /v1/tracking/{number}). */
#ifndef PP_SIM_INPOST_H
#define PP_SIM_INPOST_H

#include "sim.h"

extern const pp_sim_shape_t pp_sim_shape_inpost;

#endif
