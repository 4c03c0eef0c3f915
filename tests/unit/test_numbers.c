/* test_numbers.c - number formats: normalization, validation, detection, ambiguity, examples. */
#include "check.h"
#include "carriers/numbers.h"
#include "err.h"

#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "carrier:confidence,…" of a detection, best first; "" for no candidate. */
static void describe(const char *number, char *buf, size_t cap)
{
    pp_number_candidate_t c[PP_NUMBER_MAX_CANDIDATES];
    size_t n = 99;
    buf[0] = '\0';
    if (pp_number_detect(number, c, N(c), &n) != 0) {
        snprintf(buf, cap, "error");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n && i < N(c); i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s:%d", i ? "," : "", c[i].carrier, c[i].confidence);
}

/*
 * Detection table. Published numbers, each quoted from its source: DHL Parcel DE sandbox
 * numbers (DHL developer portal); UPS, DHL Express, DHL eCommerce, S10 and DPD vectors from
 * jkeen/tracking_number_data (MIT); GLS 93835368025, DHL Parcel PL 24333892874, DPD Polska
 * 0000075077195U, ORLEN 2100012345678, InPost 6340012345678901234 as cited in
 * research/carriers.md §§1-7. Others are built from the documented structure.
 */
static const struct {
    const char *number;
    const char *want;
} detect_cases[] = {
    /* one carrier each */
    {"00340434161094042557", "dhl:95"},
    {"JJD0099999999", "dhl:70"},
    {"JVGL0999999990", "dhl:70"},
    {"GM2951173225174494", "dhl:40"},
    {"1Z999AA10123456784", "ups:98"},
    {"1Z5R89390357567127", "ups:98"},
    {"K1506235620", "ups:60"},
    {"620000000000000000000012", "inpost:80"},
    {"6340012345678901234", "inpost:50"},
    {"123456789012", "gls:60"},
    {"AB12CD34", "gls:15"},
    {"0000075077195U", "dpd:90"},
    {"09980000020033F", "dpd:85"},
    {"008182709980000020033350276C", "dpd:95"},
    {"008182709980000020045327276N", "dpd:95"},
    {"00159007731234567899", "pocztapolska:95"},
    {"RR410342249PL", "pocztapolska:95"},
    {"RB123456785GB", "pocztapolska:40"},
    {"PX1234567890", "pocztapolska:60"},
    {"2100012345678", "orlen:70"},
    {"1234567", "orlen:30"},
    /* ambiguous: every candidate, best first */
    {"93835368025", "gls:50,dhl:40"},
    {"24333892874", "gls:50,dhl:40"},
    {"3318810025", "dhl:50,orlen:30"},
    {"73891051146", "gls:50,dhl:40"},
    {"09980000020033", "dpd:40,dhl:20"},
    {"LX123456785PL", "pocztapolska:95,dhl:40"},
    {"LX123456785CN", "dhl:40,pocztapolska:40"},
    /* a wrong check digit removes the format (other formats may remain) */
    {"00340434161094042558", ""},
    {"1Z999AA10123456785", ""},
    {"K1506235622", ""},
    {"RR410342248PL", ""},
    {"00159007731234567890", ""},
    {"09980000020033G", ""},
    {"008182709980000020033350276A", ""},
    {"3318810010", "orlen:30"},  /* mod 7 wrong: no DHL Express, still ORLEN's 10 digits */
    {"LX123456786PL", "dhl:40"}, /* S10 wrong: only DHL eCommerce's loose shape is left */
    /* not a number of any carrier */
    {"ABCDEFGH", ""},
    {"12345", ""},
    {"1Z999AA1012345678", ""},
    {"hello world!", ""},
    {"", ""},
    {"   ", ""},
    {"0000000000000000000000000000000000000000000000000000000000000000000", ""},
};

/* Normalization: spaces, tabs and dashes go, letters go upper-case, other characters fail. */
static const struct {
    const char *in;
    const char *out; /* NULL: PP_EINVAL */
} norm_cases[] = {
    {"1Z999AA10123456784", "1Z999AA10123456784"},
    {" 1z 999-aa1 0123456784 ", "1Z999AA10123456784"},
    {"rr\t410 342 249 pl", "RR410342249PL"},
    {"0000-0750-7719-5u", "0000075077195U"},
    {"", NULL},
    {" - \t", NULL},
    {"1Z999AA1/0123456784", NULL},
    {"12345\n", NULL},
    {"ÓÓ12345", NULL},
};

static int cmpstr(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

int main(void)
{
    char buf[256];

    /* the table itself: shapes compile, carriers are known, confidence in range */
    size_t nf, nc;
    const pp_number_format_t *f = pp_number_formats(&nf);
    const char *const *carriers = pp_number_carriers(&nc);
    CHECK_INT(nc, 7);
    CHECK(nf >= nc);
    for (size_t i = 0; i < nf; i++) {
        regex_t re;
        int rc = regcomp(&re, f[i].shape, REG_EXTENDED | REG_NOSUB);
        CHECK_INT(rc, 0);
        if (rc == 0)
            regfree(&re);
        CHECK(f[i].shape[0] == '^' && f[i].shape[strlen(f[i].shape) - 1] == '$');
        CHECK(f[i].confidence > 0 && f[i].confidence <= 100);
        bool known = false;
        for (size_t c = 0; c < nc; c++)
            known |= strcmp(carriers[c], f[i].carrier) == 0;
        CHECK(known);
    }

    /* normalization */
    for (size_t i = 0; i < N(norm_cases); i++) {
        char out[PP_NUMBER_MAX];
        int rc = pp_number_normalize(norm_cases[i].in, out, sizeof out);
        if (norm_cases[i].out) {
            CHECK_INT(rc, 0);
            CHECK_STR(out, norm_cases[i].out);
        } else {
            CHECK_INT(rc, PP_EINVAL);
        }
    }
    char small[5];
    CHECK_INT(pp_number_normalize("12345", small, sizeof small), PP_EINVAL);
    CHECK_INT(pp_number_normalize("1234", small, sizeof small), 0);
    CHECK_INT(pp_number_normalize(NULL, small, sizeof small), PP_EINVAL);

    /* detection */
    for (size_t i = 0; i < N(detect_cases); i++) {
        describe(detect_cases[i].number, buf, sizeof buf);
        if (strcmp(buf, detect_cases[i].want) != 0)
            fprintf(stderr, "detect(\"%s\")\n", detect_cases[i].number);
        CHECK_STR(buf, detect_cases[i].want);
    }
    /* detection normalizes first */
    describe(" 1z999aa1-0123456784 ", buf, sizeof buf);
    CHECK_STR(buf, "ups:98");
    describe("rr 410 342 249 pl", buf, sizeof buf);
    CHECK_STR(buf, "pocztapolska:95");
    /* cap smaller than the candidates: *n still counts them all, the best is written */
    pp_number_candidate_t one;
    size_t n = 0;
    CHECK_INT(pp_number_detect("LX123456785PL", &one, 1, &n), 0);
    CHECK_INT(n, 2);
    CHECK_STR(one.carrier, "pocztapolska");
    CHECK_STR(one.format, "pp_s10_pl");
    CHECK_INT(pp_number_detect("LX123456785PL", NULL, 0, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(pp_number_detect(NULL, &one, 1, &n), PP_EINVAL);
    CHECK_INT(pp_number_detect("1234567", &one, 1, NULL), PP_EINVAL);
    CHECK_INT(pp_number_detect("1234567", NULL, 1, &n), PP_EINVAL);

    /* validation per carrier (what the adapters' validate() call) */
    CHECK(pp_number_valid("ups", "1Z999AA10123456784"));
    CHECK(!pp_number_valid("ups", "1Z999AA10123456785"));
    CHECK(!pp_number_valid("ups", "1z999aa10123456784"));  /* not normalized */
    CHECK(!pp_number_valid("ups", "1Z999AA1 0123456784")); /* not normalized */
    CHECK(!pp_number_valid("dhl", "1Z999AA10123456784"));  /* another carrier's */
    CHECK(pp_number_valid("dhl", "00340434161094042557"));
    CHECK(pp_number_valid("dhl", "3318810025"));
    CHECK(!pp_number_valid("dhl", "3318810010"));
    CHECK(pp_number_valid("gls", "93835368025"));
    CHECK(pp_number_valid("dhl", "24333892874"));
    CHECK(pp_number_valid("dpd", "0000075077195U"));
    CHECK(pp_number_valid("dpd", "008182709980000020033350276C"));
    CHECK(!pp_number_valid("dpd", "008182709980000020033350276A"));
    CHECK(pp_number_valid("pocztapolska", "RR410342249PL"));
    CHECK(pp_number_valid("pocztapolska", "00159007731234567899"));
    CHECK(!pp_number_valid("pocztapolska", "00340434161094042557"));
    CHECK(pp_number_valid("orlen", "2100012345678"));
    CHECK(!pp_number_valid("orlen", "4100012345678"));
    /* InPost keeps its old rule: 24 or 19 digits, nothing else */
    CHECK(pp_number_valid("inpost", "620000000000000000000012"));
    CHECK(pp_number_valid("inpost", "6340012345678901234"));
    CHECK(!pp_number_valid("inpost", "62000000000000000000001"));
    CHECK(!pp_number_valid("inpost", "6200000000000000000000123"));
    CHECK(!pp_number_valid("inpost", "62000000000000000000001A"));
    CHECK(!pp_number_valid("inpost", ""));
    CHECK(!pp_number_valid("inpost", NULL));
    CHECK(!pp_number_valid(NULL, "620000000000000000000012"));
    CHECK(!pp_number_valid("fedex", "620000000000000000000012"));
    CHECK(!pp_number_valid("INPOST", "620000000000000000000012"));

    /* examples: valid, attributed to their carrier alone, deterministic, distinct */
    enum { SEEDS = 1000 };
    static char all[7 * (SEEDS + 4)][PP_NUMBER_MAX];
    size_t total = 0;
    const uint64_t extra[] = {UINT64_MAX, UINT64_MAX - 1, 999999999ULL, 1ULL << 40};
    for (size_t c = 0; c < nc; c++) {
        int bad = 0;
        for (size_t s = 0; s < SEEDS + N(extra); s++) {
            uint64_t seed = s < SEEDS ? s : extra[s - SEEDS];
            char *num = all[total++];
            char again[PP_NUMBER_MAX];
            pp_number_candidate_t cand[PP_NUMBER_MAX_CANDIDATES];
            size_t k = 0;
            if (pp_number_example(carriers[c], seed, num, PP_NUMBER_MAX) != 0 ||
                pp_number_example(carriers[c], seed, again, sizeof again) != 0 ||
                strcmp(num, again) != 0 || !pp_number_valid(carriers[c], num) ||
                pp_number_detect(num, cand, N(cand), &k) != 0 || k != 1 ||
                strcmp(cand[0].carrier, carriers[c]) != 0) {
                if (bad++ < 3)
                    fprintf(stderr, "example(%s, %llu) = \"%s\": %zu candidates, first %s\n",
                            carriers[c], (unsigned long long)seed, num, k, k ? cand[0].carrier : "-");
            }
        }
        CHECK_INT(bad, 0);
    }
    qsort(all, total, sizeof all[0], cmpstr);
    int dups = 0;
    for (size_t i = 1; i < total; i++)
        if (strcmp(all[i - 1], all[i]) == 0 && dups++ < 3)
            fprintf(stderr, "duplicate example %s\n", all[i]);
    CHECK_INT(dups, 0);
    char tiny[8];
    CHECK_INT(pp_number_example("inpost", 1, tiny, sizeof tiny), PP_ENOMEM);
    CHECK_INT(pp_number_example("fedex", 1, buf, sizeof buf), PP_EINVAL);
    CHECK_INT(pp_number_example(NULL, 1, buf, sizeof buf), PP_EINVAL);
    CHECK_INT(pp_number_example("dhl", 1, NULL, 64), PP_EINVAL);
    return CHECK_DONE();
}
