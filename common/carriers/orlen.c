/* orlen.c - being written (issue 3). */
typedef int pp_orlen_placeholder_t;
