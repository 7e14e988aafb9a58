#!/bin/bash
# build-image.sh OUT_DIR DEB_CACHE_DIR [MIRROR]: a Debian 12 guest for the VM test, made with
# debootstrap (no image registry is reachable): OUT_DIR/root.img (ext4, 4 GiB sparse), vmlinuz and
# a small initrd. The guest is a plain Debian cloud host: cloud-init (NoCloud), docker.io,
# python3-boto3, openssh-server, locales and the C.UTF-8 system locale, as on Debian's cloud
# images; nothing of the bastion is in it. The caller caches OUT_DIR keyed
# by a hash of this file, so the package list below is the cache key.
set -euo pipefail
out=$(realpath -m "$1")
debs=$(realpath -m "$2")
readonly out debs mirror=${3:-http://deb.debian.org/debian}
readonly packages=(
  systemd-sysv udev dbus kmod linux-image-amd64 initramfs-tools
  cloud-init python3-cffi-backend
  docker.io python3-boto3 apparmor iptables
  openssh-server sudo ca-certificates curl iproute2 netbase procps ifupdown isc-dhcp-client locales
)
rootfs="$out/rootfs"
mkdir -p "$out" "$debs"
rm -rf "$rootfs"
debootstrap --variant=minbase --cache-dir="$debs" --include="$(IFS=,; echo "${packages[*]}")" \
  bookworm "$rootfs" "$mirror"

# The guest's own settings: root on the virtio disk, eth0 by DHCP (slirp), cloud-init from the
# NoCloud seed disk only, with its network rendering off (the interface above is the network).
echo '/dev/vda / ext4 rw,relatime 0 1' >"$rootfs/etc/fstab"
printf 'auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n' >"$rootfs/etc/network/interfaces"
printf 'datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\n' >"$rootfs/etc/cloud/cloud.cfg.d/99-vm-test.cfg"
echo debian >"$rootfs/etc/hostname"
# The system locale, as Debian's cloud images set it: cloud-init then keeps it (with none set it
# asks for en_US.UTF-8, which Debian's locale-gen does not build on request, and its locale module fails).
echo 'LANG=C.UTF-8' >"$rootfs/etc/default/locale"

# A small initrd: only what mounts the virtio root.
sed -i 's/^MODULES=.*/MODULES=list/' "$rootfs/etc/initramfs-tools/initramfs.conf"
printf 'virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n' >>"$rootfs/etc/initramfs-tools/modules"
kernels=("$rootfs"/boot/vmlinuz-*)
kernel=$(basename "${kernels[0]}")
kver=${kernel#vmlinuz-}
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc" 2>/dev/null || true' EXIT
chroot "$rootfs" mkinitramfs -o /tmp/initrd.img "$kver"
umount "$rootfs/proc"
mv "$rootfs/tmp/initrd.img" "$out/initrd.img"
cp "$rootfs/boot/$kernel" "$out/vmlinuz"

chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/*
truncate -s0 "$rootfs/etc/machine-id"
rm -f "$out/root.img"
truncate -s 4G "$out/root.img"
mkfs.ext4 -q -F -d "$rootfs" "$out/root.img"
rm -rf "$rootfs"
