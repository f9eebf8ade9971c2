// What reached the broker, kept across TWS restarts (a restarted TWS forgets its orders and
// executions; the account keeps its positions): every order and modify TWS accepted, in order, with
// the price and shape it got, every execution, and each order's last known state. The invariants
// are judged against this record, never against what the edge believes.
import type { SimServer } from "../tws-sim/server";
import type { SimExecution, SimOrder } from "../tws-sim/types";

export interface Placement {
  at: number;
  orderId: number;
  permId: number;
  orderRef: string;
  /** A placeOrder for an order TWS already held (IBKR's modify). */
  modify: boolean;
  action: "BUY" | "SELL";
  totalQuantity: number;
  lmtPrice: number | undefined;
  secType: string;
  /** The contracts: one for a single leg, each combo leg with its ratio and side for a BAG. */
  legs: { conId: number; ratio: number; action: "BUY" | "SELL" }[];
  /** TWS's session (restarts counted). */
  session: number;
}

export class BrokerLog {
  readonly placements: Placement[] = [];
  readonly executions = new Map<string, SimExecution & { session: number }>();
  /** Each order's last known state, by permId (ids repeat across TWS sessions, permIds do not). */
  readonly orders = new Map<number, SimOrder & { session: number }>();
  session = 1;

  constructor(private readonly sim: SimServer) {
    const engine = sim.engine;
    const place = engine.place.bind(engine);
    engine.place = (clientId, req) => {
      const existed = engine.orders.has(`${clientId}:${req.orderId}`);
      const result = place(clientId, req);
      if (result.kind === "accepted") {
        const o = result.order;
        this.placements.push({
          at: engine.now(), orderId: o.orderId, permId: o.permId, orderRef: o.orderRef, modify: existed, action: o.action,
          totalQuantity: o.totalQuantity, lmtPrice: o.lmtPrice, secType: o.secType,
          legs: o.secType === "BAG" ? o.legs.map((l) => ({ conId: l.conId, ratio: l.ratio, action: l.action })) : [{ conId: o.contract.conId, ratio: 1, action: o.action }],
          session: this.session,
        });
      }
      return result;
    };
  }

  /** Copies what TWS holds now; call before TWS forgets it (a restart) and after every step. */
  capture(): void {
    for (const o of this.sim.engine.orders.values()) this.orders.set(o.permId, { ...structuredClone(o), session: this.session });
    for (const e of this.sim.engine.executions) if (!this.executions.has(e.execId)) this.executions.set(e.execId, { ...structuredClone(e), session: this.session });
  }

  /** TWS restarts: what it held is captured first, then a new session begins. */
  restartTws(): void {
    this.capture();
    this.sim.restartTws();
    this.session++;
  }

  /** Executions in the order TWS made them (as captured: TWS appends them in that order). */
  executionsInOrder(): (SimExecution & { session: number })[] {
    return [...this.executions.values()];
  }

  /** The account's positions now, by conId (non-zero only). */
  positions(): Map<number, number> {
    const out = new Map<number, number>();
    for (const p of this.sim.account.positions.values()) if (p.qty !== 0) out.set(p.contract.conId, p.qty);
    return out;
  }
}
