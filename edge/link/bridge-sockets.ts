// Bounds on what a holder of the bridge token alone (no bridge key) can make the account's object
// hold or hear. A socket is "unproven" until its hello is signed by the pinned key. Unproven
// sockets are capped per client address (an upgrade beyond it is refused) and in all (the oldest
// unproven socket of the address holding the most makes room: refusing the newcomer instead would
// let a token holder with a few addresses keep the real bridge, which proves itself in
// milliseconds, from ever getting a socket). Frames are bounded in size before they are parsed,
// and a socket once refused is not heard again.

/** Unproven bridge sockets one client address may hold at once; its next upgrade gets 429. */
export const MAX_UNPROVEN_SOCKETS_PER_CLIENT = 3;
/** Unproven bridge sockets the object holds at once, all addresses together. */
export const MAX_UNPROVEN_SOCKETS = 12;
/** A hello is well under 1,000 characters; an unproven socket's frame longer than this is not parsed. */
export const MAX_UNPROVEN_FRAME_CHARS = 4_096;
/**
 * A proven bridge's frame: an option chain of 90 quotes with greeks is ~60 KB, a day's executions
 * a few hundred KB at most. Cloudflare accepts WebSocket messages of up to 32 MiB.
 */
export const MAX_BRIDGE_FRAME_CHARS = 1024 * 1024;

interface SocketState { hello?: boolean; refused?: boolean; client?: string; accepted_ms?: number }
export interface UnprovenSocket { ws: WebSocket; client: string; acceptedMs: number }

/** The bridge sockets still waiting to prove the key (not proven, not already refused). */
export function unprovenSockets(sockets: WebSocket[]): UnprovenSocket[] {
  const out: UnprovenSocket[] = [];
  for (const ws of sockets) {
    const a = ws.deserializeAttachment() as SocketState | null;
    if (a?.hello === true || a?.refused === true) continue;
    out.push({ ws, client: a?.client ?? "unknown", acceptedMs: a?.accepted_ms ?? 0 });
  }
  return out;
}

/** The socket that makes room when the object-wide cap is full: the oldest of the address holding the most. */
export function victimOfCap(unproven: UnprovenSocket[]): UnprovenSocket | null {
  const held = new Map<string, number>();
  for (const u of unproven) held.set(u.client, (held.get(u.client) ?? 0) + 1);
  let victim: UnprovenSocket | null = null;
  for (const u of unproven) {
    if (!victim) victim = u;
    else {
      const [mine, theirs] = [held.get(u.client)!, held.get(victim.client)!];
      if (mine > theirs || (mine === theirs && u.acceptedMs < victim.acceptedMs)) victim = u;
    }
  }
  return victim;
}
