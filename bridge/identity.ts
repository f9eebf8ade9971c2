// The bridge's identity: an Ed25519 key pair made at first run and kept in one file on the
// trading box (PKCS#8 PEM, mode 0600, like an SSH key). The edge holds only the public key
// (Worker secret BRIDGE_PUBLIC_KEY, base64url of the raw 32-byte key) and accepts a bridge
// link only when its hello is signed with the private key; the bearer token alone is not enough.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export interface BridgeIdentity {
  /** base64url of the raw Ed25519 public key: the value of the edge's BRIDGE_PUBLIC_KEY. */
  readonly publicKey: string;
  /** Ed25519 signature of the text, base64url. */
  sign(text: string): string;
}

export class IdentityError extends Error {
  override name = "IdentityError";
}

/** The base64url raw public key (a JWK's `x`) of an Ed25519 key. */
export function rawPublicKey(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: "jwk" }) as { x?: string };
  if (!jwk.x) throw new IdentityError("not an Ed25519 key");
  return jwk.x;
}

function fromPrivateKey(privateKey: KeyObject): BridgeIdentity {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new IdentityError(`the identity key is ${privateKey.asymmetricKeyType ?? "unknown"}, not Ed25519`);
  const publicKey = rawPublicKey(privateKey);
  return { publicKey, sign: (text) => sign(null, Buffer.from(text, "utf8"), privateKey).toString("base64url") };
}

/**
 * Reads the identity key file, or makes a new key pair there when it does not exist (`created`).
 * A key file that others can read is refused, as ssh refuses one: whoever can read it can act as
 * this bridge.
 */
export function loadOrCreateIdentity(path: string): { identity: BridgeIdentity; created: boolean } {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    let fd: number;
    try {
      // "wx": never overwrite a key another process made meanwhile.
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return { identity: readIdentity(path), created: false };
      throw new IdentityError(`cannot create the bridge identity key file ${path}: ${(error as Error).message}`);
    }
    try {
      writeSync(fd, pem);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600); // the umask may have narrowed it further, never widened; make it exact
    return { identity: fromPrivateKey(privateKey), created: true };
  }
  return { identity: readIdentity(path), created: false };
}

function readIdentity(path: string): BridgeIdentity {
  const mode = statSync(path).mode & 0o777;
  if (process.platform !== "win32" && (mode & 0o077) !== 0)
    throw new IdentityError(`the bridge identity key file ${path} is readable by others (mode ${mode.toString(8)}): run chmod 600 ${path}`);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, "utf8"));
  } catch (error) {
    throw new IdentityError(`the bridge identity key file ${path} holds no private key: ${(error as Error).message}`);
  }
  return fromPrivateKey(key);
}
