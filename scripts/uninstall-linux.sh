#!/usr/bin/env bash
# Removes the onedrive-agent service and binary from Linux. Safe to run again.
#
#   sudo ./uninstall-linux.sh [--purge]
#
# The configuration (/etc/onedrive-agent) and the data (/var/lib/onedrive-agent:
# database with queued events and tokens, admin token) and the onedrive-agent
# account are kept unless --purge is given. Events still queued are lost with --purge.
set -euo pipefail

NAME=onedrive-agent
BIN=/usr/local/bin/$NAME
CONF_DIR=/etc/$NAME
DATA_DIR=/var/lib/$NAME

say() { printf '%s\n' "$*"; }
die() {
	printf 'uninstall-linux.sh: %s\n' "$*" >&2
	exit 1
}

purge=no
for a in "$@"; do
	case "$a" in
	--purge) purge=yes ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*) die "unknown argument $a (usage: $0 [--purge])" ;;
	esac
done

[ "$(id -u)" -eq 0 ] || die "run it as root, e.g. sudo $0 $*"

systemd_runs() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

unit=/etc/systemd/system/$NAME.service
initscript=/etc/init.d/$NAME
upstart=/etc/init/$NAME.conf

if [ ! -e "$unit" ] && [ ! -e "$initscript" ] && [ ! -e "$upstart" ]; then
	say "the $NAME service is not installed"
elif [ -x "$BIN" ] && "$BIN" uninstall; then
	# The agent stops the service before removing its definition.
	say "stopped and removed the $NAME service"
else
	# No working binary: remove what `onedrive-agent install` wrote by hand.
	say "removing the $NAME service without the binary"
	if [ -e "$unit" ]; then
		if systemd_runs; then
			systemctl disable --now "$NAME.service" || true
		fi
		rm -f "$unit"
		if systemd_runs; then
			systemctl daemon-reload
			systemctl reset-failed "$NAME.service" 2>/dev/null || true
		fi
		say "removed $unit"
	fi
	if [ -e "$initscript" ]; then
		"$initscript" stop || true
		rm -f "$initscript"
		for l in /etc/rc[0-6S].d/[SK][0-9][0-9]"$NAME"; do
			if [ -L "$l" ]; then
				rm -f "$l"
			fi
		done
		say "removed $initscript and its runlevel links"
	fi
	if [ -e "$upstart" ]; then
		if command -v initctl >/dev/null 2>&1; then
			initctl stop "$NAME" || true
		fi
		rm -f "$upstart"
		say "removed $upstart"
	fi
fi

if [ -e "$BIN" ]; then
	rm -f "$BIN"
	say "removed $BIN"
else
	say "$BIN is already gone"
fi

if [ "$purge" = yes ]; then
	for p in "$CONF_DIR" "$DATA_DIR" "/var/log/$NAME.log" "/var/log/$NAME.log.1" "/etc/default/$NAME" "/etc/logrotate.d/$NAME"; do
		if [ -e "$p" ]; then
			rm -rf -- "$p"
			say "removed $p"
		fi
	done
	# The account the service ran as (created by install-linux.sh).
	if id -u "$NAME" >/dev/null 2>&1 && command -v userdel >/dev/null 2>&1; then
		userdel "$NAME" && say "removed the system user $NAME"
	fi
else
	for p in "$CONF_DIR" "$DATA_DIR"; do
		if [ -e "$p" ]; then
			say "kept $p (remove it with --purge)"
		fi
	done
fi
