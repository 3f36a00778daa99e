import assert from "node:assert/strict";
import { getCredentials, HelperError } from "../lib/mod.ts";
import { startFakeAcr } from "./fake/server.ts";
import { tempHome } from "./util.ts";

const KEY = { accessKeyId: "LTAIlib00001", accessKeySecret: "CANARY-lib-secret" };

Deno.test({
  name: "library: getCredentials returns the temporary login, null for other registries, HelperError on failure",
  // The SDK keeps HTTP agents and timers the test cannot close; they end with the process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fake = startFakeAcr({ keys: [KEY] });
    try {
      const env = {
        HOME: await tempHome(),
        DOCKER_CREDENTIAL_ACR_HELPER_API_ENDPOINT: fake.url,
        ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
        ALIBABA_CLOUD_ACCESS_KEY_ID: KEY.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: KEY.accessKeySecret,
      };
      const creds = await getCredentials("https://registry.cn-hangzhou.aliyuncs.com", { env });
      assert.ok(creds);
      assert.equal(creds.serverURL, "https://registry.cn-hangzhou.aliyuncs.com");
      assert.equal(creds.username, "cr_temp_user");
      assert.equal(creds.password, fake.issued[0]);
      assert.ok(creds.expiresAt.getTime() > Date.now() + 30 * 60_000);
      // Shared cache: the CLI and the library reuse one token.
      assert.deepEqual(
        await getCredentials("registry.cn-hangzhou.aliyuncs.com", { env }).then((c) => c?.password),
        creds.password,
      );
      assert.equal(fake.calls.personalToken, 1);
      await getCredentials("registry.cn-hangzhou.aliyuncs.com", { env, cache: false });
      assert.equal(fake.calls.personalToken, 2);

      assert.equal(await getCredentials("ghcr.io", { env }), null);
      await assert.rejects(
        getCredentials("registry.cn-hangzhou.aliyuncs.com", {
          env: { HOME: env.HOME, ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true" },
        }),
        (err: unknown) => err instanceof HelperError && /no Alibaba Cloud credentials found/.test(err.message),
      );
    } finally {
      await fake.close();
    }
  },
});
