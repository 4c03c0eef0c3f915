# tools/bench/lib.sh - what every benchmark script here shares (sourced): stopping a process,
# the CPU and memory of a process and of Postgres from /proc, one psql query.
# Needs: pg_pid (the postmaster's pid, or empty) for pg_ticks, PP_DB_URL for psql_q.

stop_pid() { # stop_pid PID [SECONDS]: TERM, wait up to SECONDS (10), KILL; returns the exit status
	local p=$1 rc=0
	[[ -n $p ]] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for _ in $(seq $((${2:-10} * 10))); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || rc=$?
	return $rc
}
proc_ticks() { # proc_ticks PID [WITH_CHILDREN]: utime+stime (+cutime+cstime) in clock ticks
	local f
	{ read -r -a f <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
	# fields after "(comm)": the comm of our processes has no spaces
	if [[ ${2-} ]]; then echo $((f[13] + f[14] + f[15] + f[16])); else echo $((f[13] + f[14])); fi
}
pg_ticks() { # the postmaster, the children it reaped, and its live children (backends)
	[[ -n $pg_pid ]] || { echo 0; return; }
	local t c
	t=$(proc_ticks "$pg_pid" children)
	for c in $(pgrep -P "$pg_pid"); do t=$((t + $(proc_ticks "$c"))); done
	echo "$t"
}
vm_kib() { # vm_kib PID FIELD (VmRSS, VmHWM)
	local k v _u
	{ while read -r k v _u; do [[ $k == "$2:" ]] && { echo "$v"; return; }; done <"/proc/$1/status"; } 2>/dev/null
	echo 0
}
psql_q() { psql "$PP_DB_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
clk_tck=$(getconf CLK_TCK)
