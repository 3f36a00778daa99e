/** The kubelet's image matching rule, restated for tests of documented and installed configs. */

/**
 * The kubelet's matching rule (pkg/credentialprovider keyring.go `URLsMatch`): the same number of dot-separated
 * labels, each globbed on its own (`*` never crosses a dot), and the ports equal: a pattern without a port never
 * matches an image with one.
 */
export function kubeletMatches(pattern: string, image: string): boolean {
  const split = (s: string) => {
    const hostPort = s.split("/")[0];
    const m = /^(.*?)(?::(\d+))?$/.exec(hostPort)!;
    return { labels: m[1].split("."), port: m[2] ?? "" };
  };
  const [p, t] = [split(pattern), split(image)];
  if (p.port !== t.port || p.labels.length !== t.labels.length) return false;
  return p.labels.every((glob, i) =>
    new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^.]*")}$`).test(t.labels[i])
  );
}
