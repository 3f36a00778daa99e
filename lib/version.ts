/** The helper's name as installed on PATH. */
export const NAME = "docker-credential-acr-helper";
/** Release version; the release workflow checks it matches the tag. */
export const VERSION = "0.1.0";
