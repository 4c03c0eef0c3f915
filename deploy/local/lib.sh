# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this
# Shared helpers for deploy/local/install and deploy/local/stack (sourced, not run).

PP_LOCAL_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
PP_REPO_ROOT=$(cd -- "$PP_LOCAL_DIR/../.." && pwd -P)
PP_CACHE_DIR=$PP_REPO_ROOT/.local/cache
PP_KAFKA_DEFAULT_VERSION=3.9.2
PP_KAFKA_FALLBACK_VERSION=3.9.1
PP_PG_BIN=/usr/lib/postgresql/15/bin
: "${PP_PROG:=${0##*/}}"

say() { printf '%s: %s\n' "$PP_PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PP_PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PP_PROG" "$*" >&2; exit 1; }

# Milliseconds since the epoch, from bash's own clock (no fork).
now_ms() {
	local t=${EPOCHREALTIME/./}
	printf '%s\n' "$((10#${t:0:-3}))"
}

# Seconds since $1 (a now_ms value), one decimal.
since() {
	local d=$(($(now_ms) - $1))
	printf '%d.%02ds' $((d / 1000)) $((d % 1000 / 10))
}

# Directory holding the Kafka jars for version $1 (follows the fallback note
# install writes when the requested version could not be resolved).
kafka_libs_dir() {
	local v=$1
	if [[ -f $PP_CACHE_DIR/kafka-$v.use ]]; then
		v=$(<"$PP_CACHE_DIR/kafka-$v.use")
	fi
	printf '%s\n' "$PP_CACHE_DIR/kafka-$v/libs"
}
