#!/usr/bin/env bash
# daemon_frame.sh - every daemon (pp-poller, pp-api, pp-notifier, pp-bot) runs in the one
# frame, common/daemon.c, and behaves the same:
#   - the options: --version, --check-config (ok / a bad key named, exit 1), --print-config;
#   - its workers row: registered with its kind and ops address (column metrics_addr), heartbeats that carry the
#     process's counters, marked stopped by a graceful SIGTERM (exit 0);
#   - its ops listener (ops_addr): /livez and /readyz answer 200, /metrics has the
#     process_* metrics (RSS, CPU, open fds, start time) and pp_build_info with its kind
#     (pp-api's public port, api_addr, answers 404 for all of them);
# SIGHUP reloads the configuration of each, started with --config FILE:
#   - a changed reloadable key takes effect: log_level info -> debug (a debug line follows the
#     reload), and for the poller and the bot inpost_rps 40 -> 20 (the carrier client's
#     per-second share, pp_*_budget_limit, halves);
#   - a changed key that needs a restart (db_pool_size) is logged as ignored;
#   - an invalid file (poll_batch = 0) is refused with a clear line and the old values stay;
#   - the process keeps working: healthy after each SIGHUP, and a SIGTERM still stops it with 0.
# Before this, SIGHUP killed pp-notifier and pp-bot (no handler).
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/bot_lib.sh"
set -uo pipefail

T=$PP_TEST_TMP
API=$PP_BUILD/api/pp-api

ftag=$$-$RANDOM # not "tag": xmpp_stack (bot_lib.sh) sets that one
declare -A EXTRA # lines every config file of NAME has
EXTRA[api]=$'api_addr = 127.0.0.1:0\napi_service_key = svc-'$ftag$'\napi_rate_per_min = 1'
conf() { # NAME LEVEL RPS [EXTRA LINE]
	printf 'log_level = %s\ninpost_rps = %s\nops_addr = 127.0.0.1:0\nworker_id = frame-%s-%s\nheartbeat_interval_ms = 300\n%s\n%s\n' \
		"$2" "$3" "$1" "$ftag" "${EXTRA[$1]-}" "${4-}" >"$T/$1.conf"
}
metrics_port() { grep -o 'metrics on http://127.0.0.1:[0-9]*' "$T/$1.log" | head -1 | sed 's/.*://'; }
healthy() { curl -sf "http://127.0.0.1:$1/healthz" >/dev/null; }
gauge() { # PORT SERIES
	local m
	m=$(curl -sf "http://127.0.0.1:$1/metrics") || return 1
	awk -v s="$2" '$1 == s { print $2 }' <<<"$m"
}
gauge_is() { [[ $(gauge "$1" "$2") == "$3" ]]; }
logged() { grep -qF -- "$2" "$T/$1.log"; }
# a debug line after the reload that switched to debug: the new level is in force
debug_after_reload() { awk '/SIGHUP: [0-9]+ reloadable keys changed/ { on = 1 } on && / debug: / { f = 1 } END { exit !f }' "$T/$1.log"; }

start() { # NAME PORT-VAR CMD...
	local name=$1
	shift
	start_bg "$name" "$@" --config "$T/$name.conf" >/dev/null
	PID[$name]=${pp_test_pids[-1]}
	wait_until 30 grep -q 'metrics on http\|api on http' "$T/$name.log" || fail "$name did not start: $(tail -3 "$T/$name.log")"
}

# The checks every process goes through; PORT serves /healthz and /metrics; SERIES (may be
# empty) is its inpost per-second budget gauge.
reload_checks() { # NAME PORT SERIES
	local name=$1 port=$2 series=$3 before
	wait_until 60 healthy "$port" || fail "$name not healthy before SIGHUP: $(tail -3 "$T/$name.log")"
	if [[ -n $series ]]; then
		wait_until 60 gauge_is "$port" "$series" 20 || fail "$name: $series = $(gauge "$port" "$series"), want 40 / 2 sharers"
	fi
	conf "$name" debug 20 "db_pool_size = 3"
	kill -HUP "${PID[$name]}"
	wait_until 30 logged "$name" 'reload: log_level: "info" -> "debug"' || fail "$name: no reload of log_level: $(tail -5 "$T/$name.log")"
	logged "$name" 'reload: inpost_rps: 40 -> 20' || fail "$name: inpost_rps not reloaded"
	logged "$name" 'reload: db_pool_size changed (4 -> 3) but takes effect only at a restart: ignored' ||
		fail "$name: the change of a restart-only key was not logged as ignored"
	wait_until 30 debug_after_reload "$name" || fail "$name: no debug line after the reload to debug"
	if [[ -n $series ]]; then
		wait_until 60 gauge_is "$port" "$series" 10 || fail "$name: $series = $(gauge "$port" "$series") after inpost_rps 40 -> 20, want 10"
	fi
	kill -0 "${PID[$name]}" 2>/dev/null || fail "$name died of SIGHUP"
	wait_until 30 healthy "$port" || fail "$name not healthy after SIGHUP"
	# an invalid file: refused, nothing changes
	conf "$name" info 5 "poll_batch = 0"
	kill -HUP "${PID[$name]}"
	wait_until 30 logged "$name" "SIGHUP: new configuration refused, the old one stays: config file $T/$name.conf:" ||
		fail "$name: the invalid file was not refused: $(tail -3 "$T/$name.log")"
	logged "$name" '"debug" -> "info"' && fail "$name: a refused file changed log_level"
	if [[ -n $series ]]; then
		gauge_is "$port" "$series" 10 || fail "$name: a refused file changed $series to $(gauge "$port" "$series")"
	fi
	kill -0 "${PID[$name]}" 2>/dev/null || fail "$name died of the second SIGHUP"
	wait_until 30 healthy "$port" || fail "$name not healthy after the refused reload"
	figure "$name: SIGHUP reloaded log_level and inpost_rps${series:+ (budget share 20 -> 10)}, ignored db_pool_size, refused an invalid file; still healthy"
}
figure() { echo "$*" >>"$T/figures.txt"; }

# The options, the same for every binary.
options_checks() { # NAME BINARY
	local name=$1 bin=$2 out
	out=$("$bin" --version) || fail "$name --version failed"
	[[ $out =~ ^pp-$name\ [0-9.]+\ \(commit\ [0-9a-f]{7,}|unknown\) ]] || fail "$name --version printed '$out'"
	conf "$name" info 40
	out=$("$bin" --config "$T/$name.conf" --check-config) || fail "$name --check-config of a good file: $out"
	[[ $out == *"configuration ok"* ]] || fail "$name --check-config printed '$out'"
	"$bin" --config "$T/$name.conf" --print-config | grep -q '^inpost_rps = 40$' || fail "$name --print-config lacks inpost_rps = 40"
	conf "$name" info 40 "poll_batchh = 3"
	out=$("$bin" --config "$T/$name.conf" --check-config) && fail "$name --check-config passed a misspelt key"
	[[ $out == *poll_batchh* ]] || fail "$name --check-config did not name the bad key: '$out'"
	conf "$name" info 40
	out=$(PP_RDKAFKA_SASL_PASWORD=s3cret-x "$bin" --config "$T/$name.conf" --check-config) && fail "$name --check-config passed a misspelt rdkafka property"
	[[ $out == *rdkafka.sasl.pasword* && $out != *s3cret-x* ]] || fail "$name --check-config: '$out' (want the property named, its value not shown)"
	"$bin" --no-such-option >/dev/null 2>&1 && fail "$name accepted an unknown option"
	figure "$name: --version, --check-config (ok; misspelt key named, exit 1), --print-config, unknown option refused"
}
# The workers row while it runs: kind, metrics address, a heartbeat with counters.
row() { psql_q "SELECT $2 FROM workers WHERE id = 'frame-$1-$ftag'"; }
row_checks() { # NAME KIND COUNTER
	local name=$1 kind=$2 counter=$3
	wait_until 30 test "$(row "$name" "counters ? '$counter'")" = t ||
		fail "$name: no heartbeat with counter $counter: $(row "$name" "kind || ' ' || counters::text")"
	[[ $(row "$name" kind) == "$kind" ]] || fail "$name: workers row kind '$(row "$name" kind)', want $kind"
	[[ $(row "$name" metrics_addr) == "127.0.0.1:$(metrics_port "$name")" ]] ||
		fail "$name: workers row metrics_addr '$(row "$name" metrics_addr)'"
	[[ $(row "$name" "stopped_at IS NULL") == t ]] || fail "$name: row marked stopped while running"
}

# The ops listener: probes and the metrics every process has.
probe_checks() { # NAME
	local name=$1 port m v
	port=$(metrics_port "$name")
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/livez") == 200 ]] || fail "$name: /livez not 200"
	[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] || fail "$name: /readyz not 200"
	m=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "$name: no /metrics"
	for v in process_resident_memory_bytes process_virtual_memory_bytes process_open_fds process_max_fds process_start_time_seconds; do
		awk -v s="$v" '$1 == s && $2 > 0 { f = 1 } END { exit !f }' <<<"$m" || fail "$name: $v missing or not > 0"
	done
	grep -q '^process_cpu_seconds_total [0-9]' <<<"$m" || fail "$name: no process_cpu_seconds_total"
	grep -q "^# TYPE process_cpu_seconds_total counter" <<<"$m" || fail "$name: process_cpu_seconds_total is not a counter"
	grep -q "^pp_build_info{version=\"[0-9.]*\",commit=\"[0-9a-z]*\",kind=\"$name\"} 1\$" <<<"$m" || fail "$name: no pp_build_info for kind $name"
	figure "$name: /livez 200, /readyz 200, process_* metrics (RSS $(awk '$1 == "process_resident_memory_bytes" { printf "%.1f MiB", $2 / 1048576 }' <<<"$m")), pp_build_info"
}

declare -A PID
for name in poller bot notifier api; do
	case $name in poller) b=$POLLER ;; bot) b=$BOT ;; notifier) b=$NOTIFIER ;; api) b=$API ;; esac
	options_checks "$name" "$b"
done
NOTIFIER_JID=$PP_XMPP_JID NOTIFIER_PW=$PP_XMPP_PASSWORD
bot_accounts 0 # the bot's own XMPP account: PP_XMPP_JID from here on

# The poller and the bot split inpost_rps: 40 / 2 = 20 each, then 20 / 2 = 10.
conf poller info 40
start poller "$POLLER"
conf bot info 40
start bot "$BOT"
conf notifier info 40
PP_XMPP_JID=$NOTIFIER_JID PP_XMPP_PASSWORD=$NOTIFIER_PW start notifier "$NOTIFIER"
conf api info 40
start api "$API"
APORT=$(sed -n 's|.*api on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/api.log" | head -1)

reload_checks poller "$(metrics_port poller)" 'pp_poller_budget_limit{carrier="inpost",window="second"}'
reload_checks bot "$(metrics_port bot)" 'pp_bot_budget_limit{carrier="inpost",window="second"}'
reload_checks notifier "$(metrics_port notifier)" ''
reload_checks api "$(metrics_port api)" ''

# pp-api's rate limit is reloadable too: the service key's bucket (api_rate_per_min 1) takes a
# smaller api_rate_burst at its next request.
limited() { # prints how many of 5 feed requests were answered 429, then the 5 codes
	local i c n=0 codes=
	for i in 1 2 3 4 5; do
		c=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer svc-$ftag" \
			-H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$APORT/v1/users/$i")
		[[ $c == 429 ]] && n=$((n + 1))
		codes+=" $c"
	done
	echo "$n$codes"
}
read -r n codes <<<"$(limited)"
((n == 0)) || fail "api: $n of 5 feed requests limited before the reload (api_rate_burst 40): $codes"
conf api info 40 "api_rate_burst = 2"
kill -HUP "${PID[api]}"
wait_until 30 logged api 'reload: api_rate_burst: 40 -> 2' || fail "api: api_rate_burst not reloaded: $(tail -3 "$T/api.log")"
read -r n codes <<<"$(limited)"
((n >= 3)) || fail "api: only $n of 5 feed requests limited after api_rate_burst 40 -> 2: $codes"
figure "api: SIGHUP api_rate_burst 40 -> 2: 0 of 5 feed requests limited before, $n of 5 after"

# pp-api's public port serves no /metrics and no probes: they are on its ops listener only.
for p in metrics healthz livez readyz; do
	c=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/$p")
	[[ $c == 404 ]] || fail "api: GET /$p on api_addr answered $c, want 404 (the ops listener serves it)"
done
figure "api: /metrics, /healthz, /livez, /readyz on api_addr: 404 (ops listener only)"

for name in poller bot notifier api; do probe_checks "$name"; done
row_checks poller poller claims
row_checks bot bot asks
row_checks notifier notifier consumed
row_checks api api requests

# The database stops answering (this test's own database refuses connections, the pools'
# are cut): every process stays alive (/livez 200) but is not ready (/readyz 503 naming the
# database) once 3 jobs of its pool failed in a row, and is ready again when it answers.
admin() { psql "${PP_DB_URL%/*}/postgres" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
db=${PP_DB_URL##*/}
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/$2"; }
ready() { [[ $(code "$1" readyz) == 200 ]]; }
not_ready_db() { [[ $(code "$1" readyz) == 503 ]] && curl -s "http://127.0.0.1:$1/readyz" | grep -q '^database: '; }
admin "ALTER DATABASE \"$db\" ALLOW_CONNECTIONS false" >/dev/null
admin "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db'" >/dev/null
for name in poller bot notifier api; do
	port=$(metrics_port "$name")
	wait_until 30 not_ready_db "$port" || fail "$name: /readyz $(code "$port" readyz) '$(curl -s "http://127.0.0.1:$port/readyz")' with the database refusing, want 503 database: ..."
	[[ $(code "$port" livez) == 200 ]] || fail "$name: /livez $(code "$port" livez) with the database refusing, want 200"
done
admin "ALTER DATABASE \"$db\" ALLOW_CONNECTIONS true" >/dev/null
for name in poller bot notifier api; do
	port=$(metrics_port "$name")
	wait_until 60 ready "$port" || fail "$name: not ready again after the database came back: $(curl -s "http://127.0.0.1:$port/readyz")"
done
figure "poller, bot, notifier, api: database refusing -> /readyz 503 'database: ...', /livez 200; back -> /readyz 200"
for name in poller bot notifier api; do
	stop_pid "${PID[$name]}" 120
	[[ $(row "$name" "stopped_at IS NOT NULL") == t ]] || fail "$name: SIGTERM did not mark its workers row stopped"
	logged "$name" 'marked stopped' || fail "$name: no 'marked stopped' line"
done
figure "poller, bot, notifier, api: workers row with kind, metrics address and counters; SIGTERM: exit 0, row marked stopped"
echo ok
sed 's/^/    /' "$T/figures.txt"
