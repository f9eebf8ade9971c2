// A trade's standing, from what the bridge reported: its current mark (net per combo unit, in the
// order's signed convention), unrealized P&L against the cash it opened for, how far it is from
// its worst case, and days to expiry; and the account's net greeks per underlying from TWS's
// option computations. Marks come from the positions TWS reports (PORTFOLIO_VALUE's per-share
// market price); nothing is estimated: a leg without a price leaves the figure null with a reason.
import { z } from "zod";
import { OPTION_MULTIPLIER } from "../../shared/limits";
import { roundCents } from "../../shared/money";
import { comboSize } from "../../shared/combo-price";
import { isOptionLeg, type Leg } from "../../shared/order";
import type { Greeks } from "../../shared/protocol";
import { calendarDay } from "../../shared/trade-id";
import type { Position } from "../../shared/tools";
import type { DeskContext } from "../store/desk-context";
import { fillsOfTrade, legsOf, listTrades, type TradeRow } from "../store/ledger";
import { recordQuoteUnderlying } from "../safety/underlying-prices";

export const TradeStanding = z.object({
  /** Net per combo unit to buy the structure now, debit positive (the opening limit's convention). */
  mark: z.number().nullable(),
  /** Cash the trade opened for (credit positive, before commissions), from its fills, else from its limit price. */
  opening_cash: z.number(),
  unrealized_pnl: z.number().nullable(),
  /** The computed worst-case loss at expiry, and how much more the trade can lose before it. */
  worst_case_loss: z.number().nullable(),
  distance_to_worst_case: z.number().nullable(),
  days_to_expiry: z.number().int().nullable(),
  as_of: z.string().nullable(),
  reason: z.string().nullable(),
});
export type TradeStanding = z.infer<typeof TradeStanding>;

const legKey = (symbol: string, expiry: string | null, strike: number | null, right: string | null) => `${symbol}|${expiry ?? ""}|${strike ?? ""}|${right ?? ""}`;

function positionsByContract(sql: SqlStorage): Map<string, { position: Position; updated_at: string }> {
  const out = new Map<string, { position: Position; updated_at: string }>();
  for (const row of sql.exec<{ position_json: string; updated_at: string }>("SELECT position_json, updated_at FROM positions").toArray()) {
    const p = JSON.parse(row.position_json) as Position;
    out.set(legKey(p.symbol, p.expiry, p.strike, p.right), { position: p, updated_at: row.updated_at });
  }
  return out;
}

function contractKeyOf(leg: Leg): string {
  return isOptionLeg(leg) ? legKey(leg.contract.symbol, leg.contract.expiry, leg.contract.strike, leg.contract.right) : legKey(leg.contract.symbol, null, null, null);
}

function daysBetween(fromIso: string, toIso: string): number {
  return Math.round((Date.parse(`${toIso}T00:00:00Z`) - Date.parse(`${fromIso}T00:00:00Z`)) / 86_400_000);
}

/** The standing of an open (or closing) trade; null for a trade that holds nothing. */
export function tradeStanding(sql: SqlStorage, trade: TradeRow, now: Date, positions = positionsByContract(sql)): TradeStanding | null {
  if (trade.state !== "open" && trade.state !== "closing") return null;
  const legs = legsOf(trade);
  const units = comboSize(legs);
  const fills = fillsOfTrade(sql, trade.trade_id).filter((f) => !f.order_ref || f.order_ref === trade.trade_id);
  const mult = (secType: string) => (secType === "STK" ? 1 : OPTION_MULTIPLIER);
  const openingCash = fills.length
    ? roundCents(fills.reduce((sum, f) => sum + (f.side === "SLD" ? 1 : -1) * f.shares * f.price * mult(f.sec_type), 0))
    : roundCents(-trade.limit_price * OPTION_MULTIPLIER * units);
  const expiries = legs.filter(isOptionLeg).map((l) => (l as Leg & { contract: { expiry: string } }).contract.expiry).sort();
  const daysToExpiry = expiries.length ? daysBetween(calendarDay(now), expiries[0] as string) : null;
  let mark = 0;
  let value = 0;
  let asOf: string | null = null;
  const missing: string[] = [];
  for (const leg of legs) {
    const held = positions.get(contractKeyOf(leg));
    const price = held?.position.current_price ?? null;
    if (price === null) {
      missing.push(isOptionLeg(leg) ? `${leg.contract.strike}${leg.contract.right}` : leg.contract.symbol);
      continue;
    }
    const sign = leg.action === "BUY" ? 1 : -1;
    mark += sign * (leg.quantity / units) * price;
    value += sign * leg.quantity * price * (isOptionLeg(leg) ? OPTION_MULTIPLIER : 1);
    if (!asOf || held!.updated_at > asOf) asOf = held!.updated_at;
  }
  const worst = trade.computed_max_risk;
  if (missing.length)
    return {
      mark: null, opening_cash: openingCash, unrealized_pnl: null, worst_case_loss: worst, distance_to_worst_case: null, days_to_expiry: daysToExpiry, as_of: asOf,
      reason: `TWS reports no market price for leg${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of this trade`,
    };
  const unrealized = roundCents(openingCash + value);
  return {
    mark: roundCents(mark), opening_cash: openingCash, unrealized_pnl: unrealized, worst_case_loss: worst,
    distance_to_worst_case: worst === null ? null : roundCents(Math.max(0, worst + unrealized)), days_to_expiry: daysToExpiry, as_of: asOf, reason: null,
  };
}

/** Standings of every open or closing trade, by trade id. */
export function openTradeStandings(sql: SqlStorage, now: Date): { trade_id: string; symbol: string; strategy: string; standing: TradeStanding }[] {
  const positions = positionsByContract(sql);
  return [...listTrades(sql, { state: "open", limit: 200 }), ...listTrades(sql, { state: "closing", limit: 200 })]
    .map((t) => ({ trade_id: t.trade_id, symbol: t.symbol, strategy: t.strategy, standing: tradeStanding(sql, t, now, positions) }))
    .filter((x): x is { trade_id: string; symbol: string; strategy: string; standing: TradeStanding } => x.standing !== null);
}

export const NetGreeks = z.object({
  /** Position delta in shares of the underlying (Σ quantity × delta × multiplier); stock counts 1 a share. */
  delta: z.number(),
  /** Per 1-point move of the underlying, per day, per volatility point; dollars for theta and vega. */
  gamma: z.number(),
  theta: z.number(),
  vega: z.number(),
  /** Option legs TWS gave no greeks for (their contribution is missing, not guessed). */
  legs_without_greeks: z.number().int(),
});
export const NetGreeksView = z.object({
  by_underlying: z.record(z.string(), NetGreeks),
  as_of: z.string(),
  reason: z.string().nullable(),
});

/**
 * Net greeks per underlying of every open or closing trade, from one bridge quote per trade
 * (TWS's model greeks per leg). Keyed by the trade's own symbol, not its concentration group: a
 * delta is in shares of that underlying, so SPY's and SPX's cannot be added. Without a bridge:
 * null figures and the reason.
 */
export async function netGreeks(ctx: DeskContext): Promise<z.infer<typeof NetGreeksView>> {
  const trades = [...listTrades(ctx.sql, { state: "open", limit: 50 }), ...listTrades(ctx.sql, { state: "closing", limit: 50 })];
  const asOf = ctx.now().toISOString();
  if (trades.length === 0) return { by_underlying: {}, as_of: asOf, reason: null };
  if (!ctx.link.socket()) return { by_underlying: {}, as_of: asOf, reason: "no bridge connected: greeks come from TWS" };
  const out: Record<string, z.infer<typeof NetGreeks>> = {};
  const problems: string[] = [];
  await Promise.all(
    trades.map(async (t) => {
      const legs = legsOf(t);
      try {
        const q = await ctx.link.request("quote", { legs: legs.map((l) => ({ ...l })) });
        recordQuoteUnderlying(ctx.sql, t.symbol, q);
        const perLeg: ({ greeks: Greeks | null } | undefined)[] = legs.length === 1 ? [{ greeks: q.greeks ?? null }] : (q.leg_greeks ?? []);
        const group = (out[t.symbol] ??= { delta: 0, gamma: 0, theta: 0, vega: 0, legs_without_greeks: 0 });
        legs.forEach((leg, i) => {
          const sign = leg.action === "BUY" ? 1 : -1;
          if (!isOptionLeg(leg)) {
            group.delta += sign * leg.quantity;
            return;
          }
          const g = perLeg[i]?.greeks ?? null;
          if (!g || g.delta === null || g.gamma === null || g.theta === null || g.vega === null) {
            group.legs_without_greeks++;
            return;
          }
          const n = sign * leg.quantity * OPTION_MULTIPLIER;
          group.delta += n * g.delta;
          group.gamma += n * g.gamma;
          group.theta += n * g.theta;
          group.vega += n * g.vega;
        });
      } catch (error) {
        problems.push(`${t.trade_id}: ${(error as Error).message}`);
        const group = (out[t.symbol] ??= { delta: 0, gamma: 0, theta: 0, vega: 0, legs_without_greeks: 0 });
        group.legs_without_greeks += legs.filter(isOptionLeg).length;
      }
    }),
  );
  const r = (x: number) => Math.round(x * 10_000) / 10_000;
  for (const g of Object.values(out)) Object.assign(g, { delta: r(g.delta), gamma: r(g.gamma), theta: r(g.theta), vega: r(g.vega) });
  return { by_underlying: out, as_of: asOf, reason: problems.length ? `no quote for ${problems.join("; ")}` : null };
}
