/* err.h - the one error convention: 0 = ok, negative PP_E* code, pp_strerror() names it. */
#ifndef PP_ERR_H
#define PP_ERR_H

enum {
    PP_OK = 0,
    PP_ENOMEM = -1,    /* allocation failed */
    PP_EINVAL = -2,    /* bad argument or input */
    PP_EDB = -3,       /* database error */
    PP_EKAFKA = -4,    /* Kafka client error */
    PP_EHTTP = -5,     /* HTTP transport or status error */
    PP_EPARSE = -6,    /* malformed document */
    PP_ENOTFOUND = -7, /* the thing does not exist (yet) */
    PP_ETIMEOUT = -8,  /* deadline passed */
    PP_EIO = -9,       /* system call failed */
    PP_ECONFIG = -10,  /* bad configuration */
    PP_EXMPP = -11,    /* XMPP error */
    PP_EAGAIN = -12,   /* transient: try again later */
    PP_ECONFLICT = -13 /* state changed under us */
};

const char *pp_strerror(int err);

#endif
