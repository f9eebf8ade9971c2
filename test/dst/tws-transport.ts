// TWS's socket inside the simulation's process: the real @stoqey/ib client connects to the
// simulator's real protocol server (test/tws-sim/server.ts) over an in-memory stream pair instead of
// TCP, so the wire protocol runs whole while every byte moves in a deterministic order. @stoqey/ib
// opens its socket with `net.connect`; connects to DST_TWS_HOST are answered here, all others
// pass through untouched.
import net from "node:net";
import { Duplex } from "node:stream";

export const DST_TWS_HOST = "tws.dst.invalid";

export interface TwsEndpoint {
  /** False while TWS is down: a connect is refused, as by a closed port. */
  listening(): boolean;
  accept(socket: net.Socket): void;
}

let endpoint: TwsEndpoint | null = null;
const realConnect = net.connect;

/** Routes @stoqey/ib's connects to DST_TWS_HOST to `target` (the current world's simulator). */
export function routeTwsTo(target: TwsEndpoint | null): void {
  endpoint = target;
  if ((net as { connect: unknown }).connect !== simConnect) (net as { connect: unknown }).connect = simConnect;
}

/**
 * One end of an in-memory TCP connection. Bytes written reach the peer on a later timer of the
 * virtual clock, never within the writer's own turn (as over a real socket, where an answer cannot
 * overtake the microtasks of the request that caused it); end and destroy reach the peer likewise.
 */
class SimSocket extends Duplex {
  peer!: SimSocket;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const peer = this.peer;
    setTimeout(() => {
      if (!peer.destroyed) peer.push(chunk);
    }, 0);
    done();
  }
  override _read(): void {}
  override _final(done: (error?: Error | null) => void): void {
    const peer = this.peer;
    setTimeout(() => {
      if (!peer.destroyed) peer.push(null);
    }, 0);
    done();
  }
  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const peer = this.peer;
    setTimeout(() => {
      if (!peer.destroyed) peer.destroy();
    }, 0);
    done(error);
  }
  setNoDelay(): this {
    return this;
  }
}

function socketPair(): [SimSocket, SimSocket] {
  const client = new SimSocket();
  const server = new SimSocket();
  client.peer = server;
  server.peer = client;
  return [client, server];
}

function simConnect(this: unknown, ...args: unknown[]): net.Socket {
  const options = args[0] as { host?: string; port?: number } | number;
  if (typeof options !== "object" || options?.host !== DST_TWS_HOST) return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  const onConnect = args.find((a) => typeof a === "function") as (() => void) | undefined;
  const [client, server] = socketPair();
  const target = endpoint;
  setTimeout(() => {
    if (!target || !target.listening()) {
      client.destroy(Object.assign(new Error(`connect ECONNREFUSED ${DST_TWS_HOST}`), { code: "ECONNREFUSED" }));
      return;
    }
    target.accept(server as unknown as net.Socket);
    client.emit("connect");
    onConnect?.();
  }, 0);
  return client as unknown as net.Socket;
}
