#!/usr/bin/env bash
# Installs onedrive-agent as a system service on Linux (systemd, or SysV init
# where no systemd runs). Safe to run again, e.g. to upgrade the binary: the
# configuration and the data are kept, the service definition is rewritten,
# and a service that was running is started again.
#
#   sudo ./install-linux.sh [PATH/TO/onedrive-agent]
#
# Without an argument the binary is looked for next to this script, one
# folder up, and in the current directory.
#
# What it does:
#   onedrive-agent check -c /etc/onedrive-agent/agent.toml    if the file exists;
#                                           nothing is changed when it fails
#   /usr/local/bin/onedrive-agent           the binary (0755), replaced atomically
#   /etc/onedrive-agent/agent.toml          a minimal configuration, only if absent (0640)
#   /etc/onedrive-agent/agent.toml.example  every key, when the release has the file
#   /var/lib/onedrive-agent                 data directory (0700)
#   onedrive-agent install -c /etc/onedrive-agent/agent.toml
#
# Variables for ${NAME} references in agent.toml go to /etc/default/onedrive-agent
# (NAME=value lines); the service reads that file, and so does this script.
#
# The service runs as root, like the command line (`onedrive-agent login`,
# `status`, `dead` ...), because both open the same database in the data
# directory; a dedicated user would need every command run as that user.
set -euo pipefail

NAME=onedrive-agent
BIN=/usr/local/bin/$NAME
CONF_DIR=/etc/$NAME
CONF=$CONF_DIR/agent.toml
DATA_DIR=/var/lib/$NAME

say() { printf '%s\n' "$*"; }
die() {
	printf 'install-linux.sh: %s\n' "$*" >&2
	exit 1
}

case "${1:-}" in
-h | --help)
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
	exit 0
	;;
esac

[ "$(id -u)" -eq 0 ] || die "run it as root, e.g. sudo $0 $*"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The binary to install.
src=${1:-}
if [ -z "$src" ]; then
	for c in "$script_dir/$NAME" "$script_dir/../$NAME" "./$NAME"; do
		if [ -f "$c" ]; then
			src=$c
			break
		fi
	done
fi
[ -n "$src" ] || die "no $NAME binary found next to the script or in $(pwd); pass its path: sudo $0 /path/to/$NAME"
[ -f "$src" ] || die "$src: no such file"
version=$("$src" version 2>/dev/null) || die "$src does not run on this machine (another CPU architecture or OS?)"

# The environment the service gets, so that ${NAME} references resolve here
# as they will in the service.
for f in "/etc/default/$NAME" "/etc/sysconfig/$NAME"; do
	if [ -r "$f" ]; then
		set -a
		# shellcheck source=/dev/null
		. "$f"
		set +a
	fi
done

# An existing configuration must suit the new binary before anything is
# touched: `install` refuses a configuration the service could not start with.
if [ -e "$CONF" ]; then
	"$src" check -c "$CONF" >/dev/null ||
		die "$CONF is not valid for $version (see above); fix it and run this script again. Nothing was changed."
	say "checked $CONF"
fi

# The service definition, wherever the init system keeps it.
installed=""
for d in "/etc/systemd/system/$NAME.service" "/etc/init.d/$NAME" "/etc/init/$NAME.conf"; do
	if [ -e "$d" ]; then
		installed=$d
		break
	fi
done

is_running() {
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl is-active --quiet "$NAME.service"
	elif [ -x "/etc/init.d/$NAME" ]; then
		"/etc/init.d/$NAME" status >/dev/null 2>&1
	else
		return 1
	fi
}

was_running=no
if [ -n "$installed" ] && is_running; then
	was_running=yes
	if [ -x "$BIN" ]; then
		"$BIN" stop
	elif command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl stop "$NAME.service"
	else
		"/etc/init.d/$NAME" stop
	fi
	say "stopped the running $NAME service"
fi

# Binary: copy beside the target and rename, so a running copy is never
# overwritten in place.
if [ "$(readlink -f "$src")" = "$(readlink -f "$BIN" 2>/dev/null || true)" ]; then
	say "kept $BIN ($version): it is the binary being installed"
else
	mkdir -p "$(dirname "$BIN")"
	tmp="$BIN.new.$$"
	install -m 0755 "$src" "$tmp"
	mv -f "$tmp" "$BIN"
	say "installed $BIN ($version)"
fi

# Configuration directory and file. The file holds client secrets and
# signature keys: readable by root only (0640 root:root).
if [ ! -d "$CONF_DIR" ]; then
	install -d -m 0750 "$CONF_DIR"
	say "created $CONF_DIR (0750)"
fi
example=""
for c in "$script_dir/agent.toml.example" "$script_dir/../agent.toml.example" "./agent.toml.example"; do
	if [ -f "$c" ]; then
		example=$c
		break
	fi
done
if [ -n "$example" ]; then
	install -m 0640 "$example" "$CONF.example"
	say "installed $CONF.example (every key, with its default)"
fi
if [ -e "$CONF" ]; then
	say "kept the existing $CONF"
else
	# Minimal but valid, so that the service can be installed now; the
	# full example references secrets in variables not set yet.
	(
		umask 027
		cat >"$CONF" <<'EOF'
# onedrive-agent configuration. Every key and its default: agent.toml.example
# beside this file or in the release archive. Secrets may come from the
# environment as ${NAME} (set them in /etc/default/onedrive-agent) or from
# files (<key>_file = "path").
data_dir = "/var/lib/onedrive-agent"

[[instance]]
name = "example"

[instance.auth]
client_id = "REPLACE-with-the-application-client-id"

[instance.callback]
url = "https://REPLACE-with-your-receiver.example/onedrive"
EOF
	)
	chown root:root "$CONF"
	chmod 0640 "$CONF"
	say "created $CONF (0640), a minimal configuration: edit it before starting the service"
fi

# Data directory: database and admin token.
if [ -d "$DATA_DIR" ]; then
	say "kept the existing $DATA_DIR"
else
	say "created $DATA_DIR (0700)"
fi
install -d -m 0700 "$DATA_DIR"
chmod 0700 "$DATA_DIR"

# Service definition: rewritten so that it matches this version.
if [ -n "$installed" ]; then
	"$BIN" uninstall
	say "removed the old service definition $installed"
fi
"$BIN" install -c "$CONF"
say "installed the $NAME service (runs: $BIN run -c $CONF)"

if [ "$was_running" = yes ]; then
	"$BIN" start
	say "started $NAME again"
	exit 0
fi

cat <<EOF

Next steps:
  1. Edit $CONF (client_id, callback url, ...).
     Secrets can go to /etc/default/$NAME as NAME=value, referenced as \${NAME}.
  2. Check it:      $NAME check -c $CONF
  3. Sign in:       $NAME login -c $CONF INSTANCE
  4. Start it:      $NAME start
EOF
if [ -d /run/systemd/system ]; then
	say "     Logs:         journalctl -u $NAME -f"
else
	say "     Logs:         /var/log/$NAME.log"
fi
