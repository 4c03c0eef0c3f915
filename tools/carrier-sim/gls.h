/* gls.h - GLS Track And Trace V1 shape of the carrier simulator (batch trackids GET + OAuth2 token endpoint). */
#ifndef PP_SIM_GLS_H
#define PP_SIM_GLS_H

#include "sim.h"

extern const pp_sim_shape_t pp_sim_shape_gls;

#endif
