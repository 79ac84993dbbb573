# Shared helpers for the scripts in this folder. Source it, do not run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets PACTUM_REPO (the checkout root, absolute) and PACTUM_HOME (default <repo>/.pactum).
# shellcheck shell=bash

PACTUM_REPO="$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
PACTUM_HOME="${PACTUM_HOME:-$PACTUM_REPO/.pactum}"
case "$PACTUM_HOME" in
  /*) ;;
  *) PACTUM_HOME="$PWD/$PACTUM_HOME" ;;
esac
export PACTUM_HOME

_pactum_script_name="${0##*/}"

# Short progress line on stderr, prefixed with the script's name.
log() { printf '%s: %s\n' "$_pactum_script_name" "$*" >&2; }

die() {
  log "error: $*"
  exit 1
}

# Number of parallel build jobs.
pactum_jobs() { nproc 2>/dev/null || echo 2; }
