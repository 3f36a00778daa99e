#!/usr/bin/env bash
# Reproducible release archives: package.sh DIR OUT.(tar.gz|zip) EPOCH
# The same files give the same bytes: names sorted, mtimes pinned to EPOCH (the commit time), owners and gzip's
# own timestamp dropped, zip's extra attributes dropped.
set -euo pipefail
dir=$1 out=$2 epoch=$3
parent=$(cd "$(dirname "$dir")" && pwd)
name=$(basename "$dir")
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
find "$dir" -exec touch -h -d "@$epoch" {} +
case "$out" in
  *.tar.gz)
    tar -C "$parent" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=gnu -cf - "$name" |
      gzip -n -9 >"$out"
    ;;
  *.zip)
    rm -f "$out"
    (cd "$parent" && find "$name" -print | LC_ALL=C sort | TZ=UTC zip -X -q -D "$out" -@)
    ;;
  *) echo "package.sh: $out is neither .tar.gz nor .zip" >&2; exit 2 ;;
esac
