// edge/store/kv.ts keeps what a synchronous turn read, in workerd's own SQLite storage: within a
// turn every change made through it is read back at once, a transaction that rolls back leaves
// nothing of its writes once forgotten, and the next turn reads storage again (a change made behind
// its back shows there).
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import { deleteKv, forgetKvReads, getKv, setKv } from "../../edge/store/kv";
import { Edge } from "./harness";

const turnEnds = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("the kv store's reads of one turn", () => {
  it("reads back every change made through it in the same turn, hot keys (read together) and others alike", async () => {
    const edge = new Edge();
    await edge.inside((sql) => {
      expect(getKv(sql, "emergency_stop", "unset")).toBe("unset");
      expect(getKv(sql, "bench:other", "unset")).toBe("unset");
      setKv(sql, "emergency_stop", { on: true });
      setKv(sql, "bench:other", 7);
      expect(getKv(sql, "emergency_stop", null)).toEqual({ on: true });
      expect(getKv(sql, "bench:other", null)).toBe(7);
      deleteKv(sql, "bench:other");
      expect(getKv(sql, "bench:other", "gone")).toBe("gone");
      // And what storage holds agrees.
      expect(sql.exec("SELECT value_json FROM kv WHERE key = 'emergency_stop'").one().value_json).toBe('{"on":true}');
      expect(sql.exec("SELECT COUNT(*) AS n FROM kv WHERE key = 'bench:other'").one().n).toBe(0);
    });
  });

  it("hands out a fresh value each read: a caller changing what it got changes nothing kept", async () => {
    const edge = new Edge();
    await edge.inside((sql) => {
      setKv(sql, "high_water_mark", { n: 1 });
      const first = getKv<{ n: number }>(sql, "high_water_mark", { n: 0 });
      first.n = 99;
      expect(getKv(sql, "high_water_mark", { n: 0 })).toEqual({ n: 1 });
    });
  });

  it("forgets a rolled-back transaction's writes, read or written inside it", async () => {
    const edge = new Edge();
    await runInDurableObject(edge.stub(), async (_o: AccountDO, state) => {
      const sql = state.storage.sql;
      setKv(sql, "loss_streak", 1);
      expect(() =>
        state.storage.transactionSync(() => {
          setKv(sql, "loss_streak", 5);
          expect(getKv(sql, "loss_streak", 0)).toBe(5);
          throw new Error("rolled back");
        }),
      ).toThrow("rolled back");
      forgetKvReads();
      expect(getKv(sql, "loss_streak", 0)).toBe(1);
    });
  });

  it("reads storage again in the next turn: a change made behind its back shows there, not before", async () => {
    const edge = new Edge();
    await runInDurableObject(edge.stub(), async (_o: AccountDO, state) => {
      const sql = state.storage.sql;
      setKv(sql, "pnl", { daily_pnl: 1 });
      expect(getKv(sql, "pnl", null)).toEqual({ daily_pnl: 1 });
      sql.exec("UPDATE kv SET value_json = ? WHERE key = 'pnl'", JSON.stringify({ daily_pnl: -400 }));
      // Same turn: the kept read (nothing of ours writes kv except through the store).
      expect(getKv(sql, "pnl", null)).toEqual({ daily_pnl: 1 });
      await turnEnds();
      expect(getKv(sql, "pnl", null)).toEqual({ daily_pnl: -400 });
    });
  });
});
