#!/bin/sh
# Builds the Debian and RPM packages of the daemon into dist/:
#   dist/scanlogd-ts_<version>-<revision>_<arch>.deb   (dpkg-buildpackage + debhelper)
#   dist/scanlogd-ts-<version>-<revision>.<arch>.rpm   (rpmbuild)
# from the compiled tree (npm run build: dist/src). The production dependencies are
# installed afresh from package-lock.json (npm ci --omit=dev) in a staging copy, so
# no development dependency, test or benchmark is shipped.
#
# Needs node and npm (the Node.js the addons are built for), what node-gyp needs to
# build the addons (python3, make, g++, and libpcap-dev for the libpcap reader),
# binutils' nm, dpkg-dev, debhelper, rpm.
# SCANLOGD_KEEP_BUILD=1 keeps the staging directory and prints where it is.
set -eu

cd "$(dirname "$0")/.."

PKG=scanlogd-ts
fail() {
	echo "packaging: $*" >&2
	exit 1
}

missing=""
for tool in dpkg-buildpackage:dpkg-dev dh:debhelper rpmbuild:rpm make:make g++:g++ python3:python3; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
[ -z "$missing" ] || fail "missing tools; install these Debian packages:$missing"

VERSION=$(node -p 'require("./package.json").version')
DEB_VERSION=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
REVISION=${DEB_VERSION##*-}
[ "${DEB_VERSION%-*}" = "$VERSION" ] ||
	fail "packaging/debian/changelog is at $DEB_VERSION but package.json at $VERSION: add a changelog entry"
grep -q "^\* .* - $VERSION-$REVISION\$" packaging/rpm/$PKG.spec ||
	fail "packaging/rpm/$PKG.spec has no %changelog entry for $VERSION-$REVISION"

NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')

[ -f dist/src/cli.js ] || fail "dist/src/cli.js is missing: run npm run build first"

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/scanlogd-package.XXXXXX")
if [ "${SCANLOGD_KEEP_BUILD:-}" = 1 ]; then
	trap 'echo "packaging: staging directory kept: $BUILD" >&2' EXIT
else
	trap 'rm -rf "$BUILD"' EXIT
fi
SRC=$BUILD/$PKG-$VERSION
APP=$SRC/app

# The daemon: its entry point, the compiled sources, and production node_modules.
mkdir -p "$APP/dist"
# binding.gyp and native/ are the sources of the project's addons: npm ci below builds
# them (the package's install script), and only the built addons are kept.
cp -R package.json package-lock.json bin binding.gyp native "$APP/"
# The compiled form of each source file, and nothing left over from removed ones.
for ts in $(find src -name '*.ts' ! -name '*.d.ts'); do
	js=dist/${ts%.ts}.js
	[ -f "$js" ] || fail "$js is missing: run npm run build first"
	mkdir -p "$APP/$(dirname "$js")"
	cp "$js" "$APP/$js"
done
# The addons get Debian's hardening flags; node-gyp's makefiles add the variables.
if command -v dpkg-buildflags >/dev/null; then
	eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
fi
(cd "$APP" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

# Only what runs: no docs, tests, examples or type declarations, no licence files (the
# packages' copyright file carries each module's licence). The production modules are
# plain JavaScript; the only native code is the project's own addons, below.
NM=$APP/node_modules
find "$NM" -depth \( -type d \( -name test -o -name tests -o -name spec -o -name example -o -name examples -o -name typings \
	-o -name @types \) \
	-o -type f \( -iname '*.md' -o -iname 'license*' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '.*' -o -name '*.map' \
	-o -name '*.cc' -o -name '*.h' -o -name Gruntfile.js \) \) \
	-exec rm -rf {} +
rm -f "$APP/package-lock.json"
# Every addon the daemon loads; the libpcap reader too, which binding.gyp leaves out
# where libpcap's headers are missing.
ADDONS="rawrecv privdrop syslogsock procctl pcaprecv"
[ -f "$APP/build/Release/pcaprecv.node" ] || fail "npm ci did not build the libpcap reader: install libpcap-dev"
mkdir "$BUILD/addons"
for addon in $ADDONS; do
	[ -f "$APP/build/Release/$addon.node" ] || fail "npm ci did not build build/Release/$addon.node"
	mv "$APP/build/Release/$addon.node" "$BUILD/addons/"
done
rm -rf "$APP/build" "$APP/native" "$APP/binding.gyp"
mkdir -p "$APP/build"
mv "$BUILD/addons" "$APP/build/Release"
find "$APP" -depth -type d -empty -delete
# As distributions do: no PATH lookup for the interpreter, no symbols in the addons.
sed -i '1s|^#!/usr/bin/env node$|#!/usr/bin/node|' "$APP/bin/scanlogd.js" "$APP/bin/scanlogd-notify"
find "$NM" "$APP/build" -name '*.node' -exec strip --strip-unneeded {} +
find "$APP" -type d -exec chmod 0755 {} +
find "$APP" -type f -exec chmod 0644 {} +
chmod 0755 "$APP/bin/scanlogd.js" "$APP/bin/scanlogd-notify"

# What the package will run must load: the entry point and every addon.
[ "$(node "$APP/bin/scanlogd.js" --version)" = "scanlogd-ts $VERSION (Node.js $(node --version))" ] || fail "the staged daemon does not run"
[ "$(node "$APP/bin/scanlogd-notify" --version)" = "$VERSION" ] || fail "the staged notifier does not run"
# shellcheck disable=SC2086 # one name per addon
(cd "$APP" && node -e 'for (const m of process.argv.slice(1)) require(m)' commander $(for a in $ADDONS; do printf './build/Release/%s.node ' "$a"; done)) ||
	fail "a staged module does not load"

# Which Node.js the packages need. A Node-API addon imports only napi_* functions and
# loads on every line from the engines floor on; an addon built against V8's and
# Node's C++ API (nan) loads only on the ABI it was built for, and then the packages
# are pinned to this major version (one ABI per major). The kind is read from the
# built addons, so the dependency follows the addons without an edit here.
abi_bound=""
for addon in $(find "$APP" -name '*.node' | sort); do
	if nm -D --undefined-only "$addon" | grep -q -E ' (_ZN2v8|_ZN4node)'; then abi_bound="$abi_bound ${addon#"$APP"/}"; fi
done
NODE_FLOOR=$(node -p 'require("./package.json").engines.node.replace(/^>=\s*/, "")')
if [ -z "$abi_bound" ]; then
	DEB_NODEJS="nodejs (>= $NODE_FLOOR)"
	RPM_NODEJS="nodejs(engine) >= $NODE_FLOOR"
else
	echo "packaging: for Node.js $NODE_MAJOR only (ABI $(node -p process.versions.modules)): built against its C++ API:$abi_bound" >&2
	DEB_NODEJS="nodejs (>= $NODE_MAJOR), nodejs (<< $((NODE_MAJOR + 1))~)"
	RPM_NODEJS="nodejs(abi$NODE_MAJOR)"
fi

cp packaging/scanlogd.sh packaging/scanlogd.8 packaging/scanlogd.conf.5 packaging/scanlogd.service packaging/scanlogd.default \
	packaging/scanlogd.conf packaging/scanlogd.sysusers packaging/debian/copyright packaging/rpm/README.rpm \
	packaging/scanlogd-notify.sh packaging/scanlogd-notify.8 packaging/scanlogd-notify.service packaging/scanlogd-notify.init \
	packaging/scanlogd-notify.default packaging/scanlogd-notify.conf packaging/scanlogd-notify.sysusers \
	packaging/scanlogd.rsyslog packaging/scanlogd.logrotate "$SRC/"
cp -R packaging/fail2ban packaging/rsyslog "$SRC/"

# RPM: from a tarball of the staged tree.
RPMTOP=$BUILD/rpm
mkdir -p "$RPMTOP/SOURCES"
tar -C "$BUILD" -czf "$RPMTOP/SOURCES/$PKG-$VERSION.tar.gz" "$PKG-$VERSION"
# Debian's rpm runs brp-compress, a bash script, with /bin/sh: give it bash.
os_install_post=$(rpm --eval '%{__os_install_post}' | sed -e '/^ *$/d' -e 's/^ *//' -e 's|^/usr/lib/rpm/brp-compress|bash &|' | paste -sd ';')
rpmbuild -bb --quiet \
	--define "__os_install_post $os_install_post" \
	--define "_topdir $RPMTOP" \
	--define "pkg_version $VERSION" \
	--define "pkg_release $REVISION" \
	--define "node_requires $RPM_NODEJS" \
	packaging/rpm/$PKG.spec

# Debian: the staged tree with debian/ becomes a source tree for dpkg-buildpackage.
cp -R packaging/debian "$SRC/debian"
cp packaging/scanlogd.init "$SRC/debian/$PKG.scanlogd.init"
cp packaging/scanlogd.default "$SRC/debian/$PKG.scanlogd.default"
cp packaging/scanlogd.service "$SRC/debian/$PKG.scanlogd.service"
cp packaging/scanlogd-notify.init "$SRC/debian/$PKG.scanlogd-notify.init"
cp packaging/scanlogd-notify.default "$SRC/debian/$PKG.scanlogd-notify.default"
cp packaging/scanlogd-notify.service "$SRC/debian/$PKG.scanlogd-notify.service"
(cd "$SRC" && NODEJS_DEPENDS=$DEB_NODEJS dpkg-buildpackage --build=binary --no-sign >"$BUILD/dpkg-buildpackage.log" 2>&1) || {
	cat "$BUILD/dpkg-buildpackage.log" >&2
	fail "dpkg-buildpackage failed"
}

ARCH=$(dpkg --print-architecture)
RPMARCH=$(rpm --eval '%{_arch}')
DEB=${PKG}_${DEB_VERSION}_${ARCH}.deb
RPM=$PKG-$VERSION-$REVISION.$RPMARCH.rpm
rm -f dist/${PKG}_*.deb dist/$PKG-*.rpm
cp "$BUILD/$DEB" dist/
cp "$RPMTOP/RPMS/$RPMARCH/$RPM" dist/
echo "packaging: built dist/$DEB and dist/$RPM"
