#!/bin/sh
# The servers the whole test suite runs against: PostgreSQL and Dovecot (IMAP), from Debian's
# packages. Used by `make test` and by `.ci/run`, so both get them the same way:
#   - already installed: nothing to do;
#   - missing, and we are root or have passwordless sudo: apt-get installs them;
#   - missing otherwise: one sentence saying what to install and how, exit 1.
# Extra Debian packages to install along (e.g. `make python3-venv` for CI) may be given as
# arguments; they are installed only when something has to be installed anyway or when
# they are missing as commands.
set -eu

PACKAGES="postgresql dovecot-imapd"
ALL="$PACKAGES${*:+ $*}"

have_services() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -x /usr/sbin/dovecot ]
}

missing_extra() {
  for pkg in "$@"; do
    case "$pkg" in
      python3-venv) python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || return 0 ;;
      systemd) command -v systemd-analyze >/dev/null 2>&1 || return 0 ;;
      *) command -v "$pkg" >/dev/null 2>&1 || return 0 ;;
    esac
  done
  return 1
}

if have_services && ! missing_extra "$@"; then
  exit 0
fi

if [ "$(id -u)" = "0" ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "The tests need PostgreSQL and Dovecot: install them with \`sudo apt-get install $ALL\` (or as root), then run the tests again." >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need PostgreSQL (server binaries, initdb) and Dovecot (IMAP): install them with your system's package manager, then run the tests again." >&2
  exit 1
fi

echo "Installing the test services with apt-get: $ALL"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES "$@" >/dev/null

if ! have_services; then
  echo "PostgreSQL or Dovecot is still missing after apt-get install $PACKAGES: check the apt output above." >&2
  exit 1
fi
