/*
 * checkdigit.h - the check-digit algorithms of parcel tracking numbers, as pure functions.
 *
 * Each algorithm has a "compute" (the check character for a payload, or -1 when the payload
 * has a character the algorithm does not define, or the wrong length) and a "valid" (the
 * whole number, check character last, is well formed and its check character is right).
 * Inputs are NUL-terminated, normalized (upper-case, no spaces); nothing is allocated,
 * nothing is kept, NULL is never valid. Which carrier uses which algorithm, and where the
 * check character sits in its numbers, is in each carrier's formats[] (its adapter file;
 * research/carriers.md §8).
 */
#ifndef PP_CHECKDIGIT_H
#define PP_CHECKDIGIT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * GS1 mod 10 (GTIN, SSCC, Poczta Polska domestic "00"+SSCC, DHL Parcel DE): weights 3,1,3,…
 * from the rightmost payload digit; check = (10 − Σ mod 10) mod 10. Digits only, any length
 * 1..64. pp_checkdigit_gs1_valid takes payload + check digit.
 */
int pp_checkdigit_gs1_compute(const char *payload, size_t len);
bool pp_checkdigit_gs1_valid(const char *number);

/*
 * UPS mod 10: over [0-9A-Z]; a letter counts (ASCII − 3) mod 10 (A→2 … Z→7); characters at
 * odd 0-based positions are doubled; check = (10 − Σ mod 10) mod 10.
 *   1Z numbers: 18 chars "1Z" + 15 [0-9A-Z] + check digit; the payload is chars 3–17.
 *   Waybills:   11 chars [AHJKTV] + 9 digits + check digit; the payload is the 9 digits
 *               (jkeen/tracking_number_data test vectors; the letter is not summed).
 */
int pp_checkdigit_ups_compute(const char *payload, size_t len);
bool pp_checkdigit_ups_1z_valid(const char *number);
bool pp_checkdigit_ups_waybill_valid(const char *number);

/*
 * UPU S10 mod 11 over the 8 serial digits, weights 8,6,4,2,3,5,9,7; r = Σ mod 11;
 * check = 11 − r, except r = 0 → 5 and r = 1 → 0. pp_checkdigit_s10_valid takes the
 * whole 13-character item id "AA" + 8 digits + check + "CC" (two letters each end).
 */
int pp_checkdigit_s10_compute(const char *serial8);
bool pp_checkdigit_s10_valid(const char *number);

/*
 * ISO/IEC 7064 MOD 37,36 (hybrid system, M = 36) over the alphabet 0-9A-Z; returns the
 * check *character* ('0'..'9', 'A'..'Z') or -1. DPD: the 14-digit parcel number and the
 * 27 characters of the 28-character label barcode (DPD Parcel Label Specification 2.4.1,
 * as cited by jkeen/tracking_number_data). pp_checkdigit_mod37_36_valid: payload + check.
 */
int pp_checkdigit_mod37_36_compute(const char *payload, size_t len);
bool pp_checkdigit_mod37_36_valid(const char *number);

/*
 * DHL Express air waybill mod 7: check digit = (serial as an integer) mod 7. Serial of
 * 1..18 digits. pp_checkdigit_mod7_valid takes serial + check digit.
 */
int pp_checkdigit_mod7_compute(const char *serial, size_t len);
bool pp_checkdigit_mod7_valid(const char *number);

/* Fill in the check digit of a synthetic number s[0..len) in place (its last character):
 * a GS1 number, a UPS 1Z number (over characters 3-17). A carrier's example.finish. */
void pp_checkdigit_gs1_finish(char *s, size_t len);
void pp_checkdigit_ups_1z_finish(char *s, size_t len);

#endif
