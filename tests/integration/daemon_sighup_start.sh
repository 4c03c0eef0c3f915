#!/usr/bin/env bash
# daemon_sighup_start.sh - a SIGHUP that arrives while a daemon is still starting, before the
# frame has its signal handlers (common/daemon.c), does not kill it: the frame ignores SIGHUP
# from its first line until its handler takes over (an operator's log rotation may come at
# any time). Each of the four daemons is held in its start-up by a database address that
# accepts the connection and never answers: its pool connects synchronously before anything
# else, so once the listener holds four connections every daemon is provably inside its
# start. Each then gets SIGHUP and must end as that database makes it end (connect_timeout:
# exit 1, "cannot open the database"), not of the signal (before: status 129, killed by SIGHUP).
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail

T=$PP_TEST_TMP
API=$PP_BUILD/api/pp-api
BOT=$PP_BUILD/bot/pp-bot

# A "database" that accepts and never answers; it writes its port, then the connections held.
python3 - "$T/port" "$T/conns" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    open(sys.argv[2], "w").write(str(len(held)))
EOF
pp_test_pids+=($!)
wait_until 30 test -s "$T/port" || fail "the silent listener did not start"
port=$(cat "$T/port")

declare -A PID
for name in poller notifier api bot; do
	case $name in poller) b=$POLLER ;; notifier) b=$NOTIFIER ;; api) b=$API ;; bot) b=$BOT ;; esac
	PP_DB_URL="postgresql://pp@127.0.0.1:$port/pp?connect_timeout=5" PP_DB_POOL_SIZE=1 \
		PP_API_ADDR=127.0.0.1:0 "$b" >"$T/$name.log" 2>&1 &
	PID[$name]=$!
	pp_test_pids+=($!)
done
held() { [[ $(cat "$T/conns" 2>/dev/null) -ge 4 ]]; }
wait_until 60 held || fail "the daemons did not all connect: $(cat "$T/conns" 2>/dev/null) connections"

for name in poller notifier api bot; do
	kill -HUP "${PID[$name]}" 2>/dev/null || fail "$name ended before the SIGHUP: $(tail -2 "$T/$name.log")"
done
for name in poller notifier api bot; do
	wait "${PID[$name]}"
	rc=$?
	((rc != 129)) || fail "$name was killed by a SIGHUP during its start-up (status 129)"
	((rc == 1)) || fail "$name exited $rc, want 1: $(tail -2 "$T/$name.log")"
	grep -q 'cannot open the database' "$T/$name.log" ||
		fail "$name did not end on the silent database: $(tail -2 "$T/$name.log")"
done
echo ok
echo "    poller, notifier, api, bot: SIGHUP inside the start-up (pool connecting) ignored; each ended on its database (exit 1), none of the signal"
