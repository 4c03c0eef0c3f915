#!/usr/bin/env bash
# pp-api under abuse: a 200 MB PUT is refused with the JSON 413 while it is read, before
# authentication (measured: bytes curl got to send); junk Bearer values cannot evict a real
# key's rate-limit bucket (the per-key limit holds with junk keys of the same table set in
# between); 40 unknown keys from one address cost at most api_auth_fail_burst Postgres
# lookups, the rest 429 auth_rate_limited + Retry-After, while valid keys keep working; from
# many addresses, the network's (IPv4 /24) and all clients' limits bound the lookups.
# Strict JSON: only application/json (; charset=utf-8), nothing after the object, no key
# twice, no leading zeros (in numbers and path ids), every string clean text (invalid_text
# naming the field). Prints the figures after "ok".
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/api_lib.sh"

SERVICE_KEY=svc_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY_A=$("$PPCTL" seller --id 1 --new-key)
KEY_B=$("$PPCTL" seller --id 2 --new-key)
metric() { curl -sS "$OPS/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# Junk fails never throttle here (bursts of 100000 for the address, its network and all
# clients), so the first part sees the per-key limit alone.
api_start api PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_MAX_BODY=4096 PP_API_RATE_PER_MIN=1 \
	PP_API_RATE_BURST=5 PP_API_AUTH_FAIL_BURST=100000 PP_API_AUTH_FAIL_NET_BURST=100000 \
	PP_API_AUTH_FAIL_GLOBAL_BURST=100000 PP_WORKER_ID=api-abuse
U=/v1/users/{id} T=/v1/transactions/{id}
call 201 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}'
call 201 PUT "$T" /v1/transactions/500 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":1}'

# ---- a 200 MB body, without a key and with the service key: 413 while reading ----
truncate -s 200M "$PP_TEST_TMP/huge.bin" # sparse: no disk used
huge_sent=()
for key in "" "$SERVICE_KEY"; do
	# --limit-rate: curl reads the early 413 while it sends, before its next write meets the
	# reset of the closed connection (at full speed that reset can come first: code 000)
	args=(-sS -X PUT -H 'Expect:' -H 'Content-Type: application/json' --limit-rate 8M --data-binary "@$PP_TEST_TMP/huge.bin"
		-o "$PP_TEST_TMP/huge.out" -w '%{http_code} %{size_upload} %{content_type}')
	[[ -n $key ]] && args+=(-H "Authorization: Bearer $key")
	# The server answers and closes while curl still sends; on a loaded machine the kernel's
	# reset of the unread upload can reach curl before the answer (code 000): try again.
	for attempt in 1 2 3 4 5; do
		huge_tries=$((${huge_tries:-0} + 1))
		res=$(curl "${args[@]}" "$BASE/v1/users/100" || true) # curl may also see the close as a send error
		read -r code sent ctype <<<"$res"
		[[ $code == 000 ]] || break
		echo "  200 MB PUT, attempt $attempt: connection reset before the answer was read; again" >&2
	done
	[[ $code == 413 && $ctype == application/json ]] || fail "200 MB PUT: $res, want 413 application/json: $(head -c 200 "$PP_TEST_TMP/huge.out")"
	/usr/bin/python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["error"]["code"] == "body_too_large"' \
		"$PP_TEST_TMP/huge.out" || fail "413 without body_too_large: $(head -c 200 "$PP_TEST_TMP/huge.out")"
	((sent < 20000000)) || fail "200 MB PUT: $sent bytes were taken before the 413 (want the refusal while reading)"
	huge_sent+=("$sent")
done
[[ $(metric pp_api_body_too_large_total) == "$huge_tries" ]] || fail "pp_api_body_too_large_total is not $huge_tries (one per 200 MB PUT)"
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}' # still serving

# ---- junk keys in the real key's table set do not evict its bucket (burst 5, 1/min) ----
# 8 junk keys per round, each hashing to the same set as KEY_A's (auth.c: FNV-1a of the
# key's hex SHA-256, 1024 sets of 4 ways).
/usr/bin/python3 - "$KEY_A" >"$PP_TEST_TMP/junk" <<'EOF'
import hashlib, sys
def fnv(s):
    h = 1469598103934665603
    for c in s.encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h
target = fnv(hashlib.sha256(sys.argv[1].encode()).hexdigest()) % 1024
i = n = 0
while n < 320:
    k = "pps_junk%08d" % i
    i += 1
    if fnv(hashlib.sha256(k.encode()).hexdigest()) % 1024 == target:
        print(k)
        n += 1
EOF
mapfile -t junk <"$PP_TEST_TMP/junk"
passed=0
for round in $(seq 0 39); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_A" "$BASE/v1/transactions/500")
	[[ $code == 200 ]] && passed=$((passed + 1))
	for j in $(seq 0 7); do
		curl -s -o /dev/null -H "Authorization: Bearer ${junk[round * 8 + j]}" "$BASE/v1/transactions/500"
	done
done
((passed <= 5 + 1)) || fail "the real key passed $passed of 40 requests with junk keys in between (burst 5): its bucket was evicted"
((passed >= 5)) || fail "the real key passed only $passed of 40 (burst 5)"
call 429 GET "$T" /v1/transactions/500 "$KEY_A"
[[ $(field 'd["error"]["code"]') == rate_limited ]] || fail "the real key's 429 is not rate_limited"

# ---- 40 unknown keys from one address: at most the burst of lookups, then 429 ----
api_start api-fail PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_AUTH_FAIL_PER_MIN=1 PP_API_AUTH_FAIL_BURST=20 PP_API_KEY_CACHE_MS=600000 \
	PP_WORKER_ID=api-abuse-fail
call 200 GET "$T" /v1/transactions/500 "$KEY_A" # now in the key cache
l0=$(metric pp_api_key_lookups_total)
n401=0 n429=0
for i in $(seq 40); do
	code=$(curl -s -o /dev/null -D "$PP_TEST_TMP/bad.hdr" -w '%{http_code}' -H "Authorization: Bearer pps_bad$i" "$BASE/v1/transactions/500")
	case $code in
	401) n401=$((n401 + 1)) ;;
	429) n429=$((n429 + 1)); grep -qi '^retry-after: [1-9]' "$PP_TEST_TMP/bad.hdr" || fail "429 without Retry-After" ;;
	*) fail "unknown key: status $code" ;;
	esac
done
lookups=$(($(metric pp_api_key_lookups_total) - l0))
((lookups <= 22)) || fail "40 unknown keys cost $lookups Postgres lookups (burst 20)"
((n429 >= 15)) || fail "40 unknown keys: only $n429 refused with 429 ($n401 x 401)"
call 429 GET "$T" /v1/transactions/500 "pps_bad_again"
[[ $(field 'd["error"]["code"]') == auth_rate_limited ]] || fail "not auth_rate_limited: $(cat "$OUT")"
call 401 PUT "$U" /v1/users/100 "" '{"locale":"pl"}'                  # no key: a plain 401
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}'     # valid at once: served
call 200 GET "$T" /v1/transactions/500 "$KEY_A"                       # cached seller key: served
call 429 GET "$T" /v1/transactions/500 "$KEY_B"                       # would need a lookup: not now
[[ $(metric pp_api_auth_throttled_total) -ge 16 ]] || fail "pp_api_auth_throttled_total not counted"

# ---- many addresses: unknown keys from one network, then from many networks ----
# Each address stays within its own limit (burst 20); the network's (IPv4 /24) and all
# clients' buckets bound the lookups. curl --interface binds a source address of 127/8.
unknown_from() { # PREFIX FIRST COUNT: one unknown key from each address PREFIX.(FIRST..)
	local i code
	u401=0 u429=0
	for ((i = 0; i < $3; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --interface "$1$(($2 + i))" \
			-H "Authorization: Bearer pps_many$RANDOM$i" "$BASE/v1/transactions/500")
		case $code in
		401) u401=$((u401 + 1)) ;;
		429) u429=$((u429 + 1)) ;;
		*) fail "unknown key from $1$(($2 + i)): status $code" ;;
		esac
	done
}
api_start api-net PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_AUTH_FAIL_PER_MIN=1 PP_API_AUTH_FAIL_BURST=20 \
	PP_API_AUTH_FAIL_NET_PER_MIN=1 PP_API_AUTH_FAIL_NET_BURST=30 PP_API_KEY_CACHE_MS=600000 PP_WORKER_ID=api-abuse-net
call 200 GET "$T" /v1/transactions/500 "$KEY_A" # now in the key cache
l0=$(metric pp_api_key_lookups_total)
unknown_from 127.0.0. 10 60 # 60 addresses of 127.0.0.0/24, one unknown key each
net_lookups=$(($(metric pp_api_key_lookups_total) - l0)) net_429=$u429
((net_lookups <= 31)) || fail "60 unknown keys from 60 addresses of one /24 cost $net_lookups lookups (network burst 30)"
((net_429 >= 25)) || fail "60 unknown keys from one /24: only $net_429 x 429"
[[ $(metric pp_api_auth_throttled_network_total) -ge 25 ]] || fail "pp_api_auth_throttled_network_total not counted"
code=$(curl -s -o "$PP_TEST_TMP/net.out" -w '%{http_code}' --interface 127.0.0.200 -H "Authorization: Bearer pps_net_again" "$BASE/v1/transactions/500")
[[ $code == 429 ]] && grep -q 'this network' "$PP_TEST_TMP/net.out" || fail "a new address of the /24: $code $(cat "$PP_TEST_TMP/net.out")"
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.1.1 -H "Authorization: Bearer pps_other_net" "$BASE/v1/transactions/500")
[[ $code == 401 ]] || fail "an address of another /24 was refused ($code): the network limit spilled over"
call 200 GET "$T" /v1/transactions/500 "$KEY_A" # a cached key from the throttled network: served

api_start api-all PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_AUTH_FAIL_PER_MIN=1 PP_API_AUTH_FAIL_BURST=20 \
	PP_API_AUTH_FAIL_GLOBAL_PER_MIN=1 PP_API_AUTH_FAIL_GLOBAL_BURST=40 PP_API_KEY_CACHE_MS=600000 PP_WORKER_ID=api-abuse-all
call 200 GET "$T" /v1/transactions/500 "$KEY_A"
l0=$(metric pp_api_key_lookups_total)
all_401=0 all_429=0
for net in $(seq 1 8); do # 8 networks x 10 addresses, one unknown key each
	unknown_from "127.$net.0." 1 10
	all_401=$((all_401 + u401)) all_429=$((all_429 + u429))
done
all_lookups=$(($(metric pp_api_key_lookups_total) - l0))
((all_lookups <= 41)) || fail "80 unknown keys from 80 addresses in 8 networks cost $all_lookups lookups (all-clients burst 40)"
((all_429 >= 35)) || fail "80 unknown keys from 8 networks: only $all_429 x 429"
[[ $(metric pp_api_auth_throttled_all_total) -ge 35 ]] || fail "pp_api_auth_throttled_all_total not counted"
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}' # valid at once: served
call 200 GET "$T" /v1/transactions/500 "$KEY_A"                  # cached seller key: served

# ---- strict JSON ----
api_start api-json PP_API_SERVICE_KEY="$SERVICE_KEY" PP_API_RATE_BURST=1000 PP_WORKER_ID=api-abuse-json
S=/v1/transactions/{id}/shipment
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}' 'application/json; charset=utf-8'
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}' 'Application/JSON;charset="UTF-8"'
for ct in application/jsonx 'application/json; charset=latin1' 'application/json-patch+json' text/json ''; do
	call 415 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}' "$ct"
done
call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"} x'
[[ $(field 'd["error"]["code"]') == invalid_json ]] || fail "trailing data: $(cat "$OUT")"
call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl"}{"locale":"en"}'
call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"en","locale":"pl"}'
[[ $(field 'd["error"]["code"], d["error"]["field"]') == "('invalid_json', 'locale')" ]] || fail "duplicate key: $(cat "$OUT")"
call 400 PUT "$T" /v1/transactions/501 "$SERVICE_KEY" '{"buyer_id":0100,"seller_id":1}'
for body in "$(printf '{\x0c"locale":"pl"}')" "$(printf '{"locale":\x01"pl"}')" '{"buyer_id":5.,"seller_id":1}' '{"buyer_id":+5}'; do
	call 400 PUT "$T" /v1/transactions/501 "$SERVICE_KEY" "$body"
	[[ $(field 'd["error"]["code"]') == invalid_json ]] || fail "not RFC 8259 JSON: $(cat "$OUT")"
done
call 400 PUT "$U" /v1/users/0100 "$SERVICE_KEY" '{"locale":"pl"}'
[[ $(field 'd["error"]["code"]') == invalid_id ]] || fail "leading zero id: $(cat "$OUT")"
call 201 PUT "$T" /v1/transactions/502 "$SERVICE_KEY" '{"buyer_id":100,"seller_id":2}'
call 200 GET "$T" /v1/transactions/502 "$KEY_B"
call 404 GET "$T" /v1/transactions/0502 "$KEY_B"
[[ $(psql_q "SELECT count(*) FROM transactions WHERE id = 501") == 0 ]] || fail "a refused body wrote a transaction"
# control characters and invalid UTF-8, raw or escaped, name their field
for body in '{"locale":"pl\u0001"}' '{"locale":"p\u0000l"}' '{"locale":"pl\n"}' '{"locale":"pl\u009b"}' \
	"$(printf '{"locale":"p\377l"}')" "$(printf '{"locale":"p\001l"}')" \
	"$(printf '{"locale":"p\xc0\xafl"}')" "$(printf '{"locale":"p\xed\xa0\x80l"}')"; do
	call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" "$body"
	[[ $(field 'd["error"]["code"], d["error"]["field"]') == "('invalid_text', 'locale')" ]] || fail "$body: $(cat "$OUT")"
done
call 400 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl\ud800"}' # a lone surrogate (cJSON: invalid_json)
call 400 PUT "$S" /v1/transactions/500/shipment "$KEY_B" '{"tracking_number":"KRA\u0001X"}'
[[ $(field 'd["error"]["field"]') == tracking_number ]] || fail "control character in the number: $(cat "$OUT")"
call 422 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"żółw ✓ 😀"}' # clean UTF-8 is text (then validated)
[[ $(field 'd["error"]["code"]') == invalid_locale ]] || fail "clean UTF-8 refused as text: $(cat "$OUT")"
call 200 PUT "$U" /v1/users/100 "$SERVICE_KEY" '{"locale":"pl","note":"0.5e-07 \u00e9 \ud83d\ude00"}'

check_logs_clean
echo ok
echo "    200 MB PUT: 413 after ${huge_sent[0]} bytes sent (no key), ${huge_sent[1]} (service key)"
echo "    real key with 8 junk keys of its set between requests: $passed of 40 passed (burst 5)"
echo "    40 unknown keys: $lookups lookups, $n401 x 401, $n429 x 429"
echo "    60 unknown keys from 60 addresses of one /24: $net_lookups lookups, $net_429 x 429 (network burst 30)"
echo "    80 unknown keys from 80 addresses in 8 /24s: $all_lookups lookups, $all_401 x 401, $all_429 x 429 (all-clients burst 40)"
