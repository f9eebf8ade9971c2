// The bridge's proof of identity, edge side: a fresh challenge per bridge socket (bound to the
// account and the connection), and the Ed25519 check of the signed hello against the pinned
// public key (Worker secret BRIDGE_PUBLIC_KEY: base64url of the raw 32-byte key). Without a
// configured key no bridge is accepted: the bearer token alone never makes a bridge.
import { type Challenge, type Hello, helloSigningText, PROTOCOL_VERSION } from "../../shared/protocol";

/** A socket that has not proven itself within this time is closed. */
export const HELLO_TIMEOUT_MS = 5_000;

function base64urlBytes(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function randomBase64url(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function newChallenge(accountId: string): Challenge {
  return { v: PROTOCOL_VERSION, type: "challenge", account_id: accountId, connection_id: crypto.randomUUID(), nonce: randomBase64url(32) };
}

/** The configured key, or why there is none usable (never echoing the value). */
export type PinnedKey = { ok: true; key: CryptoKey; id: string } | { ok: false; reason: string };

export async function importPinnedKey(configured: string | undefined): Promise<PinnedKey> {
  const text = (configured ?? "").trim();
  if (!text) return { ok: false, reason: "BRIDGE_PUBLIC_KEY is not configured on the edge, so no bridge can prove itself" };
  const raw = base64urlBytes(text);
  if (!raw || raw.length !== 32) return { ok: false, reason: "BRIDGE_PUBLIC_KEY is not a base64url Ed25519 public key (32 bytes)" };
  try {
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    // Seq records are scoped by this id, so a new key starts new streams.
    return { ok: true, key, id: text.slice(0, 16) };
  } catch (error) {
    return { ok: false, reason: `BRIDGE_PUBLIC_KEY could not be imported: ${(error as Error).message}` };
  }
}

/** Whether the hello is signed, for this very challenge, by the pinned key. */
export async function verifyHello(key: CryptoKey, challenge: Pick<Challenge, "account_id" | "connection_id" | "nonce">, hello: Hello): Promise<boolean> {
  const signature = base64urlBytes(hello.signature);
  if (!signature || signature.length !== 64) return false;
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, new TextEncoder().encode(helloSigningText(challenge, hello)));
  } catch {
    return false;
  }
}
