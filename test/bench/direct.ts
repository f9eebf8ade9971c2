// The direct path of the benchmark: the same operations made with @stoqey/ib straight against a
// simulator process of its own (no edge, no bridge), so the full path's cost reads as a ratio.
// Its own simulator keeps the direct orders out of the account the full path is trading.
import { type Contract, EventName, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { join } from "node:path";
import type { Leg } from "../../shared/order";
import { disableNagle } from "../../bridge/tws-connection";
import { netLimitPrice } from "../../shared/combo-price";
import { spawnManaged } from "../stack/processes";
import { collectUntil, connect, waitFor } from "../support/ib-client";
import { type Series, timeSeries } from "./stats";

const SUMMARY_TAGS = "NetLiquidation,TotalCashValue,BuyingPower,AvailableFunds,ExcessLiquidity,MaintMarginReq";

async function resolveBag(c: Awaited<ReturnType<typeof connect>>, legs: readonly Leg[]): Promise<Contract> {
  const comboLegs = [];
  let reqId = 5_000;
  for (const leg of legs) {
    const spec = leg.contract;
    if (spec.sec_type === "STK") throw new Error("the benchmark's combo is options only");
    const id = reqId++;
    const details = waitFor(c.ib, EventName.contractDetails, (rid: number) => rid === id);
    c.ib.reqContractDetails(id, { symbol: spec.symbol, secType: SecType.OPT, exchange: "SMART", currency: "USD", lastTradeDateOrContractMonth: spec.expiry.replaceAll("-", ""), strike: spec.strike, right: spec.right === "C" ? "C" : "P", multiplier: 100 } as Contract);
    const [, found] = (await details) as unknown as [number, { contract: Contract }];
    comboLegs.push({ conId: found.contract.conId, ratio: leg.quantity, action: leg.action, exchange: "SMART" });
  }
  return { symbol: legs[0]!.contract.symbol, secType: SecType.BAG, exchange: "SMART", currency: "USD", comboLegs: comboLegs as unknown as Contract["comboLegs"] };
}

/**
 * `now` is the full path's TWS clock (its stack runs on the pinned test clock): the direct
 * simulator starts there too, or it would not know the legs' contracts (on the machine's clock their
 * expiry may be past, or not yet listed) and the contract lookup would time out.
 */
export async function directSeries(root: string, legs: readonly Leg[], count: number, placeCount: number, now?: string): Promise<Record<"account" | "positions" | "preview" | "place", Series>> {
  const sim = spawnManaged("bench-sim", join(root, "node_modules", ".bin", "tsx"), [join(root, "test/tws-sim/cli.ts"), "--port", "0", ...(now ? ["--now", now] : [])], { cwd: root, env: process.env, echo: false });
  try {
    const { port } = JSON.parse(await sim.waitForLine(/^\{.*"port"/, 30_000)) as { port: number };
        const c = await connect(port, 77);
    // The same socket setting the bridge uses, so the ratio measures our layers, not Nagle's 40 ms.
    if (!disableNagle(c.ib)) throw new Error("cannot reach the client's socket to turn Nagle off");
    let reqId = 10_000;
    let orderId = c.nextValidId;
    const bag = await resolveBag(c, legs);
    const limit = netLimitPrice(legs);
    try {
      const account = await timeSeries("get_account", "direct @stoqey/ib", count, async () => {
        const id = reqId++;
        const rows = collectUntil(c.ib, EventName.accountSummary, EventName.accountSummaryEnd, (rid) => rid === id);
        c.ib.reqAccountSummary(id, "All", SUMMARY_TAGS);
        await rows;
        c.ib.cancelAccountSummary(id);
      });
      const positions = await timeSeries("get_positions", "direct @stoqey/ib", count, async () => {
        const rows = collectUntil(c.ib, EventName.position, EventName.positionEnd);
        c.ib.reqPositions();
        await rows;
        c.ib.cancelPositions();
      });
      const preview = await timeSeries("preview_order", "direct @stoqey/ib", count, async () => {
        const id = orderId++;
        const answer = waitFor(c.ib, EventName.openOrder, (oid: number, _k: unknown, _o: unknown, state: { initMarginChange?: number }) => oid === id && state?.initMarginChange !== undefined);
        c.ib.placeOrder(id, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: limit, totalQuantity: 1, whatIf: true, transmit: true });
        await answer;
      });
      // Priced at mid, so the order rests and is measured to Submitted, like the full path's.
      const place = await timeSeries("place_order→Submitted", "direct @stoqey/ib", placeCount, async (i) => {
        const id = orderId++;
        const submitted = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Submitted");
        c.ib.placeOrder(id, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: limit, totalQuantity: 1, transmit: true, orderRef: `BENCH_${i}` });
        await submitted;
      }, 1);
      c.ib.reqGlobalCancel();
      return { account, positions, preview, place };
    } finally {
      c.close();
    }
  } finally {
    await sim.stop();
  }
}
