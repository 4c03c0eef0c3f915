#!/usr/bin/env bash
# `ppctl detect NUMBER`: JSON answer and exit status for valid, invalid (wrong check digit),
# ambiguous and malformed numbers. Needs only the build ($PP_BUILD or build/); prints ok or
# FAIL: reason. (Synthetic numbers of every carrier are round-tripped in unit/test_numbers.c.)
set -uo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"

[[ -x $PPCTL ]] || fail "no ppctl at $PPCTL (build first)"

# expect EXIT WANT NUMBER...: run ppctl detect, compare the exit status and a digest of the
# JSON ("number valid ambiguous carrier:confidence,...") with WANT.
expect() {
	local want_rc=$1 want=$2 out rc got
	shift 2
	out=$("$PPCTL" detect "$@" 2>"$PP_TEST_TMP/detect.err")
	rc=$?
	((rc == want_rc)) || fail "detect $*: exit $rc, want $want_rc (out: $out; err: $(cat "$PP_TEST_TMP/detect.err"))"
	got=$(/usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
b = lambda v: "true" if v is True else "false" if v is False else "?"
print(d["number"], b(d["valid"]), b(d["ambiguous"]),
      ",".join("%s:%d" % (c["carrier"], c["confidence"]) for c in d["candidates"]))
' <<<"$out") || fail "detect $*: not the expected JSON: $out"
	[[ $got == "$want" ]] || fail "detect $*: got '$got', want '$want'"
}

# valid, one carrier each (published example numbers, see tests/unit/test_numbers.c)
expect 0 "00340434161094042557 true false dhl:95" 00340434161094042557
expect 0 "1Z999AA10123456784 true false ups:98" 1Z999AA10123456784
expect 0 "RR410342249PL true false pocztapolska:95" RR410342249PL
expect 0 "008182709980000020033350276C true false dpd:95" 008182709980000020033350276C
expect 0 "0000075077195U true false dpd:90" 0000075077195U
expect 0 "2100012345678 true false orlen:70" 2100012345678
expect 0 "6340012345678901234 true false inpost:50" 6340012345678901234
# normalization: spaces (also across arguments), dashes, lower case
expect 0 "1Z999AA10123456784 true false ups:98" "1z 999 aa1-0123456784"
expect 0 "RR410342249PL true false pocztapolska:95" rr 410 342 249 pl
# invalid: a wrong check digit leaves no candidate
expect 1 "1Z999AA10123456785 false false " 1Z999AA10123456785
expect 1 "RR410342248PL false false " RR410342248PL
expect 1 "00340434161094042558 false false " 00340434161094042558
expect 1 "008182709980000020033350276A false false " 008182709980000020033350276A
# ambiguous: every candidate, best first, exit 0
expect 0 "3318810025 true true dhl:50,orlen:30" 3318810025
expect 0 "93835368025 true true gls:50,dhl:40" 93835368025
expect 0 "LX123456785PL true true pocztapolska:95,dhl:40" LX123456785PL
# malformed
expect 1 "hello! false false " 'hello!'
"$PPCTL" detect >/dev/null 2>&1
(($? == 2)) || fail "detect without a number: want exit 2"

echo ok
