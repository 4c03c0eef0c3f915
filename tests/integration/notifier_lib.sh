#!/usr/bin/env bash
# notifier_lib.sh - helpers sourced by tests/integration/notifier_*.sh (not a test itself):
# a private database, topics, consumer group and XMPP accounts (bot included, so its message
# archive holds only this run's messages) per run, own daemons only. Uses the stack named by
# PP_STACK_STATE (tests/run: its test stack), else the default one (.local/stack).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	echo "notifier_lib.sh is a helper library sourced by notifier_*.sh, not a test" >&2
	exit 2
fi
set -uo pipefail

NT_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
NT_BUILD=${PP_BUILD_DIR:-$NT_ROOT/build}
NT_BIN=$NT_BUILD/notifier
NT_NAME=${NT_TEST:-notifier}-$$-$RANDOM
NT_TMP=$(mktemp -d "/tmp/pp-$NT_TEST.XXXXXX")
NT_PIDS=()
NT_STACK=("$NT_ROOT/deploy/local/stack" ${PP_STACK_STATE:+--state "$PP_STACK_STATE"})
eval "$("${NT_STACK[@]}" env)" || { echo "FAIL: local stack not available (${NT_STACK[*]} env)"; exit 1; }
NT_PG_ADMIN=${PP_DB_URL%/*}/postgres
NT_DB=pp_nt_${NT_NAME//-/_}
export PP_DB_URL=${PP_DB_URL%/*}/$NT_DB
export PP_TOPIC=nt-$NT_NAME.v1 PP_DLQ_TOPIC=nt-$NT_NAME.v1.dlq PP_GROUP_ID=nt-$NT_NAME
# Own IM-link topic too: the stack's env names its shared im-link-code.v1, which keeps every
# code the demo and earlier runs produced; a fresh group read them all from the start, and
# each one for a user id of this test (1..20) left a 'skipped_stale' row ("rows not sent" in
# notifier_crash/kill9 on any run after a demo on the same stack).
export PP_IM_LINK_TOPIC=nt-$NT_NAME.link.v1
export PP_HEARTBEAT_INTERVAL_MS=500
NT_DOMAIN=${PP_XMPP_DOMAIN:-parcelpush.test}

fail() { echo "FAIL: $*"; exit 1; }
log() { echo "# $*" >&2; }

nt_cleanup() {
	local p
	for p in "${NT_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[[ -n ${NT_PROSODY_PID:-} ]] && kill -TERM "$NT_PROSODY_PID" 2>/dev/null && wait "$NT_PROSODY_PID" 2>/dev/null
	psql -q "$NT_PG_ADMIN" -c "DROP DATABASE IF EXISTS $NT_DB" >/dev/null 2>&1
	[[ -n ${NT_KEEP:-} ]] || rm -rf -- "$NT_TMP"
}
trap nt_cleanup EXIT

sql() { psql -qAt -v ON_ERROR_STOP=1 "$PP_DB_URL" -c "$1"; }

# nt_xmpp_register: "user password" lines on stdin -> accounts on the stack's Prosody, or on
# the private one after nt_prosody_init.
nt_xmpp_register() {
	if [[ -n ${NT_PROSODY_CFG:-} ]]; then
		local lua
		lua=$(sed -n '1s/^#! *\(\/usr\/bin\/env \)\{0,1\}//p' "$(command -v prosodyctl)")
		awk -v d="$NT_DOMAIN" 'NF == 2 { printf "%s\t%s\t%s\n", $1, d, $2 }' |
			"${lua:-lua5.4}" "$NT_ROOT/deploy/local/prosody-register.lua" --config "$NT_PROSODY_CFG"
	else
		"${NT_STACK[@]}" xmpp-register
	fi
}

# nt_prosody_init: a private Prosody for this test (call before nt_setup): the stack's own
# config with this test's port, data dir and log under $NT_TMP/prosody; PP_XMPP_PORT follows.
# nt_prosody_start / nt_prosody_stop run it (SIGTERM, by PID; the data dir survives).
nt_prosody_init() {
	local src=$PP_STACK_STATE/prosody/prosody.cfg.lua dir=${PP_TEST_TMP:-$NT_TMP}/prosody port i
	[[ -f $src ]] || fail "no Prosody config at $src"
	for ((i = 0; i < 50; i++)); do
		# below Linux's ephemeral range (32768-60999): a port found free here cannot be
		# taken by some client socket before Prosody binds it (once: "port ... in use")
		port=$((20000 + RANDOM % 12000))
		ss -Htln "sport = :$port" | grep -q . || break
	done
	mkdir -p "$dir/data" "$dir/certs"
	sed -e "s|^data_path = .*|data_path = \"$dir/data\"|" \
		-e "s|^pidfile = .*|pidfile = \"$dir/prosody.pid\"|" \
		-e "s|^certificates = .*|certificates = \"$dir/certs\"|" \
		-e "s|filename = \"[^\"]*\"|filename = \"$dir/prosody.log\"|" \
		-e "s|^c2s_ports = .*|c2s_ports = { $port }|" "$src" >"$dir/prosody.cfg.lua"
	! grep -q -F "$PP_STACK_STATE" "$dir/prosody.cfg.lua" || fail "private Prosody config still names the stack's paths"
	grep -q "c2s_ports = { $port }" "$dir/prosody.cfg.lua" || fail "private Prosody config: no c2s_ports line to rewrite"
	NT_PROSODY_CFG=$dir/prosody.cfg.lua NT_PROSODY_LOG=$dir/prosody.log
	# its SQL storage in WAL mode, as the stack's (one fsync per commit, not three)
	if grep -q '^storage = "sql"' "$dir/prosody.cfg.lua"; then
		sqlite3 "$dir/data/prosody.sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null || fail "cannot set up $dir/data/prosody.sqlite"
	fi
	export PP_XMPP_PORT=$port
}
nt_prosody_start() {
	local t0=$(date +%s%N) deadline=$((SECONDS + 300))
	prosody --config "$NT_PROSODY_CFG" -F >>"$NT_TMP/prosody.stdout.log" 2>&1 &
	NT_PROSODY_PID=$!
	while ((SECONDS < deadline)); do
		kill -0 "$NT_PROSODY_PID" 2>/dev/null || fail "private Prosody exited at start: $(tail -3 "$NT_PROSODY_LOG")"
		"$PP_STACK_STATE/bin/xmpp-probe" 127.0.0.1 "$PP_XMPP_PORT" "$PP_XMPP_JID" "$PP_XMPP_PASSWORD" 1000 >/dev/null 2>&1 && {
			log "private Prosody on 127.0.0.1:$PP_XMPP_PORT ready in $((($(date +%s%N) - t0) / 1000000)) ms (pid $NT_PROSODY_PID)"
			return 0
		}
		sleep 0.05
	done
	fail "private Prosody not ready after 300 s: $(tail -3 "$NT_PROSODY_LOG")"
}
nt_prosody_stop() {
	kill -TERM "$NT_PROSODY_PID" && wait "$NT_PROSODY_PID"
	NT_PROSODY_PID=
}

# nt_setup: database + schema, topics (PARTITIONS, default 4), seller 1.
nt_setup() {
	[[ -x $NT_BIN/pp-notifier && -x $NT_BIN/pp-inbox && -x $NT_BIN/pp-produce ]] ||
		fail "binaries missing in $NT_BIN (ninja -C build)"
	psql -q "$NT_PG_ADMIN" -c "CREATE DATABASE $NT_DB" >/dev/null || fail "createdb $NT_DB"
	local f
	for f in "$NT_ROOT"/schema/sql/*.sql; do
		psql -q -v ON_ERROR_STOP=1 "$PP_DB_URL" -f "$f" >/dev/null || fail "schema $f"
	done
	sql "INSERT INTO sellers (id, name) VALUES (1, 'test seller')" || fail "seed seller"
	# Own bot account: its archive (crash recovery looks there) holds only this run.
	export PP_XMPP_JID=$(echo "ntbot-$NT_NAME@$NT_DOMAIN" | tr 'A-Z' 'a-z') PP_XMPP_PASSWORD=botpass-$$
	echo "${PP_XMPP_JID%@*} $PP_XMPP_PASSWORD" | nt_xmpp_register >/dev/null 2>&1 || fail "xmpp-register $PP_XMPP_JID"
	"$NT_BIN/pp-produce" -b "$PP_KAFKA_BROKERS" -t "$PP_TOPIC" -C "${PARTITIONS:-4}" 2>>"$NT_TMP/kafka.log" &&
		"$NT_BIN/pp-produce" -b "$PP_KAFKA_BROKERS" -t "$PP_DLQ_TOPIC" -C 1 2>>"$NT_TMP/kafka.log" &&
		"$NT_BIN/pp-produce" -b "$PP_KAFKA_BROKERS" -t "$PP_IM_LINK_TOPIC" -C 1 2>>"$NT_TMP/kafka.log" ||
		fail "cannot create topics (see $NT_TMP/kafka.log)"
}

# nt_buyer ID LOCALE OPTED(t/f) JID|'' VERIFIED(t/f): user + transaction ID*10; XMPP account
# "<jid> pass<ID>" registered (and its offline queue emptied) when JID is set.
nt_buyer() {
	local id=$1 locale=$2 opted=$3 jid=$4 verified=$5 addr=NULL chan=NULL
	if [[ -n $jid ]]; then
		addr="'$jid'" chan="'xmpp'"
		echo "${jid%@*} pass$id" | nt_xmpp_register >/dev/null 2>&1 || fail "xmpp-register $jid"
		echo "$jid pass$id" >>"$NT_TMP/accounts"
	fi
	sql "INSERT INTO users (id, locale, notify_shipment_status, im_channel, im_address, im_verified)
	     VALUES ($id, '$locale', '$opted', $chan, $addr, '$verified');
	     INSERT INTO transactions (id, buyer_id, seller_id) VALUES ($((id * 10)), $id, 1)" ||
		fail "seed buyer $id"
}
nt_jid() { echo "nt$1-$NT_NAME@$NT_DOMAIN" | tr 'A-Z' 'a-z'; }

# nt_event TX SHIPMENT SEQ STATUS [LOCATION] [KIND] [EVENT_ID]: one "key<TAB>json" line;
# the event id is appended to $NT_TMP/events (shipment seq id).
nt_event() {
	local tx=$1 ship=$2 seq=$3 status=$4 loc=${5:-} kind=${6:-status_changed}
	local id=${7:-$(cat /proc/sys/kernel/random/uuid)}
	echo "$ship $seq $id" >>"$NT_TMP/events"
	printf '%s\t{"event_id":"%s","schema_version":1,"kind":"%s","shipment_id":%s,"transaction_id":%s,"carrier":"inpost","tracking_number":"6200000000000000000%05d","previous_status":null,"status":"%s","carrier_status":null,"carrier_status_text":null,"location":%s,"occurred_at":"2026-01-01T10:00:00Z","detected_at":"2026-01-01T10:00:01Z","sequence":%s}\n' \
		"$ship" "$id" "$kind" "$ship" "$tx" "$ship" "$status" "$([[ -n $loc ]] && echo "\"$loc\"" || echo null)" "$seq"
}

produce() { "$NT_BIN/pp-produce" -b "$PP_KAFKA_BROKERS" -t "${1:-$PP_TOPIC}" 2>>"$NT_TMP/kafka.log" || fail "produce failed"; }

# nt_start NAME: start a notifier (log $NT_TMP/NAME.log), wait until /healthz says 200.
nt_start() {
	local name=$1 port= deadline=$((SECONDS + 300))
	PP_WORKER_ID=nt-$name-$$ "$NT_BIN/pp-notifier" >"$NT_TMP/$name.log" 2>&1 &
	NT_LAST_PID=$!
	NT_PIDS+=("$NT_LAST_PID")
	while ((SECONDS < deadline)); do
		kill -0 "$NT_LAST_PID" 2>/dev/null || fail "notifier $name exited at start: $(tail -3 "$NT_TMP/$name.log")"
		port=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$NT_TMP/$name.log" | sed 's/.*://')
		if [[ -n $port ]] && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			NT_LAST_PORT=$port
			return 0
		fi
		sleep 0.1
	done
	fail "notifier $name not healthy after 300 s: $(tail -3 "$NT_TMP/$name.log")"
}

# nt_stop PID: SIGTERM, expect exit 0 within 300 s.
nt_stop() {
	local pid=$1 rc deadline=$((SECONDS + 300))
	kill -TERM "$pid" 2>/dev/null
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "notifier $pid still running 300 s after SIGTERM"
	wait "$pid"
	rc=$?
	[[ $rc == 0 ]] || fail "notifier $pid exited with $rc after SIGTERM"
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds (1 if time runs out; at
# least 300 s, as wait_sql).
wait_until() {
	local secs=$1 deadline
	shift
	((secs >= 300)) || secs=300
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# wait_sql QUERY EXPECTED [SECONDS]: poll until the query prints EXPECTED; the deadline is
# at least 300 s (a loaded machine is slow, not wrong).
wait_sql() {
	local q=$1 want=$2 secs=${3:-300} got= deadline
	((secs >= 300)) || secs=300
	deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		got=$(sql "$q" 2>/dev/null)
		[[ $got == "$want" ]] && return 0
		sleep 0.1
	done
	fail "waited ${secs}s for [$q] = $want, last $got"
}

# nt_freeze_when PID MIN_SENT TOTAL: poll the ledger until at least MIN_SENT rows are 'sent';
# then freeze the notifier (SIGSTOP) and look again while it cannot move: return 0, FROZEN,
# if a batch is in flight ('sending' rows; NT_FROZEN_AT="sent sending"), else SIGCONT and go
# on looking. Fails if everything was sent first or after 600 s. The caller SIGCONTs/KILLs.
nt_freeze_when() {
	local pid=$1 min=$2 total=$3 n q deadline=$((SECONDS + 600))
	q="SELECT count(*) FILTER (WHERE state = 'sent') || ' ' || count(*) FILTER (WHERE state = 'sending') FROM notifications"
	while ((SECONDS < deadline)); do
		n=$(sql "$q")
		if ((${n% *} >= min)); then
			kill -STOP "$pid" || fail "cannot SIGSTOP the notifier $pid"
			n=$(sql "$q")
			if ((${n#* } > 0)); then
				NT_FROZEN_AT=$n
				return 0
			fi
			kill -CONT "$pid"
		fi
		((${n% *} >= total)) && fail "all $total sent before a batch could be caught in flight (raise BUYERS/PER)"
		sleep 0.01
	done
	fail "no batch caught in flight within 600 s (last: $n)"
}

# metric PORT SERIES: current value (empty if absent).
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v s="$2" '$1 == s { print $2 }'; }

# wait_metric PORT SERIES VALUE [SECONDS]: as wait_sql (at least 300 s).
wait_metric() {
	local port=$1 s=$2 want=$3 secs=${4:-300} got= deadline
	((secs >= 300)) || secs=300
	deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		got=$(metric "$port" "$s")
		[[ $got == "$want" ]] && return 0
		sleep 0.1
	done
	fail "waited ${secs}s for metric $s = $want, last '$got'"
}

# inbox [ACCOUNTS_FILE]: JSON lines of every message (empties the offline queues).
inbox() {
	# On stderr too: callers redirect stdout to a file, where a FAIL line would go unseen.
	"$NT_BIN/pp-inbox" -H "$PP_XMPP_HOST" -p "$PP_XMPP_PORT" <"${1:-$NT_TMP/accounts}" 2>>"$NT_TMP/inbox.log" || {
		echo "FAIL: pp-inbox failed: $(tail -2 "$NT_TMP/inbox.log")" >&2
		fail "pp-inbox failed: $(tail -2 "$NT_TMP/inbox.log")"
	}
}
