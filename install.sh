#!/bin/sh
# Installs docker-credential-acr-helper from a release, checked before anything is installed:
#
#   curl -fsSL https://github.com/acr-helper/docker-credential-acr-helper/releases/latest/download/install.sh | sh
#   sh install.sh [--version V] [--prefix DIR] [--base-url URL] [--configure-docker HOST...]
#
# Downloads the archive for this OS and architecture and checksums.txt, checks the SHA-256 (and, when the GitHub CLI
# is installed, the build provenance with `gh attestation verify`), runs the binary's `version`, then installs it
# atomically into PREFIX/bin (default /usr/local as root, ~/.local otherwise). Any failure installs nothing.
set -eu

REPO=${ACR_HELPER_REPO:-acr-helper/docker-credential-acr-helper}
NAME=docker-credential-acr-helper
version=
prefix=
base_url=
registries=

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --version) [ $# -ge 2 ] || fail "--version needs a value"; version=${2#v}; shift 2 ;;
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a value"; prefix=$2; shift 2 ;;
    --base-url) [ $# -ge 2 ] || fail "--base-url needs a value"; base_url=${2%/}; shift 2 ;;
    --configure-docker)
      shift
      while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do registries="$registries $1"; shift; done
      [ -n "$registries" ] || fail "--configure-docker needs at least one registry host"
      ;;
    -h | --help)
      echo "usage: install.sh [--version V] [--prefix DIR] [--base-url URL] [--configure-docker HOST...]"
      exit 0
      ;;
    *) fail "unknown argument: $1 (see --help)" ;;
  esac
done

# What this machine is (the test hooks let the suite pose as another one).
os=$(uname -s)
arch=${ACR_HELPER_UNAME_M:-$(uname -m)}
case $os in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) fail "$os is not supported by this installer (linux and darwin, amd64 and arm64; Windows: download the zip)" ;;
esac
case $arch in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "$arch is not supported (linux and darwin, amd64 and arm64)" ;;
esac

MAX_BYTES=268435456 # no release file is near 256 MiB: a larger answer is not ours
fetch() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 --max-filesize "$MAX_BYTES" -o "$2" "$1" || return 1
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || return 1
  else
    fail "neither curl nor wget is installed"
  fi
  [ "$(wc -c <"$2")" -le "$MAX_BYTES" ] || fail "$1 is larger than $MAX_BYTES bytes; nothing installed"
}
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -z "$base_url" ]; then base_url="https://github.com/$REPO/releases/download"; fi
if [ -z "$version" ]; then
  if [ "$base_url" = "https://github.com/$REPO/releases/download" ]; then
    fetch "https://api.github.com/repos/$REPO/releases/latest" "$tmp/latest.json" || fail "cannot find the latest release"
    version=$(sed -n 's/.*"tag_name": *"v\{0,1\}\([^"]*\)".*/\1/p' "$tmp/latest.json" | head -n 1)
  else
    fetch "$base_url/latest" "$tmp/latest" || fail "cannot read $base_url/latest"
    version=$(sed 's/^v//' "$tmp/latest" | head -n 1)
  fi
  [ -n "$version" ] || fail "cannot tell the latest version; pass --version"
fi

archive="${NAME}_${version}_${os}_${arch}.tar.gz"
fetch "$base_url/v$version/$archive" "$tmp/$archive" || fail "cannot download $base_url/v$version/$archive"
fetch "$base_url/v$version/checksums.txt" "$tmp/checksums.txt" || fail "cannot download checksums.txt"
want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.txt")
[ -n "$want" ] || fail "checksums.txt has no entry for $archive; nothing installed"
got=$(sha256 "$tmp/$archive")
[ "$want" = "$got" ] || fail "$archive: SHA-256 $got does not match checksums.txt ($want); nothing installed"
if command -v gh >/dev/null 2>&1 && [ -z "${ACR_HELPER_SKIP_ATTESTATION:-}" ]; then
  gh attestation verify "$tmp/$archive" --repo "$REPO" >/dev/null 2>&1 ||
    fail "$archive: gh attestation verify failed (set ACR_HELPER_SKIP_ATTESTATION=1 for a mirror); nothing installed"
fi

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x"
dir="$tmp/x/${NAME}_${version}_${os}_${arch}"
[ -f "$dir/$NAME" ] || fail "$archive has no $NAME; nothing installed"
said=$("$dir/$NAME" version 2>&1) || fail "the downloaded binary does not run on this machine ($said); nothing installed"
case $said in
  "$NAME $version "*) ;;
  *) fail "the downloaded binary says \"$said\", not version $version; nothing installed" ;;
esac

if [ -z "$prefix" ]; then
  if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
me=$(id -u)
# Only into directories this user or root owns, that no one else can write to (unless sticky): anyone else could
# plant a link where a file is about to be written, and we would write, as root perhaps, through it.
safe_dir() { # DIR: fails (one line) when DIR exists and is not safe to write into
  [ -e "$1" ] || [ -L "$1" ] || return 0
  for opt in -ldn -ldnL; do
    # shellcheck disable=SC2012 # ls -n is the portable way to read an owner's uid and the mode bits in sh
    set -- "$1" "$(ls $opt "$1" 2>/dev/null | awk '{print $1, $3}')"
    mode=${2% *}
    owner=${2#* }
    [ "$owner" = "$me" ] || [ "$owner" = 0 ] ||
      fail "$1 belongs to uid $owner, not to this user (uid $me) or root; nothing installed"
    case $mode in
      l*) ;;
      d???????w[xX-]*) fail "$1 can be written by anyone and has no sticky bit; nothing installed" ;;
    esac
  done
}
for d in "$prefix" "$prefix/bin" "$prefix/lib" "$prefix/lib/$NAME" "$prefix/share" "$prefix/share/man" \
  "$prefix/share/man/man1"; do
  safe_dir "$d"
done
mkdir -p "$prefix/bin" || fail "cannot create $prefix/bin"
safe_dir "$prefix/bin"
# Staged in a directory of our own (mktemp -d: new, 0700) on the same file system, then renamed into place:
# rename replaces whatever is at the name (a link too) instead of following it, and nothing is chmod-ed outside
# the stage. A running docker never sees half a file; an upgrade replaces the old one in one rename.
put() { # SOURCE DESTDIR NAME MODE
  stage=$(mktemp -d "$2/.$NAME-stage.XXXXXX") || fail "cannot write in $2"
  if ! { cp "$1" "$stage/$3" && chmod "$4" "$stage/$3" && mv -f "$stage/$3" "$2/$3"; }; then
    rm -rf "$stage"
    fail "cannot install $2/$3"
  fi
  rmdir "$stage"
}
if [ -d "$dir/lib" ]; then
  # The bundle-based stand-in carries its JavaScript files in lib/ (the release binaries need none).
  mkdir -p "$prefix/lib/$NAME" || fail "cannot create $prefix/lib/$NAME"
  safe_dir "$prefix/lib"
  safe_dir "$prefix/lib/$NAME"
  for f in "$dir"/lib/*; do [ -f "$f" ] || continue; put "$f" "$prefix/lib/$NAME" "$(basename "$f")" 0644; done
fi
put "$dir/$NAME" "$prefix/bin" "$NAME" 0755
if [ -f "$dir/$NAME.1" ]; then
  mkdir -p "$prefix/share/man/man1" && safe_dir "$prefix/share/man/man1" && put "$dir/$NAME.1" "$prefix/share/man/man1" "$NAME.1" 0644
fi
echo "installed $NAME $version in $prefix/bin"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it, or docker will not find the helper" ;;
esac
for host in $registries; do
  "$prefix/bin/$NAME" configure-docker --registry "$host"
done
