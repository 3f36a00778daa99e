#!/usr/bin/env bash
# deno task test:e2e: real clients pull through the bundled helper from a local TLS registry, inside
# private mount, network and PID namespaces (nothing leaves loopback; the real /etc/hosts is never
# touched; every process started inside ends with the run). Needs root and tests/e2e/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" = 0 ] || { echo "e2e: needs root (namespaces, port 443, dockerd)" >&2; exit 1; }
for c in skopeo podman docker dockerd docker-registry htpasswd openssl unshare ip tar; do
  command -v "$c" >/dev/null || { echo "e2e: $c not found; run: bash tests/e2e/setup.sh" >&2; exit 1; }
done
[ -x "${E2E_HELM:-tests/e2e/.tools/helm}" ] || { echo "e2e: helm not found; run: bash tests/e2e/setup.sh" >&2; exit 1; }

# The suite runs the bundle, whose shebang carries the release permissions.
deno task --quiet bundle >/dev/null

E2E_OUTER_MNT_NS=$(readlink /proc/self/ns/mnt)
E2E_OUTER_NET_NS=$(readlink /proc/self/ns/net)
export E2E_OUTER_MNT_NS E2E_OUTER_NET_NS
exec unshare --mount --propagation private --net --pid --fork --mount-proc \
  deno test --allow-all tests/e2e/ "$@"
