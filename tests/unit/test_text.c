/* test_text.c - pp_text_clean: invalid UTF-8 -> U+FFFD, controls dropped, cuts on a character boundary. */
#include "check.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *in;
    size_t len; /* 0: strlen(in) */
    size_t cap;
    const char *want;
} clean_case_t;

#define FFFD "\xEF\xBF\xBD"

static const clean_case_t cases[] = {
    /* clean text is kept */
    {"Kraków", 0, 64, "Kraków"},
    {"Gdańsk — Oliwa €5 𝄞", 0, 64, "Gdańsk — Oliwa €5 𝄞"},
    {"", 0, 64, ""},
    /* C0 controls dropped, whitespace controls become a space */
    {"KRA\x01X", 0, 64, "KRAX"},
    {"\x1b[31mred\x1b[0m", 0, 64, "[31mred[0m"},
    {"a\tb\nc\rd\ve\ff", 0, 64, "a b c d e f"},
    {"nul\0inside", 10, 64, "nulinside"},
    {"del\x7f", 0, 64, "del"},
    /* C1 (U+0080-U+009F, two bytes in UTF-8) dropped, NEL a space */
    {"a\xC2\x80"
     "b\xC2\x9B"
     "c\xC2\x9F"
     "d",
     0, 64, "abcd"},
    {"line\xC2\x85next", 0, 64, "line next"},
    {"\xC2\xA0nbsp", 0, 64, "\xC2\xA0nbsp"}, /* U+00A0 is not a control */
    /* non-characters not allowed in XML 1.0 */
    {"x\xEF\xBF\xBEy\xEF\xBF\xBFz", 0, 64, "xyz"},
    /* invalid UTF-8: one U+FFFD per bad byte */
    {"bad\xFF"
     "byte",
     0, 64, "bad" FFFD "byte"},
    {"\xC3\x28", 0, 64, FFFD "("},                    /* lead without continuation */
    {"\x80\xBF", 0, 64, FFFD FFFD},                   /* lone continuations */
    {"\xC0\xAF", 0, 64, FFFD FFFD},                   /* overlong '/' */
    {"\xE0\x80\xAF", 0, 64, FFFD FFFD FFFD},          /* overlong, 3 bytes */
    {"\xF0\x80\x80\xAF", 0, 64, FFFD FFFD FFFD FFFD}, /* overlong, 4 bytes */
    {"\xED\xA0\x80", 0, 64, FFFD FFFD FFFD},          /* surrogate U+D800 */
    {"\xF4\x90\x80\x80", 0, 64, FFFD FFFD FFFD FFFD}, /* > U+10FFFF */
    {"\xF5\x80", 0, 64, FFFD FFFD},
    {"\xFE\xFF", 0, 64, FFFD FFFD},
    {"\xE2\x82"
     "x",
     0, 64, FFFD FFFD "x"}, /* truncated 3-byte inside */
    /* an incomplete character at the very end (an earlier cut) is dropped */
    {"Krak\xC3", 0, 64, "Krak"},
    {"euro\xE2\x82", 0, 64, "euro"},
    {"clef\xF0\x9D\x84", 0, 64, "clef"},
    /* cuts: cap 8 = 7 bytes of text */
    {"abcdefghij", 0, 8, "abcdefg"},
    {"abcdefó", 0, 8, "abcdef"}, /* ó would take bytes 7-8 */
    {"abcdeó", 0, 8, "abcdeó"},  /* exactly 7 */
    {"abcd€", 0, 8, "abcd€"},    /* exactly 7 */
    {"abcde€", 0, 8, "abcde"},   /* € would end at byte 8 */
    {"abcdef€", 0, 8, "abcdef"},
    {"abc𝄞x", 0, 8, "abc𝄞"},
    {"abcd𝄞", 0, 8, "abcd"},
    {"abcdef\xFF", 0, 8, "abcdef"}, /* U+FFFD does not fit */
    {"abcd\xFF", 0, 8, "abcd" FFFD},
    {"ąęł", 0, 1, ""},
    {"ąęł", 0, 2, ""},
    {"ąęł", 0, 3, "ą"},
    {"ąęł", 0, 4, "ą"},
    {"ąęł", 0, 5, "ąę"},
};

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const clean_case_t *t = &cases[i];
        size_t len = t->len ? t->len : strlen(t->in);
        char out[128];
        memset(out, 'Z', sizeof out);
        size_t k = pp_text_clean(out, t->cap, t->in, len);
        CHECK_STR(out, t->want);
        CHECK_INT(k, strlen(t->want));
        CHECK(k < t->cap);
        CHECK(pp_text_is_clean(out, k));
        if (strcmp(out, t->want) != 0)
            fprintf(stderr, "   case %zu\n", i);
        /* the same in place, in a buffer of exactly cap bytes */
        char *buf = calloc(1, t->cap > len ? t->cap : len);
        memcpy(buf, t->in, len);
        if (len < t->cap)
            buf[len] = '\0';
        pp_text_clean(buf, t->cap, buf, len);
        CHECK_STR(buf, t->want);
        free(buf);
        /* clean is idempotent */
        char again[128];
        pp_text_clean(again, sizeof again, out, k);
        CHECK_STR(again, out);
    }
}

/* A 2-byte and a 3-byte character at every cut position of a long Polish place name. */
static void test_field_cuts(void)
{
    const char *texts[] = {"Źdźbło żółtej gęśli w Szczebrzeszynie ", "—€—€ Łódź ", "𝄞ą𝄞ę"};
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        for (size_t shift = 0; shift < 4; shift++) {
            char src[2048] = "";
            memset(src, 'a', shift);
            src[shift] = '\0';
            while (strlen(src) + strlen(texts[t]) < sizeof src - 1)
                strcat(src, texts[t]);
            for (size_t cap = 1; cap <= 200; cap++) {
                char out[256];
                size_t k = pp_text_clean(out, cap, src, strlen(src));
                CHECK(k < cap);
                CHECK(pp_text_is_clean(out, k));
                CHECK(cap < 5 || k + 4 > cap - 1); /* at most one character short of full */
                CHECK(strncmp(out, src, k) == 0);  /* a prefix of the clean input */
            }
            /* the old way: snprintf cuts a character in half; the field clean drops the half */
            char field[128];
            snprintf(field, sizeof field, "%s", src);
            pp_text_clean_field(field);
            CHECK(pp_text_is_clean(field, strlen(field)));
            CHECK(strlen(field) + 4 > sizeof field - 1);
        }
    }
}

static void test_is_clean(void)
{
    CHECK(pp_text_is_clean("Kraków", strlen("Kraków")));
    CHECK(pp_text_is_clean("", 0));
    CHECK(!pp_text_is_clean("a\nb", 3));
    CHECK(!pp_text_is_clean("a\x01", 2));
    CHECK(!pp_text_is_clean("Krak\xC3", 5));
    CHECK(!pp_text_is_clean("\xC2\x85", 2));
    CHECK(!pp_text_is_clean("nul\0x", 5));
}

static void test_visible_ascii(void)
{
    CHECK(pp_text_is_visible_ascii("eyJhbGciOi.J9-_~+/=", 19));
    CHECK(!pp_text_is_visible_ascii("", 0));
    CHECK(!pp_text_is_visible_ascii(NULL, 3));
    CHECK(!pp_text_is_visible_ascii("tok\r\nX-Evil: 1", 15));
    CHECK(!pp_text_is_visible_ascii("tok en", 6));
    CHECK(!pp_text_is_visible_ascii("tok\x7f", 4));
    CHECK(!pp_text_is_visible_ascii("tók", 4));
}

static void test_edges(void)
{
    char out[8] = "zzzzzzz";
    CHECK_INT(pp_text_clean(out, sizeof out, NULL, 5), 0);
    CHECK_STR(out, "");
    CHECK_INT(pp_text_clean(out, 0, "abc", 3), 0); /* nothing written */
    CHECK_INT(pp_text_clean_str(out, sizeof out,
                                "a\x01"
                                "b"),
              2);
    CHECK_STR(out, "ab");
    /* a long input cleaned in place (the copy is taken from the heap) */
    size_t big = 5000;
    char *s = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        s[i] = (i % 3 == 0) ? '\xFF' : (i % 3 == 1 ? '\x02' : 'x');
    s[big] = '\0';
    size_t k = pp_text_clean(s, big + 1, s, big);
    CHECK(pp_text_is_clean(s, k));
    CHECK_INT(k, big); /* 1,250 groups of U+FFFD + 'x' fill the 5,000 bytes exactly */
    free(s);
}

/* pp_text_copy: what snprintf(dst, cap, "%s", src) wrote, byte for byte. */
static void test_copy(void)
{
    static const char *const srcs[] = {"", "a", "abcdefg", "abcdefgh", "zażółć gęślą", NULL};
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++)
        for (size_t cap = 1; cap < 16; cap++) {
            char a[16], b[16];
            memset(a, 'x', sizeof a);
            memset(b, 'x', sizeof b);
            size_t n = pp_text_copy(a, cap, srcs[i]);
            snprintf(b, cap, "%s", srcs[i] ? srcs[i] : "");
            CHECK(memcmp(a, b, sizeof a) == 0);
            CHECK_INT(n, strlen(b));
        }
}

int main(void)
{
    test_copy();
    test_cases();
    test_field_cuts();
    test_is_clean();
    test_visible_ascii();
    test_edges();
    return CHECK_DONE();
}
