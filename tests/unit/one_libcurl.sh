#!/bin/sh
# one_libcurl.sh MODE BINARY... - one libcurl per process. MODE bundled (meson -Dcurl=bundled):
# no binary loads a shared libcurl and each carries the static one, which the bundled
# librdkafka's curl calls use too; two libcurls in one process would each keep their own global
# state (init, OpenSSL set-up, allocation functions). MODE system: exactly one libcurl.so each.
mode=$1
shift
want=0
[ "$mode" = system ] && want=1
bad=0
for b in "$@"; do
	n=$(ldd "$b" | grep -c 'libcurl[.-]')
	if [ "$n" != "$want" ]; then
		echo "FAIL ${b##*/}: $n shared libcurl(s) loaded, want $want: $(ldd "$b" | grep 'libcurl' | tr -s ' \t' ' ')"
		bad=1
	elif [ "$mode" = bundled ] && ! nm "$b" | grep -q ' T curl_easy_init$'; then
		echo "FAIL ${b##*/}: no static libcurl in it"
		bad=1
	else
		echo "ok ${b##*/}: $n shared libcurl(s) ($mode)"
	fi
done
exit $bad
