/* orlen.h - ORLEN Paczka shapes of the carrier simulator: partner SOAP (batch) and public JSONP tracker. */
#ifndef PP_SIM_ORLEN_H
#define PP_SIM_ORLEN_H

#include "sim.h"

/* Two routes of one carrier, two shapes: faults are set per shape (--p500 orlen_public:0.5). */
extern const pp_sim_shape_t pp_sim_shape_orlen;
extern const pp_sim_shape_t pp_sim_shape_orlen_public;

#endif
