// Node module hook for the simulation's command line (soak.ts): "cloudflare:workers", which only
// workerd provides, resolves to the simulation's stand-in (cloudflare-workers.ts). The vitest
// project does the same with an alias.
export async function resolve(specifier, context, next) {
  if (specifier === "cloudflare:workers") return { url: new URL("./cloudflare-workers.ts", import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
