// A fixed Ed25519 key pair for tests only: the edge tests' miniflare binding BRIDGE_PUBLIC_KEY is
// its public key, and the tests that speak as the bridge sign their hello with its private key.
// Never use it anywhere else. WebCrypto only, so it runs in workerd and in Node alike.
import { type Challenge, helloSigningText } from "../../shared/protocol";

/** Also written out in vitest.config.ts's edge bindings (BRIDGE_PUBLIC_KEY). */
export const TEST_BRIDGE_PUBLIC_KEY = "NV_ejCHOVAgLdx28o76Rbt3DwIJntr7M0Ms6RoPqx-k";
const TEST_BRIDGE_PRIVATE_JWK = { kty: "OKP", crv: "Ed25519", x: TEST_BRIDGE_PUBLIC_KEY, d: "ZE29KOSDvpjQHUFAqhSYZtXWHEe80mypy3xBVUxKDwg" };

/** An Ed25519 private key as a JWK (no DOM types here: this file also typechecks as Node). */
export interface Ed25519Jwk { kty: string; crv: string; x: string; d: string }

const toBase64url = (bytes: ArrayBuffer): string => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** A hello's fields before signing (what the bridge sends besides the signature). */
export interface UnsignedHello {
  bridge_version: string;
  bridge_id: string;
  account_id: string;
  mode: "sim" | "paper_tws" | "paper_gateway" | "live_tws" | "live_gateway";
  tws: { state: "connected" | "degraded" | "down"; since: string; last_error: string | null; server_version: number | null };
  last_seq: number;
}

/** Signs a hello for the challenge with a key: the test key by default, any other JWK for an impostor. */
export async function signHello(challenge: Pick<Challenge, "account_id" | "connection_id" | "nonce">, hello: UnsignedHello, jwk: Ed25519Jwk = TEST_BRIDGE_PRIVATE_JWK): Promise<Record<string, unknown>> {
  const key = await crypto.subtle.importKey("jwk", jwk as never, { name: "Ed25519" }, false, ["sign"]);
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, new TextEncoder().encode(helloSigningText(challenge, hello)));
  return { v: 1, type: "hello", ...hello, signature: toBase64url(signature) };
}

/** A fresh key pair that the edge has not pinned: what an impostor holding the token has. */
export async function impostorKey(): Promise<Ed25519Jwk> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as { privateKey: Parameters<typeof crypto.subtle.exportKey>[1] };
  return (await crypto.subtle.exportKey("jwk", pair.privateKey)) as unknown as Ed25519Jwk;
}
