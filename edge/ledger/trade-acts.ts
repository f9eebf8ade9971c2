// Who acted on each trade: placed, modified, closed or cancelled it, by which credential
// (edge/ledger/credential.ts). One row per act, written in the same turn as the act's own audit row;
// read by the dashboard's trades and its credential filter.
import { Credential } from "./credential";

export type TradeAct = "placed" | "modified" | "closed" | "cancelled";
export interface TradeActView { act: TradeAct; by: Credential; at: string }

export function recordAct(sql: SqlStorage, tradeId: string, act: TradeAct, by: Credential, at: Date): void {
  sql.exec("INSERT INTO trade_acts (trade_id, act, credential_id, credential_json, at) VALUES (?, ?, ?, ?, ?)", tradeId, act, by.id, JSON.stringify(by), at.toISOString());
}

export function actsOf(sql: SqlStorage, tradeId: string): TradeActView[] {
  return sql
    .exec<{ act: TradeAct; credential_json: string; at: string }>("SELECT act, credential_json, at FROM trade_acts WHERE trade_id = ? ORDER BY id", tradeId)
    .toArray()
    .map((r) => ({ act: r.act, by: Credential.parse(JSON.parse(r.credential_json)), at: r.at }));
}

/** The trades a credential acted on in any way. */
export function tradesActedOnBy(sql: SqlStorage, credentialId: string): Set<string> {
  return new Set(sql.exec<{ trade_id: string }>("SELECT DISTINCT trade_id FROM trade_acts WHERE credential_id = ?", credentialId).toArray().map((r) => r.trade_id));
}
