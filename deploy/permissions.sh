#!/bin/sh
# Give the service user what the agent needs, and no one else anything:
#   sudo sh deploy/permissions.sh [USER] [CONFIG_DIR] [STATE_DIR]
# (defaults: health-agent, /etc/health-agent, /var/lib/health-agent)
#
# CONFIG_DIR (config.toml, the Google key, playbooks/): owned by root, so the agent
#   cannot change its own config; readable by the service user's group only
#   (folders 750, files 640).
# CONFIG_DIR/env (the SMTP password): root only (600); systemd reads it for the unit.
# STATE_DIR (ledger, lock, outbox, a local workbook): the service user's alone (700).
set -eu
user=${1:-health-agent}
config_dir=${2:-/etc/health-agent}
state_dir=${3:-/var/lib/health-agent}
group=$(id -gn "$user")

chown -R "root:$group" "$config_dir"
find "$config_dir" -type d -exec chmod 750 {} +
find "$config_dir" -type f -exec chmod 640 {} +
if [ -f "$config_dir/env" ]; then
    chown root:root "$config_dir/env"
    chmod 600 "$config_dir/env"
fi

mkdir -p "$state_dir"
chown -R "$user:$group" "$state_dir"
chmod 700 "$state_dir"
