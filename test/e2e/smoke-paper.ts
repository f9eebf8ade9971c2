// `npm run smoke:paper`: the core scenario against a real paper TWS/IB Gateway, through a private
// local edge (wrangler dev, fresh state) and the real bridge, driven by the MCP SDK client.
// Without IBKR_MODE=paper_* it prints a SKIPPED line and exits 0; it never runs against live.
import { startTestStack, type TestStack } from "./harness";
import { ironCondor, type OrderStatusView, waitOrderStatus } from "./scenario";

const mode = process.env.IBKR_MODE?.trim() ?? "";
if (mode !== "paper_tws" && mode !== "paper_gateway") {
  const why = mode.startsWith("live_") ? `IBKR_MODE=${mode} is live: the smoke test never trades real money` : `IBKR_MODE is ${mode ? `"${mode}"` : "unset"}; set paper_tws or paper_gateway with a running, logged-in paper TWS/Gateway`;
  console.log(`SKIPPED: smoke:paper — ${why}.`);
  process.exit(0);
}
const accountId = process.env.IBKR_ACCOUNT_ID?.trim();
if (!accountId || !/^D[UF]/i.test(accountId)) {
  console.error(`smoke:paper needs IBKR_ACCOUNT_ID set to your paper account (DU…/DF…), got ${accountId ? `"${accountId}"` : "nothing"}.`);
  process.exit(2);
}
const symbol = process.env.SMOKE_SYMBOL?.trim().toUpperCase() || "SPY";

let failures = 0;
const pass = (what: string) => console.log(`PASS  ${what}`);
const failed = (what: string, detail: unknown) => {
  failures++;
  console.log(`FAIL  ${what}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
};
const note = (what: string) => console.log(`NOTE  ${what}`);

let t: TestStack | null = null;
try {
  console.log(`smoke:paper — ${mode} at ${process.env.IBKR_HOST ?? "127.0.0.1"}${process.env.IBKR_PORT ? `:${process.env.IBKR_PORT}` : ""}, account ${accountId}, ${symbol}`);
  t = await startTestStack("smoke-paper", {
    mode,
    accountId,
    tws: { host: process.env.IBKR_HOST, port: process.env.IBKR_PORT ? Number(process.env.IBKR_PORT) : undefined, clientId: Number(process.env.IBKR_CLIENT_ID ?? 99) },
  });
  pass("edge, bridge and paper TWS linked (/api/health)");

  const account = await t.mcp.tool<{ account_id: string; net_liquidation: number; data_age_seconds: number }>("get_account");
  if (!account.isError && account.structured.account_id === accountId) pass(`get_account: net liquidation ${account.structured.net_liquidation}, ${account.structured.data_age_seconds}s old`);
  else failed("get_account", account.text);

  const positions = await t.mcp.tool<{ positions: unknown[] }>("get_positions");
  if (!positions.isError) pass(`get_positions: ${positions.structured.positions.length} positions`);
  else failed("get_positions", positions.text);

  const tooRisky = await ironCondor(t.mcp, symbol, { width: 10, pricing: "touch" });
  const refused = await t.mcp.tool<{ message?: string }>("place_order", tooRisky);
  if (refused.isError && /exceeds limit \(\$500\.00\)/.test(refused.text)) pass(`refused over-limit condor: ${refused.structured.message ?? refused.text}`);
  else failed("an over-$500 condor must be refused", refused.text);

  const condor = await ironCondor(t.mcp, symbol, { width: 2, pricing: "touch", metadata: { source: "smoke:paper" } });
  const placed = await t.mcp.tool<{ success: boolean; trade_id: string; order_id: number; status: string }>("place_order", condor);
  if (placed.isError || !placed.structured.success) {
    failed("place_order 1-lot iron condor", placed.text);
  } else {
    pass(`placed ${placed.structured.trade_id} as order ${placed.structured.order_id} (${placed.structured.status})`);
    let status: OrderStatusView | null = null;
    try {
      status = await waitOrderStatus(t.mcp, placed.structured.order_id, ["Filled", "Cancelled", "Rejected", "Inactive"], 60_000);
    } catch {
      note("not filled within 60 s (market closed or price moved): cancelling it");
      const cancel = await t.stack.admin("/api/cancel-all", { reason: "smoke:paper cleanup", by: "smoke:paper" });
      if (cancel.ok) pass("cancel-all accepted");
      else failed("cancel-all", await cancel.text());
    }
    if (status?.status === "Filled") {
      pass(`filled at ${status.avg_fill_price}`);
      const closed = await t.mcp.tool<{ success: boolean; close_order_id: number }>("close_position", { trade_id: placed.structured.trade_id });
      if (closed.isError || !closed.structured.success) failed("close_position", closed.text);
      else {
        const closeStatus = await waitOrderStatus(t.mcp, closed.structured.close_order_id, ["Filled", "Cancelled", "Rejected", "Inactive"], 60_000).catch((e: Error) => e);
        if (!(closeStatus instanceof Error) && closeStatus.status === "Filled") pass("closed");
        else failed("close order did not fill within 60 s — check the paper account and close it by hand", closeStatus instanceof Error ? closeStatus.message : closeStatus);
        const after = await t.mcp.tool<{ realized_pnl: number }>("get_account");
        note(`realized P&L now ${after.structured.realized_pnl}`);
      }
    } else if (status) {
      failed("the condor ended without a fill", status);
    }
  }
} catch (error) {
  failed("smoke run", (error as Error).message);
} finally {
  await t?.stop();
}
console.log(failures === 0 ? "smoke:paper OK" : `smoke:paper: ${failures} failure(s); logs under test-output/logs/smoke-paper-*.log`);
process.exit(failures === 0 ? 0 : 1);
