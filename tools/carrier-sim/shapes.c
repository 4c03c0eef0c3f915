/* shapes.c - every carrier shape the simulator speaks: one row per carrier. */
#include "sim.h"

#include "inpost.h"

const pp_sim_shape_t *const pp_sim_shapes[] = {
    &pp_sim_shape_inpost,
    NULL,
};
