/* pocztapolska.h - Poczta Polska Sledzenie shape of the carrier simulator (SOAP sprawdzPrzesylke/i, WS-Security). */
#ifndef PP_SIM_POCZTAPOLSKA_H
#define PP_SIM_POCZTAPOLSKA_H

#include "sim.h"

extern const pp_sim_shape_t pp_sim_shape_pocztapolska;

#endif
