/**
 * Everything that loads the Alibaba Cloud SDKs, in one module the helper
 * imports lazily: a cached token must not pay for loading them.
 *
 * @module
 */
export { buildCredential } from "./providers.ts";
export { createAcrApi } from "./acr_api.ts";
export { installTransport } from "./transport.ts";
