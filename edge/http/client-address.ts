// Who is calling, as far as the edge can trust it: the address Cloudflare puts in
// `cf-connecting-ip` (on the deployed edge Cloudflare sets it and a caller cannot), reduced to a
// bucket — an IPv4 address, or the /64 prefix of an IPv6 one (one subscriber usually holds a whole
// /64, so counting single IPv6 addresses would give them 2^64 fresh buckets). Headers a caller
// sets (x-forwarded-for, x-real-ip) are never read. Without a usable value — `wrangler dev` sets
// the header from the socket address only when the caller did not, and tests send none — every
// such caller shares the one bucket "unknown": that can only make a limit stricter, never looser.
export const UNKNOWN_CLIENT = "unknown";
const MAX_HEADER_CHARS = 64;

function ipv4(text: string): string | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number).join(".");
}

/** The first four groups of an IPv6 address as `a:b:c:d::/64`, or null when it is not one. */
function ipv6Prefix(text: string): string | null {
  if (!/^[0-9a-f:.]+$/i.test(text)) return null;
  let body = text;
  const embedded: string[] = [];
  if (text.includes(".")) {
    // An IPv4 tail (::ffff:192.0.2.1) stands for the last two groups.
    const at = text.lastIndexOf(":");
    const v4 = ipv4(text.slice(at + 1));
    if (at < 0 || !v4) return null;
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    embedded.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    body = text.slice(0, at + 1);
    if (!body.endsWith("::")) body = body.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string | undefined) => (part ? part.split(":") : []);
  let groups: string[];
  if (halves.length === 1) groups = [...groupsOf(halves[0]), ...embedded];
  else {
    const left = groupsOf(halves[0]);
    const right = [...groupsOf(halves[1]), ...embedded];
    const zeros = 8 - left.length - right.length;
    if (zeros < 1) return null;
    groups = [...left, ...Array<string>(zeros).fill("0"), ...right];
  }
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}

/** The caller's address bucket (see above); always a short, plain string safe to store and audit. */
export function clientAddress(headers: Headers): string {
  const raw = headers.get("cf-connecting-ip")?.trim() ?? "";
  if (!raw || raw.length > MAX_HEADER_CHARS) return UNKNOWN_CLIENT;
  return ipv4(raw) ?? ipv6Prefix(raw) ?? UNKNOWN_CLIENT;
}
