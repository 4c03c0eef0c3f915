#!/usr/bin/env bash
# meson_install.sh - `meson install` puts in place what an operator runs and nothing else:
# the four daemons and ppctl in bin/ (each starts: --version), the migrations in
# share/parcelpush/sql and the Prosody module in share/parcelpush/prosody; no test or demo
# tool. The installed tree is moved elsewhere and its ppctl migrates an empty database from
# the installed migrations: no source path is baked in.
. "$(dirname -- "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail

T=$PP_TEST_TMP
meson install -C "$PP_BUILD" --destdir "$T/root" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
	fail "meson install: $(tail -5 "$T/install.log")"
prefix=$(meson introspect "$PP_BUILD" --buildoptions | python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["prefix"])')
mv "$T/root$prefix" "$T/moved" || fail "no $prefix in the installed tree"

bins=$(cd "$T/moved/bin" && ls | tr '\n' ' ')
[[ $bins == "pp-api pp-bot pp-notifier pp-poller ppctl " ]] || fail "bin/ holds '$bins', want the four daemons and ppctl"
for b in pp-api pp-bot pp-notifier pp-poller ppctl; do
	v=$("$T/moved/bin/$b" --version) || fail "$b --version failed (libraries: $(ldd "$T/moved/bin/$b" | grep 'not found'))"
	[[ $v == "$b "[0-9]* ]] || fail "$b --version printed '$v'"
done
want=$(cd "$PP_ROOT/schema/sql" && ls *.sql | tr '\n' ' ')
got=$(cd "$T/moved/share/parcelpush/sql" && ls *.sql | tr '\n' ' ')
[[ $got == "$want" ]] || fail "share/parcelpush/sql holds '$got', want '$want'"
[[ -f $T/moved/share/parcelpush/prosody/mod_pp_delivery.lua ]] || fail "the Prosody module is not installed"

# An empty database, migrated by the installed (and moved) ppctl, with no hint where to look.
db=inst_$$
psql_q "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db"
url=${PP_DB_URL%/*}/$db
out=$(cd / && env -u PP_SCHEMA_DIR PP_DB_URL="$url" "$T/moved/bin/ppctl" migrate 2>&1) || fail "installed ppctl migrate: $out"
n=$(psql "$url" -XAtq -c "SELECT count(*) FROM schema_migrations") || fail "no schema_migrations in $db"
psql_q "DROP DATABASE $db" >/dev/null
[[ $n == $(wc -w <<<"$want") ]] || fail "$n migrations applied, want $(wc -w <<<"$want"): $out"
echo ok
echo "    installed: $bins+ $(wc -w <<<"$got") migrations + mod_pp_delivery.lua; the moved ppctl applied $n migrations to an empty database"
