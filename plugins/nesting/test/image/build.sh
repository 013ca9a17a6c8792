#!/usr/bin/env bash
# Builds the nesting daemon's test guest image (a QEMU image directory, see plugins/nesting/README.md) from Debian
# packages: Debian's cloud kernel, an initramfs with busybox (static), Dropbear and the shared libraries it needs.
# The guest logs root in with the key pair written beside the image (id_ed25519); `nesting.nossh` on the kernel
# command line keeps Dropbear from starting (the tests' image whose VM never serves SSH).
#
# usage: build.sh [CACHE_ROOT]   (default $NESTING_IMAGE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/fleetrunner/nesting-image)
# Prints the image directory. Cached: the output lives under this script's hash, so it is built once and a second
# run only prints the path, without asking apt anything (the package versions used are in packages.txt). Needs dpkg-deb, apt-get (apt lists; as root it
# runs `apt-get update` when they are missing), ssh-keygen, gzip, flock.
set -euo pipefail
cache_root=${1:-${NESTING_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetrunner/nesting-image}}
mkdir -p "$cache_root"
script_hash=$(sha256sum "$0" | cut -c1-12)

out="$cache_root/$script_hash/guest"
if [ -f "$out/image.json" ]; then
  echo "$out"
  exit 0
fi
exec 9>"$cache_root/.lock"
flock 9
if [ -f "$out/image.json" ]; then
  echo "$out"
  exit 0
fi

version_of() { apt-cache show --no-all-versions "$1" 2>/dev/null | awk '/^Version:/{print $2; exit}'; }
kernel_pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }

kpkg=$(kernel_pkg || true)
if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >&2
  kpkg=$(kernel_pkg)
fi
[ -n "$kpkg" ] || { echo "build.sh: apt knows no linux-image-cloud-amd64 (run apt-get update)" >&2; exit 1; }
pkgs=("$kpkg" busybox-static dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g)
pinned=()
for p in "${pkgs[@]}"; do
  v=$(version_of "$p")
  [ -n "$v" ] || { echo "build.sh: no version of $p in the apt lists" >&2; exit 1; }
  pinned+=("$p=$v")
done

work=$(mktemp -d "$cache_root/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# Exact versions: a glob or a bare name of a package with several versions in the lists would fetch them all.
(cd "$work" && apt-get download -qq "${pinned[@]}" 2>/dev/null) || (cd "$work" && apt-get download -q "${pinned[@]}" >&2)
mkdir x root
for deb in *.deb; do dpkg-deb -x "$deb" x; done

kver=${kpkg#linux-image-}
bb=x/bin/busybox
mkdir -p root/{bin,sbin,etc,proc,sys,dev,tmp,run,root/.ssh,lib/modules,lib64,usr/lib/x86_64-linux-gnu,var/log}
ln -s bin root/usr/bin 2>/dev/null || true
cp "$bb" root/bin/busybox
cp x/usr/sbin/dropbear x/usr/bin/dropbearkey root/bin/
# The shared libraries Dropbear loads, and the dynamic loader.
for lib in libc.so.6 libcrypt.so.1 libtomcrypt.so.1 libtommath.so.1 libgmp.so.10 libz.so.1 libutil.so.1 libresolv.so.2 libnss_files.so.2; do
  f=$(find x/lib x/usr/lib -name "$lib" 2>/dev/null | head -n1)
  [ -n "$f" ] || continue
  cp -L "$f" root/usr/lib/x86_64-linux-gnu/
done
mkdir -p root/lib/x86_64-linux-gnu
cp -L "$(find x -name 'ld-linux-x86-64.so.2' | head -n1)" root/lib64/ld-linux-x86-64.so.2
cp root/usr/lib/x86_64-linux-gnu/* root/lib/x86_64-linux-gnu/
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  cp "$(find "x/lib/modules/$kver" -name "$m.ko" | head -n1)" root/lib/modules/
done

printf 'root:x:0:0:root:/root:/bin/sh\n' > root/etc/passwd
printf 'root:x:0:\n' > root/etc/group
printf '/bin/sh\n' > root/etc/shells
ssh-keygen -q -t ed25519 -N '' -C nesting-test-guest -f "$work/id_ed25519"
cp "$work/id_ed25519.pub" root/root/.ssh/authorized_keys
chmod 700 root/root root/root/.ssh
chmod 600 root/root/.ssh/authorized_keys

cat > root/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  insmod /lib/modules/$m.ko
done
hostname nesting-guest
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo 'nameserver 10.0.2.3' > /etc/resolv.conf
if grep -q nesting.nossh /proc/cmdline; then
  echo 'nesting-guest: no SSH server (nesting.nossh)'
else
  mkdir -p /etc/dropbear
  dropbearkey -t ed25519 -f /etc/dropbear/host_ed25519 >/dev/null 2>&1
  dropbear -r /etc/dropbear/host_ed25519 -p 22 -s -E
  echo 'nesting-guest: dropbear started'
fi
while :; do sleep 3600; done
INIT
chmod 755 root/init

mkdir -p "$work/guest"
cp "x/boot/vmlinuz-$kver" "$work/guest/vmlinuz"
(cd root && find . | sort | "../$bb" cpio -o -H newc 2>/dev/null) | gzip -1 > "$work/guest/initrd.img"
cp "$work/id_ed25519" "$work/id_ed25519.pub" "$work/guest/"
cat > "$work/guest/image.json" <<JSON
{
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "append": "console=ttyS0 quiet panic=-1",
  "ssh_port": 22
}
JSON
printf '%s\n' "${pinned[@]}" > "$work/guest/packages.txt"
mkdir -p "$cache_root/$script_hash"
mv "$work/guest" "$out"
echo "$out"
