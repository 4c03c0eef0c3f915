/* shapes.c - every carrier shape the simulator speaks: one row per carrier. */
#include "sim.h"

#include "inpost.h"
#include "gls.h"
#include "orlen.h"
#include "dpd.h"
#include "pocztapolska.h"
#include "dhl.h"
#include "ups.h"

const pp_sim_shape_t *const pp_sim_shapes[] = {
    &pp_sim_shape_inpost,       &pp_sim_shape_gls, &pp_sim_shape_orlen,
    &pp_sim_shape_orlen_public, &pp_sim_shape_dpd, &pp_sim_shape_pocztapolska,
    &pp_sim_shape_dhl,          &pp_sim_shape_ups, NULL,
};
