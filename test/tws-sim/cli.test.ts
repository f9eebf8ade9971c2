// The simulator as a separate process (`npm run sim`): one JSON line with the ports, a real
// client over TCP, the HTTP control port (state, price, faults), and a clean SIGTERM exit.

import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { EventName, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { afterEach, expect, it } from "vitest";
import { testStart } from "../support/clock-pin";
import { type Client, connect, waitFor } from "../support/ib-client";

const root = path.resolve(import.meta.dirname, "../..");
let child: ChildProcess | undefined;
let client: Client | undefined;
afterEach(() => {
  client?.close();
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

async function http(port: number, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, body: body ? JSON.stringify(body) : undefined, headers: { "content-type": "application/json" } });
  return (await res.json()) as Record<string, unknown>;
}

it("runs as a process, prints its ports, obeys the control port, exits on SIGTERM", async () => {
  child = spawn(path.join(root, "node_modules/.bin/tsx"), ["test/tws-sim/cli.ts", "--port", "0", "--control-port", "0", "--server-version", "176", "--account", "DU5550001", "--now", testStart()], {
    cwd: root, stdio: ["ignore", "pipe", "pipe"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child!.stdout! });
    rl.once("line", resolve);
    child!.once("exit", (code) => reject(new Error(`exited ${code}`)));
  });
  const info = JSON.parse(line) as { port: number; controlPort: number; account: string; serverVersion: number; now: string };
  // TWS's clock starts at --now, not the machine's, and the control port's clock moves on from it.
  expect(Math.abs(Date.parse(info.now) - Date.parse(testStart()))).toBeLessThan(5_000);
  expect(info.port).toBeGreaterThan(0);
  expect(info.controlPort).toBeGreaterThan(0);
  expect(info.serverVersion).toBe(176);

  client = await connect(info.port, 5);
  expect(client.accounts).toBe("DU5550001");
  expect(client.serverVersion).toBe(176);

  expect(await http(info.controlPort, "POST", "/price", { symbol: "IWM", price: 210 })).toEqual({ symbol: "IWM", price: 210 });
  await http(info.controlPort, "POST", "/fault", { name: "rejectNextOrder", reason: "from the control port" });
  const rejected = waitFor<[Error, number, number]>(client.ib, EventName.error, (_e, code) => code === 201);
  const iwm = { symbol: "IWM", secType: SecType.STK, exchange: "SMART", currency: "USD" };
  client.ib.placeOrder(client.nextValidId, iwm, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 210.01, totalQuantity: 10, transmit: true, orderRef: "cli-1" });
  expect((await rejected)[0].message).toBe("Order rejected - reason:from the control port");
  const filled = waitFor(client.ib, EventName.orderStatus, (id: number, s: string) => id === client!.nextValidId + 1 && s === "Filled");
  client.ib.placeOrder(client.nextValidId + 1, iwm, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 210.01, totalQuantity: 10, transmit: true, orderRef: "cli-2" });
  await filled;

  const state = await http(info.controlPort, "GET", "/state");
  const orders = state.orders as { orderRef: string; status: string }[];
  expect(orders.map((o) => [o.orderRef, o.status])).toEqual([["cli-1", "Rejected"], ["cli-2", "Filled"]]);
  expect((state.executions as unknown[]).length).toBe(1);
  expect((state.positions as { symbol: string; position: number }[]).map((p) => [p.symbol, p.position])).toEqual([["IWM", 10]]);
  expect((state.prices as Record<string, number>).IWM).toBe(210);
  expect((state.pacing as { total: number }).total).toBeGreaterThan(0);
  expect(state.protocolWarnings).toEqual([]);
  expect(await http(info.controlPort, "POST", "/fault", { name: "nope" })).toEqual({ error: "unknown fault nope" });
  expect(client.codes()).not.toContain(505);

  const moved = (await http(info.controlPort, "POST", "/clock", { advance_ms: 3_600_000 })) as { now: string };
  expect(Date.parse(moved.now) - Date.parse(info.now)).toBeGreaterThanOrEqual(3_600_000);
  expect(Date.parse(moved.now) - Date.parse(info.now)).toBeLessThan(3_600_000 + 30_000);

  const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
});

it("refuses a --now that is not an instant with its offset, saying what it wants", async () => {
  const run = spawn(path.join(root, "node_modules/.bin/tsx"), ["test/tws-sim/cli.ts", "--now", "2026-11-18T11:00:00"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  child = run;
  let stderr = "";
  run.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => run.once("exit", (c) => r(c)));
  expect(code).toBe(2);
  expect(stderr).toContain("--now must be an ISO instant with its offset, e.g. 2026-11-18T11:00:00-05:00, got 2026-11-18T11:00:00");
});
