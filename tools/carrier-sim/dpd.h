/* dpd.h - DPD Polska InfoServices shape of the carrier simulator (SOAP getEventsForWaybillV1). */
#ifndef PP_SIM_DPD_H
#define PP_SIM_DPD_H

#include "sim.h"

extern const pp_sim_shape_t pp_sim_shape_dpd;

#endif
