/* checkdigit.c - check-digit algorithms of tracking numbers (GS1, UPS, S10, MOD 37,36, mod 7). */
#include "checkdigit.h"

#include <string.h>

#define PP_CHECKDIGIT_MAX_LEN 64

static int digit_value(char c) { return c >= '0' && c <= '9' ? c - '0' : -1; }

/* 0-9 → 0..9, A-Z → 10..35, anything else -1. */
static int alnum_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* Length of s if it is at least min and at most max characters, else 0. */
static size_t bounded_len(const char *s, size_t min, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    return n >= min && n <= max ? n : 0;
}

int pp_checkdigit_gs1_compute(const char *payload, size_t len)
{
    if (!payload || len == 0 || len > PP_CHECKDIGIT_MAX_LEN)
        return -1;
    int sum = 0;
    for (size_t i = 0; i < len; i++) {
        int d = digit_value(payload[len - 1 - i]);
        if (d < 0)
            return -1;
        sum += d * (i % 2 == 0 ? 3 : 1);
    }
    return (10 - sum % 10) % 10;
}

bool pp_checkdigit_gs1_valid(const char *number)
{
    size_t n = bounded_len(number, 2, PP_CHECKDIGIT_MAX_LEN + 1);
    if (!n)
        return false;
    int c = pp_checkdigit_gs1_compute(number, n - 1);
    return c >= 0 && c == digit_value(number[n - 1]);
}

int pp_checkdigit_ups_compute(const char *payload, size_t len)
{
    if (!payload || len == 0 || len > PP_CHECKDIGIT_MAX_LEN)
        return -1;
    int sum = 0;
    for (size_t i = 0; i < len; i++) {
        char c = payload[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'A' && c <= 'Z')
            v = (c - 3) % 10;
        else
            return -1;
        sum += i % 2 == 1 ? 2 * v : v;
    }
    return (10 - sum % 10) % 10;
}

bool pp_checkdigit_ups_1z_valid(const char *number)
{
    if (bounded_len(number, 18, 18) != 18 || number[0] != '1' || number[1] != 'Z')
        return false;
    int c = pp_checkdigit_ups_compute(number + 2, 15);
    return c >= 0 && c == digit_value(number[17]);
}

bool pp_checkdigit_ups_waybill_valid(const char *number)
{
    if (bounded_len(number, 11, 11) != 11 || !strchr("AHJKTV", number[0]))
        return false;
    for (size_t i = 1; i < 10; i++)
        if (digit_value(number[i]) < 0)
            return false;
    int c = pp_checkdigit_ups_compute(number + 1, 9);
    return c >= 0 && c == digit_value(number[10]);
}

int pp_checkdigit_s10_compute(const char *serial8)
{
    static const int weights[8] = {8, 6, 4, 2, 3, 5, 9, 7};
    if (!serial8)
        return -1;
    int sum = 0;
    for (size_t i = 0; i < 8; i++) {
        int d = digit_value(serial8[i]); /* stops at a NUL: '\0' is not a digit */
        if (d < 0)
            return -1;
        sum += d * weights[i];
    }
    int r = sum % 11;
    return r == 0 ? 5 : r == 1 ? 0 : 11 - r;
}

bool pp_checkdigit_s10_valid(const char *number)
{
    if (bounded_len(number, 13, 13) != 13)
        return false;
    for (size_t i = 0; i < 13; i++) {
        bool letter = i < 2 || i > 10;
        char c = number[i];
        if (letter ? !(c >= 'A' && c <= 'Z') : digit_value(c) < 0)
            return false;
    }
    return pp_checkdigit_s10_compute(number + 2) == digit_value(number[10]);
}

int pp_checkdigit_mod37_36_compute(const char *payload, size_t len)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const int m = 36;
    if (!payload || len == 0 || len > PP_CHECKDIGIT_MAX_LEN)
        return -1;
    int p = m;
    for (size_t i = 0; i < len; i++) {
        int v = alnum_value(payload[i]);
        if (v < 0)
            return -1;
        int s = (p + v) % m;
        if (s == 0)
            s = m;
        p = (2 * s) % (m + 1);
    }
    /* The check character c makes the running value land on 1: (p + c) mod M == 1. */
    return alphabet[(m + 1 - p) % m];
}

bool pp_checkdigit_mod37_36_valid(const char *number)
{
    size_t n = bounded_len(number, 2, PP_CHECKDIGIT_MAX_LEN + 1);
    if (!n || alnum_value(number[n - 1]) < 0)
        return false;
    return pp_checkdigit_mod37_36_compute(number, n - 1) == number[n - 1];
}

int pp_checkdigit_mod7_compute(const char *serial, size_t len)
{
    if (!serial || len == 0 || len > 18)
        return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        int d = digit_value(serial[i]);
        if (d < 0)
            return -1;
        v = v * 10 + (unsigned)d;
    }
    return (int)(v % 7);
}

bool pp_checkdigit_mod7_valid(const char *number)
{
    size_t n = bounded_len(number, 2, 19);
    if (!n)
        return false;
    int c = pp_checkdigit_mod7_compute(number, n - 1);
    return c >= 0 && c == digit_value(number[n - 1]);
}

void pp_checkdigit_gs1_finish(char *s, size_t len)
{
    s[len - 1] = (char)('0' + pp_checkdigit_gs1_compute(s, len - 1));
}

void pp_checkdigit_ups_1z_finish(char *s, size_t len)
{
    s[len - 1] = (char)('0' + pp_checkdigit_ups_compute(s + 2, 15));
}
