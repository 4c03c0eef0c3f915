/* scenario.h - carrier-neutral parcel scenarios on an accelerated clock, keyed by tracking number. */
#ifndef PP_SIM_SCENARIO_H
#define PP_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What happened to the parcel; each carrier shape (inpost.c, ...) names these its own way. */
typedef enum {
    PP_SIM_LABEL_CREATED,     /* sender prepared the label */
    PP_SIM_DROPPED_AT_LOCKER, /* sender put it in a locker */
    PP_SIM_COLLECTED,         /* courier collected it from the sender */
    PP_SIM_TAKEN_FROM_LOCKER, /* courier emptied the sender's locker */
    PP_SIM_SOURCE_BRANCH_IN,
    PP_SIM_SOURCE_BRANCH_OUT,
    PP_SIM_SORTING_IN,
    PP_SIM_SORTING_OUT,
    PP_SIM_TARGET_BRANCH_IN,
    PP_SIM_OUT_FOR_DELIVERY,
    PP_SIM_NOTICE_LEFT,     /* attempt failed, notice left (InPost "avizo") */
    PP_SIM_UNDELIVERED,     /* attempt failed */
    PP_SIM_READY_AT_LOCKER, /* waiting in the recipient's locker */
    PP_SIM_PICKUP_REMINDER,
    PP_SIM_DELIVERED
} pp_sim_step_kind_t;

typedef struct pp_sim_step {
    pp_sim_step_kind_t kind;
    int64_t at_s;  /* sim seconds after the number was first requested */
    char place[8]; /* branch code ("KRA") or "" */
} pp_sim_step_t;

#define PP_SIM_MAX_STEPS 24

typedef struct pp_sim_scenario {
    uint64_t hash;
    int64_t not_found_s; /* 404 before this */
    bool to_locker;      /* delivered to a locker (else by courier) */
    bool from_locker;    /* sender dropped it at a locker */
    bool failed_attempt;
    char locker_id[8];  /* "KRA01M" when to_locker */
    char dropoff_id[8]; /* sender's locker when from_locker */
    char size;          /* 'A'..'C' */
    pp_sim_step_t steps[PP_SIM_MAX_STEPS];
    int n_steps;
} pp_sim_scenario_t;

/* Deterministic: the same number (and not_found_s) always gives the same scenario. */
void pp_sim_scenario_build(const char *number, int64_t not_found_s, pp_sim_scenario_t *sc);
/* Steps visible at elapsed_s sim seconds: steps[0..return). 0 during the not-found window. */
int pp_sim_scenario_visible(const pp_sim_scenario_t *sc, int64_t elapsed_s);
uint64_t pp_sim_hash(const char *s);
/* Where step s happened: its branch code, else the sender's or the recipient's locker id, else "". */
const char *pp_sim_step_place(const pp_sim_scenario_t *sc, const pp_sim_step_t *s);

/* "2026-03-29T03:30:00.000+02:00": Europe/Warsaw local time with its offset (EU DST rule). */
void pp_sim_format_warsaw(time_t t, char out[40]);

/* number -> first-request time map (sim ms, see pp_sim_now_ms; and wall ms). */
typedef struct pp_sim_clock pp_sim_clock_t;
pp_sim_clock_t *pp_sim_clock_new(void);
void pp_sim_clock_free(pp_sim_clock_t *c);
/* First-seen time of number, recording now_ms if new. PP_ENOMEM/PP_EINVAL (> 63 chars). */
int pp_sim_clock_first_seen(pp_sim_clock_t *c, const char *number, int64_t now_ms,
                            int64_t *first_ms, int64_t *first_wall_ms, int64_t wall_ms);
size_t pp_sim_clock_count(const pp_sim_clock_t *c);
/* Call cb for every number seen, with its first-seen sim ms. */
void pp_sim_clock_each(const pp_sim_clock_t *c,
                       void (*cb)(const char *number, int64_t first_ms, void *arg), void *arg);

#endif
