/* dhl.h - DHL Shipment Tracking - Unified shape of the carrier simulator (GET /track/shipments?trackingNumber=). */
#ifndef PP_SIM_DHL_H
#define PP_SIM_DHL_H

#include "sim.h"

extern const pp_sim_shape_t pp_sim_shape_dhl;

#endif
