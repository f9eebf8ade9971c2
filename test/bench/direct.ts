// The direct path of the benchmark: the same operations made with @stoqey/ib straight against
// the simulator, with no edge and no bridge, so the full path's cost can be read as a ratio.
import { type Contract, EventName, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { collectUntil, connect, waitFor } from "../support/ib-client";
import type { Simulator } from "../tws-sim/index";
import { type Series, timeSeries } from "./stats";

const SUMMARY_TAGS = "NetLiquidation,TotalCashValue,BuyingPower,AvailableFunds,ExcessLiquidity,MaintMarginReq";

function condorBag(sim: Simulator): Contract {
  const expiry = sim.expiries()[1] as string;
  const spec = [[560, "P", "BUY"], [570, "P", "SELL"], [590, "C", "SELL"], [600, "C", "BUY"]] as const;
  const comboLegs = spec.map(([k, r, action]) => ({ conId: sim.optionConId("SPY", expiry, k, r) as number, ratio: 1, action, exchange: "SMART" }));
  return { symbol: "SPY", secType: SecType.BAG, exchange: "SMART", currency: "USD", comboLegs: comboLegs as unknown as Contract["comboLegs"] };
}

export async function directSeries(sim: Simulator, count: number): Promise<Record<string, Series>> {
  const c = await connect(sim.port, 77);
  c.ib.setMaxListeners(0);
  let reqId = 10_000;
  let orderId = c.nextValidId;
  const bag = condorBag(sim);
  try {
    const account = await timeSeries("get_account", "direct @stoqey/ib", count, async () => {
      const id = reqId++;
      const rows = collectUntil(c.ib, EventName.accountSummary, EventName.accountSummaryEnd, (rid: number) => rid === id);
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
      c.ib.placeOrder(id, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: -1, totalQuantity: 1, whatIf: true, transmit: true });
      await answer;
    });
    // A far-from-market credit limit rests, so every order is measured to Submitted, not to a fill.
    const place = await timeSeries("place_order→Submitted", "direct @stoqey/ib", count, async (i) => {
      const id = orderId++;
      const submitted = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Submitted");
      c.ib.placeOrder(id, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: -9.5, totalQuantity: 1, transmit: true, orderRef: `BENCH_${i}` });
      await submitted;
    });
    c.ib.reqGlobalCancel();
    return { account, positions, preview, place };
  } finally {
    c.close();
  }
}
