// `ibkr-bridge` / `npm run bridge`: reads the environment (every bad setting named at once),
// starts the daemon, and shuts down cleanly on SIGINT/SIGTERM (link closed, TWS disconnected,
// exit 0). `--help` lists every environment variable with its default.
import { Command } from "commander";
import { ConfigError, ENV_DOCS, loadConfig } from "./config";
import { BRIDGE_VERSION, startBridge } from "./daemon";

const EMERGENCY_STOP_POLICY = `Emergency stop file: while $EMERGENCY_STOP_FILE exists the bridge refuses every opening
order (error emergency_stop_file), whatever the edge approved. A close stays allowed only when
the bridge verifies it reduces positions the account holds (reduce-only, per leg) — the FIA
kill-switch practice: stop new risk, keep risk-reducing orders possible. Cancels always pass.`;

function envHelp(): string {
  const width = Math.max(...ENV_DOCS.map((d) => d.name.length));
  const lines = ENV_DOCS.map((d) => `  ${d.name.padEnd(width)}  ${d.meaning}\n  ${" ".repeat(width)}  default: ${d.default}`);
  return `\nEnvironment:\n${lines.join("\n")}\n\n${EMERGENCY_STOP_POLICY}\n\nExit codes: 0 clean stop (SIGINT/SIGTERM), 1 refused to run (paper/live account mismatch), 2 bad settings.\n`;
}

const program = new Command()
  .name("ibkr-bridge")
  .description("The Node daemon next to TWS / IB Gateway: runs IBKR calls for the edge over an outbound WebSocket, with a second safety key.")
  .version(BRIDGE_VERSION)
  .addHelpText("after", envHelp())
  .action(async () => {
    let config;
    try {
      config = loadConfig(process.env);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
    const bridge = startBridge(config);
    const shutdown = (signal: string) => {
      bridge.logger.info(`${signal} received`);
      void bridge.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    const error = await bridge.fatal;
    process.stderr.write(`ibkr-bridge refused to run: ${error.message}\n`);
    process.exit(1);
  });

await program.parseAsync(process.argv);
