#!/usr/bin/env bash
# daemon_production.sh - production mode and the ops listener's defaults (docs/operations.md):
#   - outside PP_ENV=dev (unset, or anything but dev) each daemon refuses to start, exit 1 with a
#     line naming the key and what to set, on every development default its kind would use:
#     db_url not set (all four), kafka_brokers not set (pp-poller, pp-notifier), the demo
#     xmpp_password and xmpp_tls off (pp-notifier, pp-bot); --check-config says the same;
#   - pp-api needs no XMPP or Kafka key: it starts in production mode without them, its ops
#     listener on its kind's fixed port 127.0.0.1:9472 when ops_addr is empty;
#   - PP_ENV=dev allows every development default (--check-config ok), and each daemon starts;
#   - a renamed key (metrics_addr, PP_METRICS_ADDR) is refused naming ops_addr / PP_OPS_ADDR;
#   - a PP_* variable that names no key is refused in production mode (a typo such as
#     PP_POLL_BATCHSIZE; the nearest key when one is near), ignored by PP_ENV=dev.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
set -uo pipefail

T=$PP_TEST_TMP
API=$PP_BUILD/api/pp-api
declare -A BIN=([poller]=$POLLER [notifier]=$NOTIFIER [api]=$API [bot]=$BOT)

# The keys' variables (docs/config.md): a production process gets these only, as under systemd
# or in a pod; the test's own (PP_TEST_*, the stack's PP_DB_NAME, ...) would each be refused.
keys_env=" $(grep -o '`PP_[A-Z0-9_]*`' "$PP_ROOT/docs/config.md" | tr -d '`' | tr '\n' ' ') "
scrub_env() {
	local v
	for v in $(compgen -e); do
		[[ $v == PP_* && $v != PP_RDKAFKA_* && $keys_env != *" $v "* ]] && unset "$v"
	done
	return 0
}

# run_as NAME CHANGE... -- ARGS...: the daemon in production mode with everything production
# needs given (the test's database and broker, a password that is not the demo one, TLS on),
# then CHANGE: -VAR unsets VAR, VAR=VALUE sets it; output to $T/NAME.out, exit code in RC.
run_as() {
	local name=$1 a
	shift
	RC=0
	(
		scrub_env
		unset PP_ENV
		export PP_XMPP_PASSWORD=not-the-demo PP_XMPP_TLS=true PP_API_ADDR=127.0.0.1:0
		while (($#)) && [[ $1 != -- ]]; do
			a=$1
			shift
			case $a in -*) unset "${a#-}" ;; *) export "${a?}" ;; esac
		done
		shift
		exec timeout -k 5 60 "${BIN[$name]}" "$@"
	) >"$T/$name.out" 2>&1 || RC=$?
}
# refused NAME TEXT CHANGE...: started so, the daemon exits 1 at once and its line names TEXT.
refused() {
	local name=$1 want=$2
	shift 2
	run_as "$name" "$@" --
	((RC == 1)) || fail "$name with $*: exit $RC, want 1: $(tail -3 "$T/$name.out")"
	grep -qF -- "$want" "$T/$name.out" || fail "$name with $*: no '$want' in: $(cat "$T/$name.out")"
	grep -qF 'PP_ENV=dev allows the development defaults' "$T/$name.out" ||
		fail "$name with $*: the refusal does not say PP_ENV=dev allows it: $(cat "$T/$name.out")"
}
figure() { echo "$*" >>"$T/figures.txt"; }

for name in poller notifier api bot; do
	refused "$name" 'db_url is not set' -PP_DB_URL
	refused "$name" 'db_url is not set' -PP_DB_URL PP_ENV=staging # anything but dev
done
figure "poller, notifier, api, bot: db_url not set (PP_ENV unset or staging) -> exit 1, named"
for name in poller notifier; do refused "$name" 'kafka_brokers is not set' -PP_KAFKA_BROKERS; done
for name in notifier bot; do
	refused "$name" 'xmpp_password is the demo password' PP_XMPP_PASSWORD=botpass
	refused "$name" 'xmpp_tls is off' PP_XMPP_TLS=false
done
figure "poller, notifier: kafka_brokers not set; notifier, bot: xmpp_password botpass, xmpp_tls off -> exit 1, named"
refused notifier 'xmpp_tls is off' -PP_DB_URL -PP_KAFKA_BROKERS PP_XMPP_PASSWORD=botpass PP_XMPP_TLS=false
for k in db_url kafka_brokers xmpp_password; do
	grep -qF "$k is" "$T/notifier.out" || fail "notifier on every development default: $k not named: $(cat "$T/notifier.out")"
done
figure "notifier on every development default: one line names db_url, kafka_brokers, xmpp_password, xmpp_tls"

# --check-config tells the same before a start.
for name in poller notifier api bot; do
	run_as "$name" -- --check-config
	((RC == 0)) && grep -q 'configuration ok' "$T/$name.out" || fail "$name --check-config in production with every key set: $(cat "$T/$name.out")"
	run_as "$name" -PP_DB_URL -- --check-config
	((RC == 1)) && grep -q 'db_url is not set' "$T/$name.out" || fail "$name --check-config without db_url: exit $RC: $(cat "$T/$name.out")"
	run_as "$name" PP_ENV=dev -PP_DB_URL -PP_KAFKA_BROKERS PP_XMPP_PASSWORD=botpass PP_XMPP_TLS=false -- --check-config
	((RC == 0)) && grep -q 'configuration ok' "$T/$name.out" || fail "$name --check-config with PP_ENV=dev on every default: $(cat "$T/$name.out")"
done
figure "--check-config: production with every key ok, without db_url exit 1, PP_ENV=dev on every default ok"

# The renamed key: refused with its new name, in the environment and in a file.
run_as poller PP_METRICS_ADDR=127.0.0.1:0 --
((RC == 1)) && grep -qF 'set PP_OPS_ADDR instead' "$T/poller.out" || fail "PP_METRICS_ADDR: exit $RC: $(cat "$T/poller.out")"
printf 'metrics_addr = 127.0.0.1:0\n' >"$T/old.conf"
run_as poller -- --config "$T/old.conf" --check-config
((RC == 1)) && grep -qF "key 'metrics_addr' was renamed to 'ops_addr'" "$T/poller.out" || fail "metrics_addr in a file: exit $RC: $(cat "$T/poller.out")"
figure "PP_METRICS_ADDR and metrics_addr refused, naming PP_OPS_ADDR / ops_addr"

# A variable that names no key: refused in production (all of them named, the nearest key when
# one is near), ignored with PP_ENV=dev.
for name in poller api; do
	run_as "$name" PP_POLL_BATCHSIZE=5 PP_API_SERVICE_HOST=10.0.0.1 -- --check-config
	((RC == 1)) && grep -qF 'PP_POLL_BATCHSIZE is not a configuration key' "$T/$name.out" &&
		grep -qF 'PP_API_SERVICE_HOST is not a configuration key: did you mean PP_API_SERVICE_KEY?' "$T/$name.out" ||
		fail "$name with unknown PP_ variables in production: exit $RC: $(cat "$T/$name.out")"
	run_as "$name" PP_ENV=dev PP_POLL_BATCHSIZE=5 -- --check-config
	((RC == 0)) || fail "$name with an unknown PP_ variable and PP_ENV=dev: exit $RC: $(cat "$T/$name.out")"
done
figure "PP_POLL_BATCHSIZE, PP_API_SERVICE_HOST (a Kubernetes Service link): refused in production, named (nearest key when near); PP_ENV=dev: ignored"

# pp-api in production mode: no XMPP or Kafka key matters; ops_addr empty = 127.0.0.1:9472.
(
	scrub_env
	unset PP_ENV PP_OPS_ADDR PP_KAFKA_BROKERS
	export PP_XMPP_PASSWORD=botpass PP_XMPP_TLS=false PP_API_ADDR=127.0.0.1:0 PP_WORKER_ID=prod-api-$$
	exec "$API"
) >"$T/api-prod.log" 2>&1 &
pid=$!
pp_test_pids+=("$pid")
wait_until 30 grep -q 'api on http\|cannot serve the ops listener' "$T/api-prod.log" || fail "pp-api in production: $(tail -3 "$T/api-prod.log")"
if grep -q 'cannot serve the ops listener' "$T/api-prod.log"; then
	# another process holds 9472 on this host: the refusal names the default port
	grep -qF '127.0.0.1:9472 (ops_addr: the kind'\''s port)' "$T/api-prod.log" || fail "pp-api's ops default: $(tail -1 "$T/api-prod.log")"
	figure "pp-api in production without XMPP/Kafka keys: started; 127.0.0.1:9472 (its default ops port) was taken on this host"
else
	grep -qF 'metrics on http://127.0.0.1:9472/metrics' "$T/api-prod.log" || fail "pp-api's ops listener is not on 127.0.0.1:9472: $(grep 'api on' "$T/api-prod.log")"
	[[ $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9472/livez) == 200 ]] || fail "pp-api: 127.0.0.1:9472/livez not 200"
	stop_pid "$pid" 60
	figure "pp-api in production without XMPP/Kafka keys: started, ops listener on 127.0.0.1:9472 (/livez 200), SIGTERM exit 0"
fi

# PP_ENV=dev: each daemon starts with TLS off (the stack's Prosody speaks plain XMPP).
bot_accounts 0
for name in poller notifier api bot; do
	PP_ENV=dev PP_XMPP_TLS=false PP_WORKER_ID=dev-$name-$$ start_bg "dev-$name" "${BIN[$name]}" >/dev/null
	pid=${pp_test_pids[-1]}
	wait_until 60 grep -q 'metrics on http' "$T/dev-$name.log" || fail "$name with PP_ENV=dev did not start: $(tail -3 "$T/dev-$name.log")"
	port=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$T/dev-$name.log" | head -1 | sed 's/.*://')
	wait_until 60 curl -sf "http://127.0.0.1:$port/livez" || fail "$name with PP_ENV=dev: /livez not 200"
	stop_pid "$pid" 120
done
figure "PP_ENV=dev, xmpp_tls off: poller, notifier, api, bot started (/livez 200) and stopped (exit 0)"
check_logs_clean
echo ok
sed 's/^/    /' "$T/figures.txt"
