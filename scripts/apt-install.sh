#!/usr/bin/env bash
# apt-install.sh PACKAGE...: install Debian packages (as root, or through sudo), quietly,
# with a clear message when that is not possible here. Progress goes to stderr.
set -euo pipefail
log() { echo "apt-install: $*" >&2; }
[ $# -gt 0 ] || exit 0
if ! command -v apt-get >/dev/null; then log "cannot install $*: no apt-get on this machine"; exit 1; fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { log "cannot install $*: run as root, or install them yourself"; exit 1; }
  sudo=(sudo)
fi
log "installing $* from Debian's packages"
"${sudo[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
