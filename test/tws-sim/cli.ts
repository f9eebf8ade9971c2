// Command line for the TWS simulator: `npm run sim -- --port 7497 --control-port 7498`.
// Prints one JSON line with the listening ports, then runs until SIGINT/SIGTERM.
// Port 0 (the default) picks free ports, so parallel runs never collide. `--now <ISO instant>`
// starts TWS's clock there (tests choose the hour); without it the clock is the machine's.

import { parseArgs } from "node:util";
import { startSimulator } from "./index";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "control-port": { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    "server-version": { type: "string" },
    account: { type: "string" },
    "fill-delay-ms": { type: "string" },
    "fill-rule": { type: "string" },
    now: { type: "string" },
  },
  strict: true,
});

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const fillRule = values["fill-rule"];
if (fillRule !== undefined && fillRule !== "touch" && fillRule !== "mid") {
  console.error(`--fill-rule must be touch or mid, got ${fillRule}`);
  process.exit(2);
}

const nowText = values.now;
const startAt = nowText === undefined ? undefined : Date.parse(nowText);
if (nowText !== undefined && (!/(Z|[+-]\d{2}:\d{2})$/.test(nowText) || !Number.isFinite(startAt))) {
  console.error(`--now must be an ISO instant with its offset, e.g. 2026-11-18T11:00:00-05:00, got ${nowText}`);
  process.exit(2);
}

const sim = await startSimulator({
  port: num(values.port),
  host: values.host,
  controlPort: num(values["control-port"]),
  serverVersion: num(values["server-version"]),
  account: values.account,
  fillDelayMs: num(values["fill-delay-ms"]),
  fillRule,
  startAt,
});

process.stdout.write(`${JSON.stringify({ port: sim.port, controlPort: sim.controlPort ?? null, account: sim.account, serverVersion: sim.serverVersion, now: sim.advanceClock(0).now })}\n`);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  sim.stop().then(() => process.exit(0), () => process.exit(1));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
