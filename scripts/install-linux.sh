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
#   user and group onedrive-agent           a system account the service runs as,
#                                           created when missing (no login shell)
#   /usr/local/bin/onedrive-agent           the binary (0755), replaced atomically
#   /etc/onedrive-agent                     0750 root:onedrive-agent
#   /etc/onedrive-agent/agent.toml          a minimal configuration, only if absent
#                                           (0640 root:onedrive-agent)
#   /etc/onedrive-agent/agent.toml.example  every key, when the release has the file
#   /etc/onedrive-agent/secrets             secret files for *_file keys: the folder 0700,
#                                           each file 0600, all owned by onedrive-agent
#   /etc/default/onedrive-agent             variables for the service, 0600 root:root
#   /var/lib/onedrive-agent                 data directory, 0700 onedrive-agent (also
#                                           what an older, root-run install left there)
#   onedrive-agent install -c /etc/onedrive-agent/agent.toml
#
# Variables for ${NAME} references in agent.toml go to /etc/default/onedrive-agent
# (NAME=value lines); the service reads that file, and so does this script.
# Secrets are better kept as files: put each in /etc/onedrive-agent/secrets/
# and name it with a *_file key (client_secret_file = "secrets/client_secret").
#
# The service runs as onedrive-agent. Run the other commands as that user too,
# since they open the same database: sudo -u onedrive-agent onedrive-agent status
#
# ONEDRIVE_AGENT_BIN, _CONF_DIR, _DATA_DIR, _DEFAULTS and _USER change the
# paths and the account (for tests).
set -euo pipefail

NAME=onedrive-agent
BIN=${ONEDRIVE_AGENT_BIN:-/usr/local/bin/$NAME}
CONF_DIR=${ONEDRIVE_AGENT_CONF_DIR:-/etc/$NAME}
CONF=$CONF_DIR/agent.toml
SECRETS_DIR=$CONF_DIR/secrets
DATA_DIR=${ONEDRIVE_AGENT_DATA_DIR:-/var/lib/$NAME}
DEFAULTS=${ONEDRIVE_AGENT_DEFAULTS:-/etc/default/$NAME}
SERVICE_USER=${ONEDRIVE_AGENT_USER:-$NAME}

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
for f in "$DEFAULTS" "/etc/sysconfig/$NAME"; do
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

# The account the service runs as.
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	[ -x "$nologin" ] || nologin=/bin/false
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell "$nologin" "$SERVICE_USER"
	elif command -v adduser >/dev/null 2>&1; then
		adduser --system --group --home "$DATA_DIR" --no-create-home --shell "$nologin" "$SERVICE_USER"
	else
		die "no useradd or adduser: create the system user $SERVICE_USER, then run this script again"
	fi
	say "created the system user $SERVICE_USER"
fi
SERVICE_GROUP=$(id -gn "$SERVICE_USER")

# Configuration directory and file. The file may hold client secrets and
# signature keys: root writes it, the service's group reads it.
if [ ! -d "$CONF_DIR" ]; then
	install -d -m 0750 "$CONF_DIR"
	say "created $CONF_DIR (0750)"
fi
chown "root:$SERVICE_GROUP" "$CONF_DIR"
chmod 0750 "$CONF_DIR"
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
	say "created $CONF, a minimal configuration: edit it before starting the service"
fi
chown "root:$SERVICE_GROUP" "$CONF"
chmod 0640 "$CONF"

# Secret files: readable by the service only.
if [ ! -d "$SECRETS_DIR" ]; then
	say "created $SECRETS_DIR (0700 $SERVICE_USER): one file per secret, named by *_file keys"
fi
install -d -m 0700 "$SECRETS_DIR"
chown -R "$SERVICE_USER:$SERVICE_GROUP" "$SECRETS_DIR"
chmod 0700 "$SECRETS_DIR"
find "$SECRETS_DIR" -mindepth 1 -type f -exec chmod 0600 {} +

# Variables for the service: may hold secrets, root only.
if [ ! -e "$DEFAULTS" ]; then
	mkdir -p "$(dirname "$DEFAULTS")"
	(
		umask 077
		cat >"$DEFAULTS" <<'EOF'
# Variables for ${NAME} references in /etc/onedrive-agent/agent.toml, one
# NAME=value a line. Read by the service only (0600 root). Secrets are better
# kept as files in /etc/onedrive-agent/secrets (see *_file keys).
EOF
	)
	say "created $DEFAULTS (0600)"
fi
chown root:root "$DEFAULTS"
chmod 0600 "$DEFAULTS"

# Data directory: database and admin token, the service user's alone (also
# what an install that ran the service as root left there).
if [ -d "$DATA_DIR" ]; then
	say "kept the existing $DATA_DIR"
else
	say "created $DATA_DIR (0700 $SERVICE_USER)"
fi
install -d -m 0700 "$DATA_DIR"
chown -R "$SERVICE_USER:$SERVICE_GROUP" "$DATA_DIR"
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
     Secrets: one file each in $SECRETS_DIR (owned by $SERVICE_USER, 0600), named
     by a *_file key, e.g. client_secret_file = "secrets/client_secret"; or
     NAME=value lines in $DEFAULTS, referenced as \${NAME}.
  2. Check it:      sudo -u $SERVICE_USER $NAME check -c $CONF
  3. Sign in:       sudo -u $SERVICE_USER $NAME login -c $CONF INSTANCE
  4. Start it:      $NAME start
  5. Status:        sudo -u $SERVICE_USER $NAME status -c $CONF
EOF
if [ -d /run/systemd/system ]; then
	say "     Logs:         journalctl -u $NAME -f"
else
	say "     Logs:         /var/log/$NAME.log"
fi
