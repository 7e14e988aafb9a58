# shellcheck shell=bash
# Shared by the ssh-bastion host scripts: settings, logging, fixed names. The fixed names are
# exported: the Python programs started through with-settings read them from their environment.
# A library, sourced (`. /usr/local/libexec/ssh-bastion/lib.sh`), never run: it is not executable.

declare -rx WORKER_IMAGE_TAG=ssh-bastion-worker:current
declare -rx WORKER_RECIPE_DIR=/opt/ssh-bastion/worker
declare -rx CONTAINER_NETWORK=ssh-bastion
declare -rx CONTAINER_BRIDGE=ssh-bastion0
declare -rx HOST_KEY_DIR=/etc/ssh-bastion/host-keys
declare -rx HOST_KEY="$HOST_KEY_DIR/ssh_host_ed25519_key"
declare -rx KEYS_SOCKET_DIR=/run/ssh-bastion/keys
declare -rx KEYS_SOCKET="$KEYS_SOCKET_DIR/keys.sock"
# The key lookup service's socket for one session is <this>/<session>/keys.sock; only that
# directory is mounted in the session's container, at KEYS_SOCKET_DIR. The main socket is the host's.
declare -rx KEYS_SESSIONS_DIR="$KEYS_SOCKET_DIR/sessions"
declare -rx METADATA_ADDRESS=169.254.169.254
declare -rx LIBEXEC_DIR=/usr/local/libexec/ssh-bastion
# Per-session directories holding the socket through which a session's container receives its
# connection; each is mounted read-only at CONTAINER_HANDOFF_DIR (the worker's receive-connection).
declare -rx SESSIONS_DIR=/run/ssh-bastion/sessions
declare -rx CONTAINER_HANDOFF_DIR=/run/ssh-bastion/session
declare -rx HANDOFF_SOCKET_NAME=handoff.sock
declare -rx HANDOFF_SECONDS=60
# From the hand-off until the container's sshd opens the host key (the entrypoint runs first).
declare -rx HOST_KEY_SECONDS=180
# The systemd slice of every session container (docker --cgroup-parent); its memory ceiling is set
# by setup-units from the instance's memory.
declare -rx SESSIONS_SLICE=ssh_bastion_sessions.slice

# Writes one tagged line to stderr (the journal, or cloud-init's log during set-up).
# Reads: $0 (the script's name, in the tag). Sets: nothing.
log() {
  printf 'ssh-bastion: %s: %s\n' "${0##*/}" "$*" >&2
}

# Logs an error and ends the script with status 1.
# Reads: $0 (through log). Sets: nothing.
die() {
  log "ERROR: $*"
  exit 1
}

# Reads bastion.env (KEY=VALUE, no quoting) and fills in the defaults of unset values.
# Reads: BASTION_ENV_FILE (where bastion.env is; default /etc/ssh-bastion/bastion.env).
# Sets: every variable of bastion.env, exported; the BASTION_* settings it lacks below, with their
# defaults, not exported (with-settings exports them all).
load_settings() {
  local file="${BASTION_ENV_FILE:-/etc/ssh-bastion/bastion.env}"
  [[ -r "$file" ]] || die "settings file $file is missing"
  set -a
  # shellcheck source=/dev/null # bastion.env is written at boot from the inputs; not in the repository
  . "$file"
  set +a
  : "${BASTION_SERVICE_PORT:=22}" "${BASTION_ADMIN_PORT:=2222}" "${BASTION_HEALTH_PORT:=2224}"
  : "${BASTION_SESSION_MAX_SECONDS:=43200}" "${BASTION_HOST_KEY_PARAMETER:=}"
  : "${BASTION_WORKER_BASE_IMAGE:=public.ecr.aws/docker/library/ubuntu:24.04}" "${BASTION_WORKER_IMAGE:=}"
  : "${BASTION_CONTAINER_MEMORY_MB:=512}" "${BASTION_CONTAINER_PIDS:=256}" "${BASTION_CONTAINER_CPUS:=1}"
  : "${BASTION_SESSION_DISK_MB:=256}" "${BASTION_HOST_MEMORY_RESERVE_MB:=}"
  : "${BASTION_MAX_CONNECTIONS_PER_SOURCE:=10}" "${BASTION_TUNNEL_ONLY:=false}" "${BASTION_ALLOW_AGENT_FORWARDING:=false}"
  : "${BASTION_HOSTNAME_PREFIX:=bastion}" "${BASTION_LOGIN_GRACE_SECONDS:=20}" "${BASTION_NEW_CONNECTIONS_PER_MINUTE:=30}"
  : "${BASTION_READY_SESSIONS:=2}" "${BASTION_RECORDING_BUCKET:=}"
  # The socket on which the front hands connections on (ssh-bastion.socket); not a user setting.
  : "${BASTION_SESSION_SOCKET:=/run/ssh-bastion/session.sock}"
  # The front's counts (sessions, waiting connections), rewritten every few seconds; not a user setting.
  : "${BASTION_FRONT_STATUS:=/run/ssh-bastion/front-status.json}"
  : "${BASTION_DRAIN_TIMEOUT_SECONDS:=$BASTION_SESSION_MAX_SECONDS}" "${BASTION_GROUP_NAME_PARAMETER:=}"
}

# What one session is budgeted on average when the host's session cap is derived from its memory:
# an idle session with a shell takes about 12 MiB with its session program and docker's shim
# (docs/benchmarks.md), a busy one more.
declare -rx SESSION_BUDGET_MB=16

# Sets total_mb (the instance's memory), reserve_mb (kept for the host: BASTION_HOST_MEMORY_RESERVE_MB,
# or a fifth of the memory, at least 512), sessions_mb (what all sessions share, the slice's
# MemoryMax) and exports the host's caps derived from them: BASTION_MAX_SESSIONS (one per
# SESSION_BUDGET_MB of the sessions' memory, at least 1) and BASTION_MAX_WAITING (connections
# waiting for their identification line, a few KiB each: one per MiB of memory).
# Reads: /proc/meminfo, BASTION_HOST_MEMORY_RESERVE_MB (load_settings), SESSION_BUDGET_MB.
# Sets: total_mb, reserve_mb, sessions_mb; BASTION_MAX_SESSIONS, BASTION_MAX_WAITING (exported).
derive_limits() {
  total_mb=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024))
  reserve_mb="${BASTION_HOST_MEMORY_RESERVE_MB:-$((total_mb / 5 > 512 ? total_mb / 5 : 512))}"
  sessions_mb=$((total_mb - reserve_mb))
  BASTION_MAX_SESSIONS=$((sessions_mb / SESSION_BUDGET_MB > 1 ? sessions_mb / SESSION_BUDGET_MB : 1))
  BASTION_MAX_WAITING=$((total_mb > 64 ? total_mb : 64))
  export BASTION_MAX_SESSIONS BASTION_MAX_WAITING
}

# Asks the key lookup service one question (USERS, KEYS <user> <id>); python3 is on every AL2023 host.
# Prints the answer. Reads: KEYS_SOCKET. Sets: nothing.
keys_request() {
  python3 - "$KEYS_SOCKET" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
while True:
    data = s.recv(65536)
    if not data:
        break
    sys.stdout.buffer.write(data)
EOF
}

# The audit shipper's inbox (ssh-bastion-audit.socket) and the netfilter log group of the sessions'
# TCP connections and other flows (setup-container-image's NFLOG rules, which the shipper reads).
declare -rx AUDIT_SOCKET=/run/ssh-bastion/audit.sock
declare -rx AUDIT_NFLOG_GROUP=14
# New TCP connections a session container may open through the host (setup-container-image's
# rules, before the NFLOG rule): per second with a burst, and tracked at once; over that they are
# dropped (the client sees a timeout) and the audit log gets one tcp.limited event per 10 s. New
# UDP and other flows have the same numbers of their own (udp.limited, icmp.limited, ...).
declare -rx SESSION_TCP_NEW_PER_SECOND=50 SESSION_TCP_BURST=200 SESSION_TCP_OPEN_MAX=512
declare -rx TCP_LIMITED_CHAIN=SSH-BASTION-LIMITED

# Every session container carries this label (its name is random: docker's DNS, which every
# session can ask, tells nothing about other sessions). The session program's start line maps the
# name to the client; SESSION_UNITS_DIR/<unit instance> holds the name of that unit's container.
declare -rx SESSION_LABEL=ssh-bastion.session
declare -rx SESSION_UNITS_DIR=/run/ssh-bastion/units
# SESSION_LOGINS_DIR/<unit instance>: that session has logged in (sshd accepted a key); the drainer
# publishes SessionsOpen from these, so connections that never log in do not scale the group.
declare -rx SESSION_LOGINS_DIR=/run/ssh-bastion/logins
# Made by the drainer when the instance is leaving its Auto Scaling group (JSON: since when, whether
# the users were told): the front refuses new connections and the health check fails while it exists.
declare -rx DRAINING_FILE=/run/ssh-bastion/draining
