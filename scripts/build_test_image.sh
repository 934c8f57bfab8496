#!/usr/bin/env bash
# Build the test guest: a Debian cloud kernel and a busybox initramfs, from
# Debian packages only (apt-get download + dpkg -x; nothing else is fetched).
#
# The initramfs's init loads the virtio, IDE-cdrom and iso9660 modules,
# mounts the config drive (label config-2) and prints to the serial console
#   instance-id=<uuid>, hostname=<name>, user_data=<first line>,
#   MemTotal=<kB>, ip=<address>
# (and, when the server's metadata names a "ping" address, whether it
# answers), then keeps a shell on the console.  Output: <build dir>/vmlinuz and
# <build dir>/initrd.img (default build dir: build/test-image).  Cached:
# a second run with the same kernel package and init does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/test-image}")
mkdir -p "$out"

need=()
command -v busybox >/dev/null || [ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if [ "${#need[@]}" -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
busybox=$(command -v busybox || echo /bin/busybox)
if ! file -L "$busybox" 2>/dev/null | grep -q static && ! ldd "$busybox" 2>&1 | grep -q "not a dynamic"; then
  echo "build_test_image: $busybox is not static; install busybox-static" >&2
  exit 1
fi

# The cloud kernel the meta-package points at today.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "build_test_image: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }

script_digest=$(sha256sum "$0" | cut -c1-16)
stamp="$out/.stamp"
want="$kpkg $script_digest"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
  echo "build_test_image: up to date in $out"
  exit 0
fi

work="$out/work"
rm -rf "$work"
mkdir -p "$work/deb" "$work/root"
if ! ls "$out"/"$kpkg"_*.deb >/dev/null 2>&1; then
  (cd "$out" && apt-get download "$kpkg" 2>/dev/null)
fi
dpkg -x "$out"/"$kpkg"_*.deb "$work/deb"
kver=$(ls "$work/deb/lib/modules")

root="$work/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,mnt/config,tmp,etc,modules,var/run,var/log}
cp "$busybox" "$root/bin/busybox"

# The modules the guest needs, with their dependencies, in load order.
python3 - "$work/deb/lib/modules/$kver" "$root/modules" <<'EOF'
import lzma, pathlib, re, shutil, sys
moddir, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
files = {}
for p in moddir.rglob("*.ko*"):
    files[re.sub(r"\.ko(\.xz)?$", "", p.name).replace("-", "_")] = p
wanted = ["virtio_pci", "virtio_blk", "virtio_net", "virtio_scsi", "virtio_console",
          "ata_piix", "sr_mod", "isofs", "button", "evdev"]
order, seen = [], set()
def data(p):
    raw = p.read_bytes()
    return lzma.decompress(raw) if p.name.endswith(".xz") else raw
def visit(name):
    if name in seen or name not in files:
        return
    seen.add(name)
    m = re.search(rb"depends=([^\x00]*)", data(files[name]))
    for dep in (m.group(1).decode().split(",") if m and m.group(1) else []):
        visit(dep.replace("-", "_"))
    order.append(name)
for w in wanted:
    visit(w)
for name in order:
    (dest / f"{name}.ko").write_bytes(data(files[name]))
(dest / "load").write_text("\n".join(order) + "\n")
EOF

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
# novaflow test guest: report what the config drive says, then keep a shell.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/load); do insmod /modules/$m.ko 2>/dev/null; done
echo "novaflow-guest: booting"
found=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  for dev in /dev/sr0 /dev/sr1 /dev/vdb /dev/vdc /dev/hdc /dev/hdd; do
    [ -b "$dev" ] || continue
    if mount -t iso9660 -o ro "$dev" /mnt/config 2>/dev/null; then
      if [ -f /mnt/config/openstack/latest/meta_data.json ]; then found=$dev; break 2; fi
      umount /mnt/config
    fi
  done
  sleep 0.5
done
md=/mnt/config/openstack/latest/meta_data.json
jget() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2" | head -n1; }
if [ -n "$found" ]; then
  uuid=$(jget uuid $md)
  host=$(jget hostname $md)
  ip=$(jget ip_address /mnt/config/openstack/latest/network_data.json)
  mask=$(jget netmask /mnt/config/openstack/latest/network_data.json)
  mac=$(jget ethernet_mac_address /mnt/config/openstack/latest/network_data.json)
  ud=""
  [ -f /mnt/config/openstack/latest/user_data ] && ud=$(head -n1 /mnt/config/openstack/latest/user_data)
else
  uuid=none; host=none; ip=none; ud=""
fi
hostname "$host" 2>/dev/null
ifc=""
for n in /sys/class/net/*; do
  [ "$(cat $n/address 2>/dev/null)" = "$mac" ] && ifc=$(basename $n)
done
if [ -n "$ifc" ] && [ "$ip" != "none" ]; then
  ip link set lo up
  ip link set "$ifc" up
  eval "$(ipcalc -p "$ip" "${mask:-255.255.255.0}")"  # sets PREFIX
  ip addr add "$ip/${PREFIX:-24}" dev "$ifc"
fi
echo "instance-id=$uuid"
echo "hostname=$host"
echo "user_data=$ud"
echo "MemTotal=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "ip=$ip"
echo "net: ${ifc:-no interface with mac $mac} $(ip -o -4 addr show ${ifc:-lo} 2>&1 | head -n1)"
# Server metadata "ping": an address on the guest's network to reach (two
# guests on one network must see each other).
target=""
[ -n "$found" ] && target=$(jget ping $md)
if [ -n "$target" ]; then
  res=failed
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    if ping -c 1 -W 1 "$target" >/dev/null 2>&1; then res=ok; break; fi
  done
  echo "ping $target: $res"
fi
echo "novaflow-guest: ready"
# A shell on the console for as long as the guest runs; poweroff on ACPI.
mkdir -p /var/run /var/log  # acpid exits without them
acpid -c /etc/acpi -l /dev/null
while true; do setsid cttyhack sh -l 2>/dev/null || sh; done
EOF
chmod +x "$root/init"
# busybox acpid runs /etc/acpi/<action> on the ACPI power button: power off,
# so a stop (ACPI shutdown) does not wait for its timeout.
mkdir -p "$root/etc/acpi/PWRF"
printf '#!/bin/sh\necho "novaflow-guest: powering off" > /dev/console\nsync\npoweroff -f\n' \
  > "$root/etc/acpi/PWRF/00000080"
chmod +x "$root/etc/acpi/PWRF/00000080"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img.tmp"
cp "$work/deb/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
rm -rf "$work"
echo "$want" > "$stamp"
echo "build_test_image: built $out/vmlinuz and $out/initrd.img ($kver)"
