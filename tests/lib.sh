# tests/lib.sh - helpers for integration tests (sourced). tests/run exports, per test:
#   PP_DB_URL (a fresh migrated database), PP_TOPIC / PP_DLQ_TOPIC (fresh topics),
#   PP_GROUP_ID (fresh group), PP_KAFKA_BROKERS, PP_XMPP_HOST/PORT/DOMAIN/JID/PASSWORD,
#   PP_BUILD (build dir), PP_TEST_TMP (a fresh temp dir, removed afterwards), PP_ROOT, and from
#   the stack's env PP_ENV=dev (the development defaults allowed) and PP_OPS_ADDR=127.0.0.1:0
#   (every daemon's ops listener on a free port); set below too for a test run by hand.
# A test prints `ok` or `FAIL: reason` and exits 0 or 1.

: "${PP_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${PP_BUILD:=$PP_ROOT/build}"
: "${PP_TEST_TMP:=$(mktemp -d)}"
export PP_ENV=${PP_ENV-dev} PP_OPS_ADDR=${PP_OPS_ADDR-127.0.0.1:0}
PPCTL=$PP_BUILD/tools/ppctl/ppctl
SIM=$PP_BUILD/tools/carrier-sim/pp-carrier-sim
POLLER=$PP_BUILD/poller/pp-poller
NOTIFIER=$PP_BUILD/notifier/pp-notifier
INBOX=$PP_BUILD/notifier/pp-inbox

pp_test_pids=()

# pp_carriers: every registered carrier's name in capitals (DHL UPS INPOST ...), from the
# registry (ppctl config --carriers): a script that points carriers at the simulator takes them
# from here, so a new carrier is never polled at its real URL.
pp_carriers() { "$PPCTL" config --carriers | tr a-z A-Z; }

fail() {
	echo "FAIL: $*"
	exit 1
}

# wait_until TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds or time runs out. The
# time-out is at least PP_TEST_WAIT_MIN (120 s): every wait is for something that must happen,
# and a loaded machine is slow, not wrong (no test waits to see a thing NOT happen).
wait_until() {
	local secs=$1 min=${PP_TEST_WAIT_MIN:-120}
	((secs >= min)) || secs=$min
	local deadline=$((SECONDS + secs))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# start_bg NAME CMD...: run CMD in the background, log to $PP_TEST_TMP/NAME.log, remember PID.
start_bg() {
	local name=$1
	shift
	"$@" >"$PP_TEST_TMP/$name.log" 2>&1 &
	pp_test_pids+=($!)
	echo $!
}

# start_sim [ARGS...]: start the carrier simulator on a free port; sets SIM_PID, SIM_URL.
start_sim() {
	local log=$PP_TEST_TMP/sim.log
	"$SIM" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	SIM_PID=$!
	pp_test_pids+=("$SIM_PID")
	wait_until 60 grep -q '^listening on ' "$log" || fail "simulator did not start: $(tail -5 "$log")"
	SIM_URL="http://$(sed -n 's/^listening on //p' "$log" | head -1)"
	export PP_INPOST_BASE_URL=$SIM_URL
}

# sim_clock URL advance SECONDS | URL next | URL: move a --clock manual simulator's clock (by
# SECONDS, or to the next moment any number it knows changes) or just read it; prints the
# clock's JSON ({"now_s","advanced_s","next_event_in_s" (null: nothing left),...}).
sim_clock() {
	local url=$1 q= out
	case ${2-} in
	advance) q="?advance=$3" ;;
	next) q="?step=next" ;;
	'') ;;
	*) fail "sim_clock: want advance SECONDS, next or nothing, got '$2'" ;;
	esac
	if [[ -n $q ]]; then
		out=$(curl -sf -X POST "$url/sim/clock$q") || fail "sim_clock $*: POST $url/sim/clock$q failed"
	else
		out=$(curl -sf "$url/sim/clock") || fail "sim_clock: GET $url/sim/clock failed"
	fi
	printf '%s\n' "$out"
}

# barrier_wait FILE N: wait (300 s) until N pp-chat -b FILE clients have logged in (each made
# FILE.up.<pid>), then release them together by creating FILE.
barrier_wait() {
	local f=$1 n=$2
	barrier_up() { (($(compgen -G "$f.up.*" | wc -l) >= n)); }
	wait_until 300 barrier_up || fail "only $(compgen -G "$f.up.*" | wc -l) of $n chat clients logged in within 300 s"
	touch "$f"
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# stop_pid PID [SECONDS]: SIGTERM one of this test's processes; fail unless it exits 0 in time (60 s).
stop_pid() {
	local pid=$1 secs=${2:-60} rc
	kill -TERM "$pid" 2>/dev/null || fail "process $pid is not running"
	wait_until "$secs" pid_gone "$pid" || fail "process $pid did not exit within $secs s of SIGTERM"
	wait "$pid"
	rc=$?
	((rc == 0)) || fail "process $pid exited $rc after SIGTERM"
}

# xmpp_stack [TAG_PREFIX]: the shared stack's Prosody (PP_XMPP_HOST/PORT/DOMAIN) for a test
# with its own accounts; sets STACK (the stack command), D (the XMPP domain), tag (unique per run).
xmpp_stack() {
	STACK=("$PP_ROOT/deploy/local/stack" ${PP_STACK_STATE:+--state "$PP_STACK_STATE"})
	eval "$("${STACK[@]}" env | grep -E 'PP_XMPP_(HOST|PORT|DOMAIN)=')"
	D=${PP_XMPP_DOMAIN:-parcelpush.test} tag=${1-}$$-$RANDOM
}

# xmpp_register USER PASSWORD [USER PASSWORD ...]: create (or reset) the accounts (xmpp_stack first).
xmpp_register() {
	printf '%s %s\n' "$@" | "${STACK[@]}" xmpp-register >/dev/null 2>&1 || fail "xmpp-register"
}

# demo_credentials: every carrier's credentials as the simulator started with
# --token demo-token --client-id demo --client-secret demo-secret takes them.
demo_credentials() {
	export PP_INPOST_TOKEN=demo-token PP_DHL_API_KEY=demo-token
	export PP_UPS_CLIENT_ID=demo PP_UPS_CLIENT_SECRET=demo-secret PP_GLS_CLIENT_ID=demo PP_GLS_CLIENT_SECRET=demo-secret
	export PP_ORLEN_PARTNER_ID=demo PP_ORLEN_PARTNER_KEY=demo-secret PP_DPD_LOGIN=demo PP_DPD_PASSWORD=demo-secret
	export PP_POCZTAPOLSKA_USERNAME=demo PP_POCZTAPOLSKA_PASSWORD=demo-secret
}

# cleanup: TERM then KILL every process this test started.
pp_test_cleanup() {
	local p
	for p in "${pp_test_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pp_test_pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap pp_test_cleanup EXIT

psql_q() { psql "$PP_DB_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# Fail if any log in the temp dir shows a sanitizer report or an assertion.
check_logs_clean() {
	if grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|Assertion .* failed' "$PP_TEST_TMP"/*.log 2>/dev/null; then
		fail "sanitizer or assertion report in logs"
	fi
}
