/* numparse.h - strict decimal parsing of database and protocol text. */
#ifndef PP_NUMPARSE_H
#define PP_NUMPARSE_H

/* The whole of s as a base-10 long long (strtoll): 0 and *out, or PP_EPARSE (empty, trailing text). */
int pp_parse_ll(const char *s, long long *out) __attribute__((warn_unused_result));

#endif
