#!/bin/sh
# Copies the built daemon (bin/, dist/src/, the project's own addons and the production
# node_modules) to a root-owned, read-only directory that user scanlogd can read, and
# prints the path of its entry script. The monitor runs as scanlogd and loads the
# daemon's code from the entry's tree; a clone in root's mode-0700 home is out of its
# reach, and making the home searchable, or the clone writable by scanlogd, would
# weaken the host. The copy is made again only when a file of the build changed.
set -eu
cd "$(dirname "$0")/.."
here=$(pwd -P)

fail() {
	echo "stage: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root: the copy must be root's, since root runs it"
[ -f dist/src/cli.js ] || fail "dist/src/cli.js is missing: run npm run build first"
addons=""
for addon in rawrecv privdrop syslogsock procctl; do
	[ -f build/Release/$addon.node ] || fail "build/Release/$addon.node is missing: run npm ci first"
	addons="$addons build/Release/$addon.node"
done
# The libpcap reader is built only where libpcap-dev is installed (binding.gyp).
[ ! -f build/Release/pcaprecv.node ] || addons="$addons build/Release/pcaprecv.node"

# One copy per clone, below /run: root's alone, and emptied at boot.
ROOT=/run/scanlogd-dev
install -d -o root -g root -m 0755 "$ROOT"
# Whoever could write this directory (or put a link here) could choose the code root runs.
[ ! -L "$ROOT" ] && [ "$(stat -c '%u %a' "$ROOT")" = "0 755" ] ||
	fail "$ROOT must be a directory owned by root with mode 0755"
id=$(printf '%s' "$here" | sha256sum | cut -c1-12)
stage=$ROOT/$id

# The production dependencies as npm resolves them, without type declarations.
modules=$(npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s|^$here/||p" | grep '^node_modules/' | grep -v '/@types/' | sort -u)
files="package.json bin dist/src$addons $modules"

# A change of any file's content, or of the file list, makes a new copy (a rebuild
# that writes the same bytes does not).
# shellcheck disable=SC2086 # the list is split on purpose; no path has a blank
stamp=$(find $files -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$stage/.stamp" ] && [ "$(cat "$stage/.stamp")" = "$stamp" ]; then
	echo "$stage/bin/scanlogd.js"
	exit 0
fi

new=$(mktemp -d "$ROOT/.$id.XXXXXX")
trap 'rm -rf "$new"' EXIT
# shellcheck disable=SC2086
tar -cf - $files | tar -xf - -C "$new" --no-same-owner --no-same-permissions
chown -R root:root "$new"
chmod -R u=rwX,go=rX "$new"
echo "$stamp" > "$new/.stamp"
# A daemon still running from the old copy has loaded its code already.
if [ -d "$stage" ]; then
	mv "$stage" "$new.old"
	mv "$new" "$stage"
	rm -rf "$new.old"
else
	mv "$new" "$stage"
fi
trap - EXIT
echo "$stage/bin/scanlogd.js"
