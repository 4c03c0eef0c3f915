# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this
# Shared helpers for deploy/local/install and deploy/local/stack (sourced, not run).

PP_LOCAL_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
PP_REPO_ROOT=$(cd -- "$PP_LOCAL_DIR/../.." && pwd -P)
PP_CACHE_DIR=$PP_REPO_ROOT/.local/cache
# Kafka: the stack runs the default; tests/run also runs a subset on the other version.
# Tested combinations (with librdkafka): deploy/local/README.md "Kafka and librdkafka versions".
PP_KAFKA_DEFAULT_VERSION=4.4.0
PP_KAFKA_OTHER_VERSION=3.9.2
PP_KAFKA_FALLBACK_VERSION=$PP_KAFKA_OTHER_VERSION # used by install if the default does not resolve
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

# Logging backend of Kafka version $1: log4j2 from 4.0 on (KIP-653), log4j 1.x
# (reload4j) before. install fetches its jars (kafka/pom.xml profile of that name).
kafka_log_backend() {
	if ((${1%%.*} >= 4)); then echo log4j2; else echo log4j; fi
}

# kafka_log_config VERSION DIR: writes DIR/broker-log.properties (console, INFO) and
# DIR/tools-log.properties (stderr, WARN) in the syntax of that version's backend, and sets
# KAFKA_LOG_OPT / KAFKA_TOOL_LOG_OPT to the JVM option that names each file. A 3.x-style
# file given to a 4.x broker makes log4j2 report a configuration error and fall back.
kafka_log_config() {
	local dir=$2
	case $(kafka_log_backend "$1") in
	log4j2)
		cat >"$dir/broker-log.properties" <<'EOT'
# log4j2 (Kafka 4.x). Written by deploy/local/stack at each start; edits are lost.
status = warn
name = parcelpush-broker
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.controller.name = kafka.controller
logger.controller.level = INFO
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOT
		cat >"$dir/tools-log.properties" <<'EOT'
# log4j2 (Kafka 4.x) for command-line tools: warnings only, on stderr.
status = warn
name = parcelpush-tools
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
EOT
		KAFKA_LOG_OPT=-Dlog4j2.configurationFile=$dir/broker-log.properties
		KAFKA_TOOL_LOG_OPT=-Dlog4j2.configurationFile=$dir/tools-log.properties
		;;
	log4j)
		cat >"$dir/broker-log.properties" <<'EOT'
# log4j 1.x / reload4j (Kafka 3.x). Written by deploy/local/stack at each start; edits are lost.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.org.apache.kafka.clients=WARN
EOT
		cat >"$dir/tools-log.properties" <<'EOT'
# log4j 1.x / reload4j (Kafka 3.x) for command-line tools: warnings only, on stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOT
		KAFKA_LOG_OPT=-Dlog4j.configuration=file:$dir/broker-log.properties
		KAFKA_TOOL_LOG_OPT=-Dlog4j.configuration=file:$dir/tools-log.properties
		;;
	esac
}

# Lines of a Kafka log (file $1) that report a problem with the logging set-up itself:
# log4j 1.x's "log4j:WARN/ERROR", log4j2's StatusLogger ("ERROR StatusLogger ...", or
# "<time> main ERROR ..." since 2.23), SLF4J's own "SLF4J: ..." (no/multiple bindings).
# Prints them; exits 0 when there are none.
kafka_log_errors() {
	! grep -E '^log4j:(WARN|ERROR)|StatusLogger|^SLF4J: |^[0-9T:.+Z-]+ [^ ]+ (WARN|ERROR|FATAL) |No Log4j 2 configuration|Reconfiguration failed' "$1"
}
