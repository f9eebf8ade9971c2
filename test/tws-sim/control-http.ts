// Small local HTTP control port so a test can steer a simulator running as a separate process:
// GET /state, POST /price {symbol, price}, POST /move {symbol, pct}, POST /cancel-all,
// POST /clock {advance_ms} (DAY orders end at their session's close), POST /fault {name, ...args}.
// JSON in, JSON out; loopback only by default.

import http from "node:http";
import type { Simulator } from "./index";

export interface ControlServer {
  port: number;
  close(): Promise<void>;
}

async function body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function route(sim: Simulator, method: string, path: string, b: Record<string, unknown>): Promise<unknown> {
  if (method === "GET" && path === "/health") return { ok: true };
  if (method === "GET" && path === "/state") return sim.state();
  if (method === "GET" && path === "/chain") {
    return Object.fromEntries(sim.server.market.symbols().map((s) => [s, { price: sim.getPrice(s), expiries: sim.expiries(), strikes: sim.strikes(s) }]));
  }
  if (method === "POST" && path === "/price") {
    sim.setPrice(String(b.symbol), Number(b.price));
    return { symbol: b.symbol, price: sim.getPrice(String(b.symbol)) };
  }
  if (method === "POST" && path === "/move") {
    return { symbol: b.symbol, price: sim.moveMarket(String(b.symbol), Number(b.pct)) };
  }
  if (method === "POST" && path === "/cancel-all") {
    // Someone at TWS itself (or another API client) cancels every working order.
    sim.server.engine.globalCancel();
    return { ok: true };
  }
  if (method === "POST" && path === "/clock") {
    const ms = Number(b.advance_ms);
    if (!Number.isFinite(ms) || ms < 0) throw new HttpError(400, "advance_ms must be a non-negative number of milliseconds");
    return sim.advanceClock(ms);
  }
  if (method === "POST" && path === "/fault") {
    const f = sim.fault;
    switch (b.name) {
      case "dropAll": f.dropAll(); break;
      case "refuseConnections": await f.refuseConnections(b.on !== false); break;
      case "silent": f.silent(b.on !== false); break;
      case "connectivityLost": f.connectivityLost(); break;
      case "connectivityRestored": f.connectivityRestored(b.dataLost === true); break;
      case "rejectNextOrder": f.rejectNextOrder(typeof b.reason === "string" ? b.reason : undefined); break;
      case "delayFills": f.delayFills(Number(b.ms ?? 0)); break;
      case "fillAfterCancel": f.fillAfterCancel(); break;
      case "restartTws": f.restartTws(); break;
      case "assignEarly": return { ok: true, fault: b.name, settled: f.assignEarly(Number(b.conId), b.contracts === undefined ? undefined : Number(b.contracts)) };
      default: throw new HttpError(400, `unknown fault ${String(b.name)}`);
    }
    return { ok: true, fault: b.name };
  }
  throw new HttpError(404, `no route ${method} ${path}`);
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function startControlHttp(sim: Simulator, port: number, host: string): Promise<ControlServer> {
  const srv = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    body(req)
      .then((b) => route(sim, req.method ?? "GET", path, b))
      .then((out) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(out));
      })
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 400;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (err as Error).message }));
      });
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, host, () => {
      const addr = srv.address();
      resolve({
        port: addr && typeof addr === "object" ? addr.port : port,
        close: () => new Promise<void>((r) => {
          srv.closeAllConnections();
          srv.close(() => r());
        }),
      });
    });
  });
}
