# tests/fuzz/lib.sh - shared by run-brief and run-long: the build directory, the target list,
# and one libFuzzer run's figures. Sourced, not run.
# shellcheck shell=bash
fuzz_root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
fuzz_dir=$fuzz_root/tests/fuzz
fuzz_build=${PP_FUZZ_BUILD:-$fuzz_root/build-fuzz}
fuzz_cc=${PP_FUZZ_CC:-clang-14}

# Configure (once) and build the targets; errors on stderr, output in $fuzz_build-output.log.
fuzz_compile() {
	if ! command -v "$fuzz_cc" >/dev/null 2>&1; then
		echo "fuzz: $fuzz_cc not found (deploy/local/install installs clang-14 and libclang-rt-14-dev)" >&2
		return 1
	fi
	# Nothing fuzzed talks to Kafka: Debian's librdkafka, whatever tests/run builds with.
	if [[ ! -f $fuzz_build/build.ninja ]]; then
		CC=$fuzz_cc meson setup "$fuzz_build" "$fuzz_root" -Dfuzz=true -Drdkafka=system >"$fuzz_build-output.log" 2>&1 || {
			tail -20 "$fuzz_build-output.log" >&2
			return 1
		}
	fi
	if ! ninja -C "$fuzz_build" -j"${PP_FUZZ_BUILD_JOBS:-2}" >"$fuzz_build-output.log" 2>&1; then
		tail -30 "$fuzz_build-output.log" >&2
		return 1
	fi
	rm -f "$fuzz_build-output.log"
}

# Every target that has a binary, in a stable order (carriers first).
fuzz_all_targets() {
	local t
	for t in inpost dhl dpd ups gls pocztapolska orlen ups-token gls-token event bot-command \
		buyer-token numbers config api-body; do
		[[ -x $fuzz_build/tests/fuzz/fuzz-$t ]] && echo "$t"
	done
	for t in "$fuzz_build"/tests/fuzz/fuzz-*; do # any target added later
		[[ -x $t && ! -d $t ]] || continue
		t=${t##*/fuzz-}
		case " inpost dhl dpd ups gls pocztapolska orlen ups-token gls-token event bot-command buyer-token numbers config api-body " in
		*" $t "*) ;;
		*) echo "$t" ;;
		esac
	done
}

# The read-only input directories of a target: its corpus and its regressions, when present.
fuzz_inputs() {
	local d
	for d in "$fuzz_dir/corpus/$1" "$fuzz_dir/regressions/$1"; do
		[[ -d $d ]] && echo "$d"
	done
}

# Figures of one run from its log: "execs execs_per_s" (final stats if the run ended, else the
# last status line), and the outcome: done | running | crash | failed.
fuzz_figures() { # LOG
	awk '
		/^stat::number_of_executed_units:/ { execs = $2; final = 1 }
		/^stat::average_exec_per_sec:/ { rate = $2 }
		/^#[0-9]+\t/ { n = substr($1, 2); if (!final) { execs = n; for (i = 1; i <= NF; i++) if ($i == "exec/s:") rate = $(i + 1) } }
		/^==[0-9]+== ?ERROR: |^==fuzz== property failed|runtime error:|deadly signal|Test unit written to .*-(crash|leak|timeout|oom)-/ { crash = 1 }
		END { printf "%s %s %s\n", execs + 0, rate + 0, crash ? "crash" : final ? "done" : "running" }
	' "$1"
}

# 1234567 -> 1,234,567
fuzz_thousands() { printf '%s' "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }
