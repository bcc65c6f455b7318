#!/bin/sh
# Prepares this machine for the integration tests (as root): Debian's scanners and
# network tools, debootstrap (the packaging tests' Debian 13 root), systemd-nspawn
# (which boots that root under systemd), an MTA, the scanlogd
# and scanlogd-notify accounts, the chroot directories, and the reference scanlogd 2.2.8
# unpacked (not installed) into .reference/. Does only what is missing.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "test-setup: not root; integration tests will be skipped" >&2
	exit 0
fi

need=""
for pair in nmap:nmap hping3:hping3 ip:iproute2 unshare:util-linux mknod:coreutils /usr/bin/python3:python3 rsyslogd:rsyslog gcc:gcc tcpdump:tcpdump /usr/sbin/nft:nftables pcap-config:libpcap-dev fail2ban-regex:fail2ban openssl:openssl /usr/sbin/debootstrap:debootstrap /usr/bin/systemd-nspawn:systemd-container; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need="$need ${pair#*:}"
done
# RELP for rsyslog (the fleet test's forwarding): a module, not a command.
dpkg -s rsyslog-relp >/dev/null 2>&1 || need="$need rsyslog-relp"
# libseccomp's headers: the sandbox addon compiles its filters with libseccomp (binding.gyp).
dpkg -s libseccomp-dev >/dev/null 2>&1 || need="$need libseccomp-dev"
# libseccomp's Python binding: tests load filters of their own around the daemon.
dpkg -s python3-seccomp >/dev/null 2>&1 || need="$need python3-seccomp"
# A real MTA behind /usr/sbin/sendmail for scanlogd-notify's mail channel; it delivers
# to local mailboxes only (Debian's default "local" configuration).
dpkg -s exim4-daemon-light >/dev/null 2>&1 || need="$need exim4-daemon-light"
if [ -n "$need" ]; then
	echo "test-setup: installing$need"
	apt-get update -qq
	# Installing rsyslog must not start a system-wide syslog daemon: the tests run
	# their own.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy
		trap 'rm -f $policy' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

# The libpcap reader is built only where libpcap's headers are (binding.gyp): an
# `npm ci` run before libpcap-dev was there left it out, and the libpcap tests need it.
if [ ! -f build/Release/pcaprecv.node ]; then
	echo "test-setup: building the libpcap reader (the project's addons again, now with libpcap-dev)"
	npm run install >/dev/null
fi

if ! getent passwd scanlogd >/dev/null; then
	groupadd --system scanlogd 2>/dev/null || true
	useradd --system --gid scanlogd --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin scanlogd
fi
# scanlogd-notify refuses root: the tests run it as this account, as the packages do.
if ! getent passwd scanlogd-notify >/dev/null; then
	groupadd --system scanlogd-notify 2>/dev/null || true
	useradd --system --gid scanlogd-notify --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin scanlogd-notify
fi
# Ours chroots to /var/empty; Debian's build of the reference to /run/scanlogd/empty.
install -d -o root -g root -m 0755 /var/empty /run/scanlogd /run/scanlogd/empty

if [ ! -x .reference/usr/sbin/scanlogd ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && { apt-get download scanlogd >/dev/null 2>&1 || { apt-get update -qq && apt-get download scanlogd >/dev/null 2>&1; }; })
	version=$(dpkg-deb -f "$tmp"/scanlogd_*.deb Version)
	case "$version" in
	2.2.8*) ;;
	*) echo "test-setup: Debian offers scanlogd $version, the differential tests expect 2.2.8" >&2; exit 1 ;;
	esac
	rm -rf .reference
	dpkg-deb -x "$tmp"/scanlogd_*.deb .reference
	rm -rf "$tmp"
	echo "test-setup: reference scanlogd $version unpacked in .reference/"
fi
