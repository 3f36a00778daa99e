/**
 * One profile of an Alibaba Cloud credentials file (INI), as
 * `@alicloud/credentials`' profile provider builds it: `type` is one of
 * `access_key`, `ram_role_arn`, `ecs_ram_role` (exact case); a key left out
 * falls back to its environment variable; anything else is unusable, and the
 * chain goes on. Other keys (`enable`, say) change nothing, in either SDK.
 *
 * @module
 */
import { type Built, MissingKey, reader, type StepContext } from "./profile_rules.ts";

const TYPES = "access_key, ram_role_arn or ecs_ram_role";

/**
 * Builds the plan for one INI section, or says why it cannot be used.
 *
 * @example
 * ```ts
 * const built = await buildFileProfile(parseIni(text)["default"], ctx);
 * ```
 */
export async function buildFileProfile(p: Record<string, string>, ctx: StepContext): Promise<Built> {
  const { opt, need } = reader(p, ctx);
  const type = p.type?.trim() ?? "";
  try {
    switch (type) {
      case "access_key": {
        const accessKeyId = need("access_key_id");
        return {
          plan: { type: "static", accessKeyId, accessKeySecret: need("access_key_secret") },
          who: `ak:${accessKeyId}`,
        };
      }
      case "ram_role_arn": {
        const accessKeyId = need("access_key_id");
        const accessKeySecret = need("access_key_secret");
        const roleArn = need("role_arn");
        return {
          plan: {
            type: "ram-role-arn",
            accessKeyId,
            accessKeySecret,
            roleArn,
            sessionName: opt("role_session_name"),
            policy: p.policy,
          },
          who: `role:${roleArn}#ak:${accessKeyId}`,
        };
      }
      case "ecs_ram_role":
        return await ctx.ecs(p.role_name?.trim() || ctx.val("ALIBABA_CLOUD_ECS_METADATA"));
      case "":
        return { reason: `no "type"`, fix: `add type = ${TYPES}` };
      default:
        return { reason: `type "${type}" is not supported`, fix: `use type = ${TYPES} (lower case)` };
    }
  } catch (err) {
    if (err instanceof MissingKey) return { reason: `type ${type}: ${err.message}`, fix: "add it to the section" };
    throw err;
  }
}
