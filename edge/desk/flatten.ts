// "Close all positions" works from what TWS holds, not only from the ledger's states. First every
// trade with fills is brought up to its evidence (ledger/trade-state.ts), so a trade wrongly left
// cancelled or working is closed as a trade. Then each position TWS reports that no active trade
// accounts for (placed by hand, or a fill the ledger never tied to a trade) gets a flatten trade
// of its own — one leg, the position as held — and is closed through the same close path (and
// the bridge's reduce-only second key). A flatten books no realized P&L in the ledger: its cost
// basis was never the ledger's, and TWS's own daily P&L already counts it.
import { OPTION_MULTIPLIER } from "../../shared/limits";
import { roundCents } from "../../shared/money";
import type { Leg } from "../../shared/order";
import { makeTradeId } from "../../shared/trade-id";
import type { Position } from "../../shared/tools";
import { updateTrade } from "../ledger/trade-state";
import type { DeskContext } from "../store/desk-context";
import { FLATTEN_STRATEGY, heldByActiveTrades, insertTrade, tradeExists } from "../store/ledger";
import { positionsView } from "../ledger/positions";

/** Re-derives every not-yet-closed trade that has fills from that evidence. */
export function reassessTrades(ctx: DeskContext): void {
  const ids = ctx.sql
    .exec<{ trade_id: string }>("SELECT DISTINCT f.trade_id AS trade_id FROM fills f JOIN trades t ON t.trade_id = f.trade_id WHERE t.state != 'closed'")
    .toArray();
  for (const { trade_id } of ids) updateTrade(ctx, trade_id);
}

/** What TWS holds per contract beyond what the active trades (and flattens under way) account for. */
export function uncoveredPositions(ctx: DeskContext): { position: Position; quantity: number }[] {
  const covered = heldByActiveTrades(ctx.sql, { flattens: true });
  const out: { position: Position; quantity: number }[] = [];
  for (const position of positionsView(ctx.sql)) {
    const quantity = position.quantity - (covered.get(position.con_id) ?? 0);
    if (Math.abs(quantity) > 1e-9) out.push({ position, quantity });
  }
  return out;
}

function legOf(position: Position, quantity: number): Leg | null {
  const action = quantity > 0 ? "BUY" : "SELL"; // the position as if opened by this leg; the close reverses it
  // A display price only (the bridge prices a close at the market): the mark, else the cost per share.
  const perShare = position.current_price ?? position.avg_cost / (position.sec_type === "OPT" ? OPTION_MULTIPLIER : 1);
  const price = Math.max(0.01, roundCents(Number.isFinite(perShare) ? Math.abs(perShare) : 0));
  if (position.sec_type === "STK") return { action, quantity: Math.abs(quantity), price, contract: { symbol: position.symbol, sec_type: "STK" } };
  if (position.sec_type === "OPT" && position.expiry && position.strike !== null && position.right)
    return { action, quantity: Math.abs(quantity), price, contract: { symbol: position.symbol, expiry: position.expiry, strike: position.strike, right: position.right } };
  return null;
}

/** Records a flatten trade (state open, no reserved risk) for one uncovered position; null if it cannot be expressed as a leg. */
export function flattenTrade(ctx: DeskContext, position: Position, quantity: number): string | null {
  const leg = legOf(position, quantity);
  if (!leg) return null;
  const now = ctx.now();
  let tradeId = makeTradeId(FLATTEN_STRATEGY, position.symbol, now);
  for (let n = 2; tradeExists(ctx.sql, tradeId); n++) tradeId = makeTradeId(FLATTEN_STRATEGY, position.symbol, now, n);
  insertTrade(ctx.sql, {
    trade_id: tradeId, symbol: position.symbol, strategy: FLATTEN_STRATEGY, state: "open", reserved_risk: 0, exposure: 0, exposure_group: null,
    computed_max_risk: null, claimed_max_risk: 0, capital_required: 0, net_premium: 0, max_gain: null, breakevens_json: "[]",
    legs_json: JSON.stringify([leg]), limit_price: 0, fingerprint: `flatten:${position.con_id}:${now.getTime()}`,
    metadata_json: JSON.stringify({ source: "tws_position", con_id: position.con_id, held: position.quantity, avg_cost: position.avg_cost }),
    idempotency_key: null, created_at: now.toISOString(), created_ms: now.getTime(), updated_at: now.toISOString(), expires_at: null,
  });
  ctx.audit("admin", "flatten_position", { trade_id: tradeId, con_id: position.con_id, symbol: position.symbol, sec_type: position.sec_type, quantity, held: position.quantity });
  return tradeId;
}
