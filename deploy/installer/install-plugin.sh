#!/bin/sh
# Runs in the node installer's container (deploy/kubelet-installer.yaml): puts the kubelet credential provider
# plugin and its config on the node, checks that the plugin runs there, then sleeps (a DaemonSet keeps it running,
# so a new image version is rolled out node by node).
#
# HOST_ROOT   the node's root, mounted into the container (default /host)
# PLUGIN_DIR  the kubelet's --image-credential-provider-bin-dir on the node (default /etc/kubernetes/credential-providers)
# CONFIG_FILE the kubelet's --image-credential-provider-config on the node
#             (default /etc/kubernetes/credential-provider-config.yaml)
# SOURCE_DIR  where the image keeps the plugin (default /opt/acr-helper); CONFIG_SOURCE the config to install
#             (default /config/credential-provider-config.yaml, the ConfigMap)
# INSTALL_ONCE=1 exits after installing instead of sleeping (tests).
set -eu

NAME=docker-credential-acr-helper
HOST_ROOT=${HOST_ROOT:-/host}
PLUGIN_DIR=${PLUGIN_DIR:-/etc/kubernetes/credential-providers}
CONFIG_FILE=${CONFIG_FILE:-/etc/kubernetes/credential-provider-config.yaml}
SOURCE_DIR=${SOURCE_DIR:-/opt/acr-helper}
CONFIG_SOURCE=${CONFIG_SOURCE:-/config/credential-provider-config.yaml}

say() { echo "acr-helper installer: $*"; }
fail() {
  say "$*" >&2
  exit 1
}

[ -d "$HOST_ROOT" ] || fail "$HOST_ROOT is not mounted: the DaemonSet mounts the node's root there"
[ -f "$SOURCE_DIR/$NAME" ] || fail "$SOURCE_DIR/$NAME is missing from the image"
mkdir -p "$HOST_ROOT$PLUGIN_DIR"

# Stage next to the target (same file system, so the final rename is atomic), check it runs on the node, then swap.
staged="$PLUGIN_DIR/.$NAME.new.$$"
cp "$SOURCE_DIR/$NAME" "$HOST_ROOT$staged"
chmod 0755 "$HOST_ROOT$staged"
if [ -d "$SOURCE_DIR/lib" ]; then
  # The bundle-based plugin carries its JavaScript in lib/ (a release binary carries none).
  mkdir -p "$HOST_ROOT$PLUGIN_DIR/lib"
  for f in "$SOURCE_DIR"/lib/*; do
    [ -f "$f" ] || continue
    cp "$f" "$HOST_ROOT$PLUGIN_DIR/lib/.$(basename "$f").new.$$"
    mv -f "$HOST_ROOT$PLUGIN_DIR/lib/.$(basename "$f").new.$$" "$HOST_ROOT$PLUGIN_DIR/lib/$(basename "$f")"
  done
fi
if ! said=$(chroot "$HOST_ROOT" "$staged" version 2>&1); then
  rm -f "$HOST_ROOT$staged"
  fail "the plugin does not run on this node (it needs glibc 2.27 or newer; no musl): ${said:-no output}; nothing changed"
fi
mv -f "$HOST_ROOT$staged" "$HOST_ROOT$PLUGIN_DIR/$NAME"
say "installed $said in $PLUGIN_DIR"

if [ -f "$CONFIG_SOURCE" ]; then
  mkdir -p "$HOST_ROOT$(dirname "$CONFIG_FILE")"
  cp "$CONFIG_SOURCE" "$HOST_ROOT$CONFIG_FILE.new.$$"
  mv -f "$HOST_ROOT$CONFIG_FILE.new.$$" "$HOST_ROOT$CONFIG_FILE"
  say "wrote $CONFIG_FILE (the kubelet reads it at start: restart the kubelet after the first install)"
fi

[ "${INSTALL_ONCE:-}" = 1 ] && exit 0
while :; do sleep 3600; done
