#!/usr/bin/env bash
# Prepare a fresh Debian machine for novaflow: the Debian packages that
# libvirt-python needs to build, those real guests need (QEMU, libvirtd,
# genisoimage; busybox-static and cpio for the test image), plus, with --dev,
# the tools the tests call, then a .venv with the project installed.  Idempotent and quick when nothing
# changed: the venv is only reinstalled when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "bootstrap: installing Debian packages: $*"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

want=(libvirt-dev pkg-config gcc)
# Real guests (`novaflow up --virt qemu`, tests/realvm); libvirtd itself is
# started by novaflow when its socket is absent (no systemd here).
want+=(qemu-system-x86 qemu-utils libvirt-daemon-system genisoimage busybox-static cpio)
if [ "${1:-}" = "--dev" ]; then
  # postgresql: the tests start a throwaway server to run on PostgreSQL too.
  want+=(docker-compose postgresql)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] && ! "$python" -c "import ensurepip, venv" 2>/dev/null; then
  apt_install python3-venv  # Debian's own python3 ships venv support apart
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.novaflow-installed
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "bootstrap: installing novaflow and its dependencies into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  echo "$digest" > "$stamp"
fi

# Keystone and Glance pin OpenStack libraries that clash with ours: they get a
# venv of their own (one release, 2026.2, so they share it), reinstalled only
# when their pins change.  Glance adds ~40 s to a first bootstrap.
openstack_pins="keystone==30.0.0 glance==33.0.0 gunicorn==27.0.1"
if [ ! -x .venv-openstack/bin/python ]; then
  echo "bootstrap: creating .venv-openstack (Keystone, Glance)"
  "$python" -m venv .venv-openstack
fi
ostamp=.venv-openstack/.novaflow-installed
if [ ! -f "$ostamp" ] || [ "$(cat "$ostamp")" != "$openstack_pins" ]; then
  echo "bootstrap: installing $openstack_pins into .venv-openstack"
  .venv-openstack/bin/pip install -q --upgrade pip
  # shellcheck disable=SC2086
  .venv-openstack/bin/pip install -q $openstack_pins
  echo "$openstack_pins" > "$ostamp"
fi
