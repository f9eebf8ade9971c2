// `npm start`: the whole system on loopback for a newcomer — TWS simulator (unless IBKR_MODE names
// a real TWS/Gateway), edge in workerd via wrangler dev with local SQLite kept in .wrangler/state,
// and the bridge — then prints the MCP URL, its token and ready-to-paste client configuration.
// Ctrl-C stops all three; if one of them dies on its own, the others are stopped too.
// Env: IBKR_MODE, IBKR_HOST/PORT/CLIENT_ID, IBKR_ACCOUNT_ID (real TWS), EDGE_PORT (8787),
// SHADOW_MODE=true, QUIET=1, TRADING_WORKSPACE, DEV_VARS_FILE (.dev.vars), STATE_DIR (.wrangler/state).
import { join, resolve } from "node:path";
import { IbkrMode } from "../../shared/protocol";
import { type Stack, type StackHealth, startStack } from "./local-stack";
import { canConnect, portInUse, stopAllManaged } from "./processes";
import { ensureDevVars } from "./secrets";

const root = join(import.meta.dirname, "..", "..");
/** The mode's default TWS/Gateway port, as the bridge uses it (IBKR_PORT overrides). */
const MODE_PORTS: Record<Exclude<IbkrMode, "sim">, number> = { paper_tws: 7497, paper_gateway: 4002, live_tws: 7496, live_gateway: 4001 };

function fail(message: string, code = 2): never {
  console.error(`npm start: ${message}`);
  process.exit(code);
}

function portFromEnv(name: string, fallback?: number): number | undefined {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) fail(`${name}=${text} is not a port number`);
  return port;
}

async function main(): Promise<void> {
  const modeText = process.env.IBKR_MODE?.trim() || "sim";
  const parsed = IbkrMode.safeParse(modeText);
  if (!parsed.success) fail(`IBKR_MODE=${modeText} is not one of ${IbkrMode.options.join(", ")}`);
  const mode = parsed.data;
  const edgePort = portFromEnv("EDGE_PORT", 8787)!;
  if (await portInUse(edgePort)) fail(`port ${edgePort} on 127.0.0.1 is already in use (another npm start or wrangler dev?). Stop it, or pick another port: EDGE_PORT=8790 npm start`);

  const accountId = process.env.IBKR_ACCOUNT_ID?.trim() || undefined;
  const tws = { host: process.env.IBKR_HOST?.trim() || "127.0.0.1", port: portFromEnv("IBKR_PORT"), clientId: process.env.IBKR_CLIENT_ID ? Number(process.env.IBKR_CLIENT_ID) : undefined };
  if (mode !== "sim") {
    if (!accountId) fail(`IBKR_MODE=${mode} needs IBKR_ACCOUNT_ID (your account id as TWS shows it, e.g. DU1234567): the edge refuses a bridge whose TWS reports another account`);
    if (mode.startsWith("live_") && process.env.IBKR_ALLOW_LIVE !== "yes") fail(`IBKR_MODE=${mode} trades real money and also needs IBKR_ALLOW_LIVE=yes`);
    const port = tws.port ?? MODE_PORTS[mode];
    if (!(await canConnect(tws.host, port))) {
      console.warn(`Warning: nothing accepts connections on ${tws.host}:${port}. Start TWS/IB Gateway with the API enabled (Configure → API → Settings); the bridge keeps retrying.`);
    }
  }

  const devVars = resolve(root, process.env.DEV_VARS_FILE?.trim() || ".dev.vars");
  const { secrets, created } = ensureDevVars(devVars);
  if (created) console.log(`Generated local secrets into ${devVars} (gitignored, never commit it).`);

  let stack: Stack | null = null;
  let stopping = false;
  const shutdown = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping the bridge, the edge${mode === "sim" ? " and the simulator" : ""}…`);
    await (stack ? stack.stop() : stopAllManaged());
    console.log("Stopped.");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("Ctrl-C", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.on("SIGHUP", () => void shutdown("SIGHUP", 0));

  console.log(`Starting ${mode === "sim" ? "the TWS simulator, " : ""}the edge (wrangler dev on 127.0.0.1:${edgePort}) and the bridge (IBKR_MODE=${mode})…`);
  try {
    stack = await startStack({
      root,
      mode,
      secrets,
      envFile: devVars,
      accountId,
      stateDir: resolve(root, process.env.STATE_DIR?.trim() || join(".wrangler", "state")),
      workDir: process.env.TRADING_WORKSPACE ?? join(root, ".wrangler", "trading_workspace"),
      edgePort,
      shadowMode: process.env.SHADOW_MODE === "true",
      tws,
      echo: process.env.QUIET !== "1",
      // A person at a terminal reads the bridge's lines echoed here: readable ones (LOG_FORMAT wins if set).
      ...(process.stdout.isTTY && !process.env.LOG_FORMAT ? { bridgeEnv: { LOG_FORMAT: "pretty" } } : {}),
    });
  } catch (error) {
    if (stopping) return;
    await stopAllManaged();
    fail(`could not start: ${(error as Error).message}`, 1);
  }
  if (stopping) return;
  const running = stack;
  running.onUnexpectedExit((child, code) => {
    const tail = child.output().trim().split("\n").slice(-15).join("\n");
    console.error(`\nThe ${child.name} process exited on its own (code ${code}). Its last output:\n${tail}`);
    void shutdown(`${child.name} died`, 1);
  });

  // Ready means the edge has the bridge's link. TWS is the bridge's business: a real TWS may be
  // down or not started yet, and then the person is told so at once, and again when it connects.
  const twsAt = running.sim ? `the simulator at 127.0.0.1:${running.sim.port}` : `${tws.host}:${tws.port ?? MODE_PORTS[mode as Exclude<IbkrMode, "sim">]}`;
  let linked = true;
  try {
    await running.waitEdgeLinked(60_000);
  } catch {
    linked = false;
  }
  // The link is up; the bridge dials TWS beside it. A simulator answers at once, a real TWS within seconds or not at all.
  let health = await running.health().catch(() => null);
  const twsDeadline = Date.now() + (running.sim ? 30_000 : 5_000);
  while (linked && health?.tws?.state !== "connected" && Date.now() < twsDeadline) {
    await new Promise((r) => setTimeout(r, 300));
    health = await running.health().catch(() => null);
  }
  const twsUp = health?.tws?.state === "connected";
  const twsLine = twsUp
    ? `connected (${twsAt})`
    : `NOT connected at ${twsAt}${health?.tws?.last_error ? ` (${health.tws.last_error})` : ""}\n` +
      "              Start TWS or IB Gateway with the API on (Configure → API → Settings: Enable ActiveX and Socket Clients, that port);\n" +
      "              the bridge keeps retrying, and this window says when TWS connects.";
  const headline = !linked
    ? `Not ready: the bridge has not linked to the edge within 60 s, so the edge refuses every order. Its last output:\n${lastLines(running, "bridge", 8)}`
    : twsUp
      ? "Ready."
      : "Ready — but TWS is not connected, so the edge refuses every order until it is.";

  const mcpEntry = { mcpServers: { ibkr: { type: "http", url: running.mcpUrl, headers: { Authorization: `Bearer ${secrets.MCP_TOKEN}` } } } };
  // mcp-remote reads ${AUTH_HEADER} from its env: some clients mangle spaces inside args.
  const desktopEntry = { mcpServers: { ibkr: { command: "npx", args: ["mcp-remote", running.mcpUrl, "--header", "Authorization:${AUTH_HEADER}"], env: { AUTH_HEADER: `Bearer ${secrets.MCP_TOKEN}` } } } };
  console.log(`
${headline}
  MCP URL:    ${running.mcpUrl}
  MCP token:  ${secrets.MCP_TOKEN}
  Dashboard:  ${running.dashboardUrl}
              log in with ADMIN_TOKEN, kept in ${devVars}: grep ADMIN_TOKEN ${devVars}
  TWS:        ${twsLine}
${running.sim ? `  Simulator:  TWS API on 127.0.0.1:${running.sim.port}, control ${running.sim.controlUrl}\n` : ""}
Claude Code:
  claude mcp add --transport http ibkr ${running.mcpUrl} --header "Authorization: Bearer ${secrets.MCP_TOKEN}"
  (or without --header: OAuth in the browser; the consent page takes ADMIN_TOKEN)

Claude Desktop, or any client that only runs local commands (through mcp-remote):
  npx mcp-remote ${running.mcpUrl} --header "Authorization: Bearer ${secrets.MCP_TOKEN}"
  as claude_desktop_config.json:
${JSON.stringify(desktopEntry, null, 2)}

Any MCP client (JSON):
${JSON.stringify(mcpEntry, null, 2)}

Ctrl-C stops everything.`);
  if (linked) watchLink(running, twsAt, health);
}

/** The last `count` lines a child printed, indented, for a message that says why. */
function lastLines(stack: Stack, name: string, count: number): string {
  const output = stack.processes().find((p) => p.name === name)?.output() ?? "";
  return output.trim().split("\n").slice(-count).map((line) => `    ${line}`).join("\n") || "    (nothing)";
}

/** Says each change of the bridge's link or of TWS as it happens, so "Ready" never goes stale. */
function watchLink(stack: Stack, twsAt: string, first: StackHealth | null): void {
  let last = { bridge: first?.bridge.connected ?? false, tws: first?.tws?.state ?? null };
  const timer = setInterval(() => {
    void stack.health().then((now) => {
      if (!now) return;
      const current = { bridge: now.bridge.connected, tws: now.bridge.connected ? (now.tws?.state ?? null) : null };
      if (current.bridge !== last.bridge) console.log(current.bridge ? "The bridge linked to the edge again." : "The bridge's link to the edge is down: the edge refuses every order until it is back.");
      if (current.bridge && current.tws !== last.tws) {
        if (current.tws === "connected") console.log(`TWS connected (${twsAt}).${now.can_open_new_trades === false ? ` New trades are still refused: ${(now.blocked_by ?? []).join("; ")}` : " Orders can be placed."}`);
        else console.log(`TWS is ${current.tws ?? "not reported"} at ${twsAt}${now.tws?.last_error ? ` (${now.tws.last_error})` : ""}: the edge refuses orders until it connects; the bridge keeps retrying.`);
      }
      last = current;
    }, () => undefined);
  }, 2_000);
  timer.unref();
}

main().catch(async (error: unknown) => {
  await stopAllManaged();
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
