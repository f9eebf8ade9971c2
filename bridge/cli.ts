// `ibkr-bridge` / `npm run bridge`: reads the environment (every bad setting named at once),
// starts the daemon, and shuts down cleanly on SIGINT/SIGTERM (link closed, TWS disconnected,
// exit 0). `--help` lists every environment variable with its default. `--public-key` prints the
// identity's public key (making the key pair on first run) for the edge's BRIDGE_PUBLIC_KEY.
import { Command } from "commander";
import { ConfigError, ENV_DOCS, loadConfig } from "./config";
import { BRIDGE_VERSION, startBridge } from "./daemon";
import { IdentityError, loadOrCreateIdentity } from "./identity";

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
  .option("--public-key", "print the bridge's public key (set it as the edge's BRIDGE_PUBLIC_KEY), making the key pair if there is none, and exit")
  .action(async (flags: { publicKey?: boolean }) => {
    let config;
    let identity;
    try {
      // Printing the public key needs only where the key lives, not the edge's URL or token.
      config = loadConfig(flags.publicKey ? { EDGE_URL: "http://127.0.0.1", BRIDGE_TOKEN: "not-needed-for-the-key", ...process.env } : process.env);
      // Checked before anything starts: a missing key is made, an unreadable or exposed one stops here.
      const loaded = loadOrCreateIdentity(config.identityFile);
      identity = loaded.identity;
      if (loaded.created) process.stderr.write(`Made a new bridge identity key in ${config.identityFile}. Give the edge its public key: wrangler secret put BRIDGE_PUBLIC_KEY, then paste ${identity.publicKey}\n`);
    } catch (error) {
      if (error instanceof ConfigError || error instanceof IdentityError) {
        process.stderr.write(`${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
    if (flags.publicKey) {
      process.stdout.write(`${identity.publicKey}\n`);
      process.exit(0);
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
