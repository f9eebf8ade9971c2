// What TWS holds: the positions as the bridge streams them (a flat one leaves a tombstone, so an
// older snapshot cannot bring it back), replaced by TWS's full list at reconciliation, and shown with
// the loss each can bring by itself. Every write takes an evidence number (store/ledger.ts
// nextEvidence), so a snapshot read earlier never overwrites a later streamed position.
import type { Position } from "../../shared/tools";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { nextEvidence, storedPositions } from "../store/ledger";

/** One position as TWS streamed it; a flat one leaves a tombstone, so an older snapshot cannot bring it back. */
export function writePosition(sql: SqlStorage, position: Position, at: Date): void {
  const evidence = nextEvidence(sql);
  if (position.quantity === 0) {
    sql.exec("DELETE FROM positions WHERE con_id = ?", position.con_id);
    setKv(sql, "position_tombstones", { ...getKv<Record<string, number>>(sql, "position_tombstones", {}), [position.con_id]: evidence });
    return;
  }
  sql.exec(
    "INSERT INTO positions (con_id, position_json, updated_at, evidence_seq) VALUES (?, ?, ?, ?) ON CONFLICT(con_id) DO UPDATE SET position_json = excluded.position_json, updated_at = excluded.updated_at, evidence_seq = excluded.evidence_seq",
    position.con_id, JSON.stringify(position), at.toISOString(), evidence,
  );
}

/**
 * Replaces the positions with TWS's full list (on reconnect), read when the evidence counter stood
 * at `evidenceAt`: a position streamed after that (or gone flat after it) keeps its newer value.
 */
export function replacePositions(ctx: DeskContext, positions: readonly Position[], evidenceAt = Number.POSITIVE_INFINITY): void {
  const now = ctx.now().toISOString();
  const tombstones = getKv<Record<string, number>>(ctx.sql, "position_tombstones", {});
  const newer = new Set(
    ctx.sql.exec<{ con_id: number }>("SELECT con_id FROM positions WHERE evidence_seq > ?", evidenceAt).toArray().map((r) => r.con_id),
  );
  for (const [conId, seq] of Object.entries(tombstones)) if (seq > evidenceAt) newer.add(Number(conId));
  ctx.sql.exec("DELETE FROM positions WHERE evidence_seq <= ?", evidenceAt);
  for (const p of positions)
    if (p.quantity !== 0 && !newer.has(p.con_id))
      ctx.sql.exec("INSERT OR REPLACE INTO positions (con_id, position_json, updated_at, evidence_seq) VALUES (?, ?, ?, ?)", p.con_id, JSON.stringify(p), now, evidenceAt === Number.POSITIVE_INFINITY ? 0 : evidenceAt);
  // Tombstones older than this snapshot have done their work.
  setKv(ctx.sql, "position_tombstones", Object.fromEntries(Object.entries(tombstones).filter(([, seq]) => seq > evidenceAt)));
  setKv(ctx.sql, "positions_as_of", now);
}

export function positionsView(sql: SqlStorage, symbol?: string): Position[] {
  return storedPositions(sql)
    .filter((p) => !symbol || p.symbol === symbol)
    .map((p) => ({ ...p, ...positionRisk(p) }));
}

export function positionsAsOf(sql: SqlStorage): string | null {
  return getKv<string | null>(sql, "positions_as_of", null);
}

/** The loss a position can bring by itself: stock to zero (long), unbounded (short: null); options are valued in their trades. */
export function positionRisk(p: Position): { worst_case_loss?: number | null; risk_note?: string } {
  if (p.sec_type !== "STK") return {};
  if (p.quantity < 0) return { worst_case_loss: null, risk_note: "short stock: the loss is unbounded" };
  return { worst_case_loss: Math.round(p.quantity * (p.current_price ?? p.avg_cost) * 100) / 100, risk_note: "long stock: the price could go to zero" };
}
