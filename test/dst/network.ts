// The simulated network between the bridge and the edge: each WebSocket is a pair of ends (the
// bridge's, shaped like the `ws` package's client socket the real bridge uses; the edge's, shaped
// like workerd's server socket) whose frames are delivered by the virtual clock's timers, in order
// per direction unless a fault says otherwise. Faults act on single frames (lost, duplicated,
// delayed past later ones) or on whole links (cut), and decide nothing by themselves: the schedule
// names each one, so a run replays exactly from its seed.
import { EventEmitter } from "node:events";
import { CLOSED, EdgeSocket, OPEN } from "./durable-object";

export type FrameFault = { kind: "lose" } | { kind: "duplicate" } | { kind: "delay"; ms: number };
export type Direction = "to_edge" | "to_bridge";

/** What the network needs of the edge: the current Durable Object instance's socket handlers. */
export interface EdgeHost {
  reachable(): boolean;
  open(ws: EdgeSocket): Promise<void>;
  message(ws: EdgeSocket, data: string): void;
  close(ws: EdgeSocket, code: number, reason: string): void;
}

/** A frame fault armed for the next frame of one direction whose text matches. */
interface ArmedFault {
  direction: Direction;
  match: (data: string) => boolean;
  fault: FrameFault;
}

export class Network {
  latencyMs = 1;
  private readonly armed: ArmedFault[] = [];
  private readonly links = new Set<Link>();
  private linkSeq = 0;
  /** Frames dropped, duplicated or delayed by a fault, for the run's report. */
  readonly faultsApplied: string[] = [];

  constructor(private readonly edge: EdgeHost) {}

  /** Arms a fault for the next matching frame in one direction. */
  arm(direction: Direction, fault: FrameFault, match: (data: string) => boolean = () => true): void {
    this.armed.push({ direction, match, fault });
  }

  disarmAll(): void {
    this.armed.length = 0;
  }

  /** The bridge dials the edge: a new link, or an error when the edge is unreachable. */
  dial(): BridgeSocket {
    const link = new Link(this, ++this.linkSeq);
    const socket = link.bridgeEnd;
    setTimeout(() => {
      if (socket.readyState !== 0) return;
      if (!this.edge.reachable()) {
        socket.fail(new Error("connect ECONNREFUSED (edge down)"));
        return;
      }
      this.links.add(link);
      socket.readyState = OPEN;
      socket.emit("open");
      // The edge registers the socket and speaks first (its challenge).
      void this.edge.open(link.edgeEnd);
    }, this.latencyMs);
    return socket;
  }

  /** Every link is cut at once (both ends see an abnormal close). */
  cutAll(): number {
    const live = [...this.links];
    for (const link of live) link.cut();
    return live.length;
  }

  /** The edge's sockets went away with its instance: their bridge ends see the link drop. */
  edgeReset(sockets: readonly EdgeSocket[]): void {
    for (const link of [...this.links]) if (sockets.includes(link.edgeEnd)) link.cutBridgeSide();
  }

  forget(link: Link): void {
    this.links.delete(link);
  }

  /** Delivers `frame` after the latency, applying an armed fault meant for it. */
  carry(direction: Direction, data: string | null, deliver: () => void): void {
    const i = data === null ? -1 : this.armed.findIndex((a) => a.direction === direction && a.match(data));
    const fault = i >= 0 ? this.armed.splice(i, 1)[0]!.fault : null;
    if (fault) this.faultsApplied.push(`${fault.kind}${fault.kind === "delay" ? ` ${fault.ms} ms` : ""} ${direction}: ${data!.slice(0, 80)}`);
    if (fault?.kind === "lose") return;
    setTimeout(deliver, this.latencyMs + (fault?.kind === "delay" ? fault.ms : 0));
    if (fault?.kind === "duplicate") setTimeout(deliver, this.latencyMs);
  }

  get host(): EdgeHost {
    return this.edge;
  }
}

class Link {
  readonly bridgeEnd: BridgeSocket;
  readonly edgeEnd: EdgeSocket;

  constructor(
    private readonly net: Network,
    readonly id: number,
  ) {
    this.bridgeEnd = new BridgeSocket(this);
    this.edgeEnd = new EdgeSocket(id, (frame) => {
      if (frame.kind === "message") {
        this.net.carry("to_bridge", frame.data, () => this.bridgeEnd.receive(frame.data));
        return;
      }
      // The edge closes: the bridge's end hears it and answers, then the edge hears the close.
      this.net.carry("to_bridge", null, () => {
        this.bridgeEnd.closedByPeer(frame.code, frame.reason);
        this.net.carry("to_edge", null, () => this.edgeClosed(frame.code, frame.reason));
      });
    });
  }

  /** The bridge sends a frame. */
  toEdge(data: string): void {
    this.net.carry("to_edge", data, () => {
      if (this.edgeEnd.readyState === OPEN) this.net.host.message(this.edgeEnd, data);
    });
  }

  /** The bridge closes (cleanly or not): the edge hears it after the latency. */
  bridgeClosed(code: number, reason: string): void {
    this.net.carry("to_edge", null, () => this.edgeClosed(code, reason));
  }

  private edgeClosed(code: number, reason: string): void {
    this.net.forget(this);
    if (this.edgeEnd.readyState === CLOSED) return;
    this.edgeEnd.readyState = CLOSED;
    this.net.host.close(this.edgeEnd, code, reason);
  }

  /** A network cut: both ends see an abnormal close (1006) after the latency. */
  cut(): void {
    this.cutBridgeSide();
    this.net.carry("to_edge", null, () => this.edgeClosed(1006, ""));
  }

  cutBridgeSide(): void {
    this.net.forget(this);
    this.net.carry("to_bridge", null, () => this.bridgeEnd.closedByPeer(1006, ""));
  }
}

/**
 * The bridge's end, shaped like the `ws` package's client WebSocket as bridge/edge-link.ts uses it:
 * readyState, send, close, terminate and the open/message/close/error events.
 */
export class BridgeSocket extends EventEmitter {
  readyState = 0;
  constructor(private readonly link: Link) {
    super();
  }
  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error("WebSocket is not open: readyState " + this.readyState);
    this.link.toEdge(String(data));
  }
  close(code = 1000, reason = ""): void {
    if (this.readyState !== OPEN) return;
    this.readyState = 2;
    this.link.bridgeClosed(code, reason);
    setTimeout(() => this.finish(code, reason), 0);
  }
  terminate(): void {
    if (this.readyState === CLOSED) return;
    const wasOpen = this.readyState === OPEN;
    this.readyState = 2;
    if (wasOpen) this.link.bridgeClosed(1006, "");
    setTimeout(() => this.finish(1006, ""), 0);
  }
  /** A frame from the edge. */
  receive(data: string): void {
    if (this.readyState === OPEN) this.emit("message", Buffer.from(data));
  }
  /** The edge closed the link, or the network cut it. */
  closedByPeer(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.finish(code, reason);
  }
  fail(error: Error): void {
    this.readyState = CLOSED;
    this.emit("error", error);
    this.emit("close", 1006, Buffer.from(""));
  }
  private finish(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.emit("close", code, Buffer.from(reason));
  }
}
