#!/bin/sh
# The action's one step (action.yml): installs the helper from a release with install.sh's checks (checksum, and
# the build attestation where gh is), puts it on PATH for later steps, runs configure-docker for each registry, and
# exports only the role and provider ARNs: the helper asks GitHub for the job's ID token itself on every get, so
# there is no secret, no token file and no refresh step. Inputs come as INPUT_* variables.
set -eu
NAME=docker-credential-acr-helper
fail() {
  echo "::error::$NAME action: $*" >&2
  exit 1
}
[ -n "${INPUT_ROLE_ARN:-}" ] || fail "role-arn is required (acs:ram::<account>:role/<name>)"
[ -n "${INPUT_OIDC_PROVIDER_ARN:-}" ] || fail "oidc-provider-arn is required (acs:ram::<account>:oidc-provider/<name>)"
[ -n "${INPUT_REGISTRIES:-}" ] || fail "registries is required (the ACR hosts to configure docker for)"
if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
  fail 'this job cannot ask for an ID token: give it "permissions: id-token: write"'
fi
if [ -z "${GITHUB_ENV:-}" ] || [ -z "${GITHUB_PATH:-}" ]; then
  fail "GITHUB_ENV and GITHUB_PATH are not set: run it as a GitHub Actions step"
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
prefix="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$NAME"
set -- --prefix "$prefix"
[ -z "${INPUT_VERSION:-}" ] || [ "$INPUT_VERSION" = latest ] || set -- "$@" --version "${INPUT_VERSION#v}"
[ -z "${INPUT_BASE_URL:-}" ] || set -- "$@" --base-url "$INPUT_BASE_URL"
sh "$here/install.sh" "$@" || fail "install.sh failed (above)"
echo "$prefix/bin" >>"$GITHUB_PATH"
{
  echo "ALIBABA_CLOUD_ROLE_ARN=$INPUT_ROLE_ARN"
  echo "ALIBABA_CLOUD_OIDC_PROVIDER_ARN=$INPUT_OIDC_PROVIDER_ARN"
  [ -z "${INPUT_AUDIENCE:-}" ] || echo "DOCKER_CREDENTIAL_ACR_HELPER_OIDC_AUDIENCE=$INPUT_AUDIENCE"
} >>"$GITHUB_ENV"
for host in $INPUT_REGISTRIES; do
  PATH="$prefix/bin:$PATH" "$prefix/bin/$NAME" configure-docker --registry "$host" || fail "configure-docker --registry $host failed"
done
