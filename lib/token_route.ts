/**
 * Which ACR API issues the password for which registry kind, and the
 * Enterprise name -> instance id lookup (ListInstance, cached for a day).
 *
 * @module
 */
import type { AcrApi, RegistryToken } from "./acr_api.ts";
import type { Cache } from "./cache.ts";
import type { Logger } from "./log.ts";
import { HelperError } from "./errors.ts";
import { instanceKey, type TokenPlan } from "./target.ts";

const INSTANCE_ID_TTL_MS = 24 * 3600_000;

/** What {@link fetchToken} needs besides the API. */
export interface RouteContext {
  cache: Cache;
  /** The credential identity (instance ids are cached per identity: another account sees other instances). */
  identity: string;
  now: () => number;
  log: Logger;
}

/**
 * Fetches the registry password for a plan from the API that serves its kind.
 *
 * @example
 * ```ts
 * const token = await fetchToken(api, plan, { cache, identity, now: Date.now, log });
 * ```
 */
export async function fetchToken(api: AcrApi, plan: TokenPlan, ctx: RouteContext): Promise<RegistryToken> {
  const { registry, tokenApi, instanceId } = plan.target;
  const region = registry.region;
  if (tokenApi === "personal") return await api.personalToken(region);
  switch (registry.kind) {
    case "personal":
      return await api.personalToken(region);
    case "configured":
      return instanceId ? await api.instanceToken(region, instanceId) : await api.personalToken(region);
    case "personal-instance": {
      const id = instanceId ?? registry.instanceId;
      try {
        return await api.instanceToken(region, id);
      } catch (err) {
        // No public source says which API issues crpi- passwords. Never fall back to the classic /tokens by
        // ourselves: its password is for another registry service and would end in a 401 we never see.
        if (isInstanceNotFound(err)) {
          const rid = (err as { requestId?: string }).requestId;
          throw Object.assign(
            new HelperError(
              `ACR Personal instance ${id} (${region}): GetAuthorizationToken says INSTANCE_NOT_EXIST` +
                `${rid ? ` (request id ${rid})` : ""}; check the host, or, if this instance's passwords come from ` +
                `the classic Personal Edition API, set "tokenApi": "personal" for ${plan.host} in the config file`,
            ),
            { transient: false },
          );
        }
        throw err;
      }
    }
    case "enterprise": {
      if (instanceId) return await api.instanceToken(region, instanceId);
      const name = registry.instanceName;
      const idKey = await instanceKey(plan, ctx.identity, name);
      const lookUp = async () => {
        const { instanceId: id, requestId } = await api.findInstanceId(region, name);
        if (id === null) {
          throw new HelperError(
            `no ACR Enterprise instance named "${name}" in ${region} for this account ` +
              `(ListInstance${requestId ? `, request id ${requestId}` : ""}); ` +
              "check the host name, or set instanceId for it in the config file",
          );
        }
        await ctx.cache.putRecord(idKey, id, ctx.now() + INSTANCE_ID_TTL_MS);
        return id;
      };
      const cached = await ctx.cache.getRecord(idKey, ctx.now());
      if (cached === null) return await api.instanceToken(region, await lookUp());
      try {
        return await api.instanceToken(region, cached);
      } catch (err) {
        if (!isInstanceNotFound(err)) throw err;
        // The instance was recreated under the same name: resolve the name once more.
        ctx.log.info(`cached instance ${cached} is gone; looking "${name}" up again`);
        await ctx.cache.dropRecord(idKey);
        return await api.instanceToken(region, await lookUp());
      }
    }
  }
}

function isInstanceNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { instanceNotFound?: boolean }).instanceNotFound === true;
}
