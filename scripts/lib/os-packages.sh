#!/usr/bin/env bash
# Sourced by the ensure-*.sh scripts: install Debian packages when we may (root with apt-get), else say how.
# Usage: install_os_packages "what it is for" package [package ...]   (returns 1 when it could not install)

install_os_packages() {
  local what="$1"; shift
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "==> installing $what from the OS packages (apt-get install $*)"
    export DEBIAN_FRONTEND=noninteractive
    # Waits for another apt-get (a parallel checkout's ensure script) instead of failing on its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    # --no-install-recommends: no system services are wanted; the tests start their own servers.
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
    return 0
  fi
  return 1
}
