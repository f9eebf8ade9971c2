// The bridge's settings in-process: each mode's port, the overrides, the workspace and
// emergency-stop defaults, and TWS's time formats read as the instants they name.
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, MODE_PORTS, safeUrl } from "../../bridge/config";
import { twsTimeToIso } from "../../bridge/mirror";

const base = { EDGE_URL: "https://edge.example.com", BRIDGE_TOKEN: "0123456789abcdef-token" };

describe("bridge config", () => {
  it("takes each mode's port unless IBKR_PORT overrides it", () => {
    expect(MODE_PORTS).toEqual({ paper_tws: 7497, paper_gateway: 4002, live_tws: 7496, live_gateway: 4001, sim: 7497 });
    expect(loadConfig({ ...base, IBKR_MODE: "paper_gateway" }).port).toBe(4002);
    expect(loadConfig({ ...base, IBKR_MODE: "live_gateway", IBKR_ALLOW_LIVE: "yes" }).port).toBe(4001);
    expect(loadConfig({ ...base, IBKR_MODE: "paper_tws", IBKR_PORT: "7000" }).port).toBe(7000);
  });

  it("defaults: sim mode, 127.0.0.1, client 0, ~/trading_workspace with logs/ and EMERGENCY_STOP inside", () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({ mode: "sim", host: "127.0.0.1", clientId: 0, accountId: null, marketDataType: 1, logLevel: "info" });
    expect(config.workspace).toBe(join(homedir(), "trading_workspace"));
    expect(config.logsDir).toBe(join(homedir(), "trading_workspace", "logs"));
    expect(config.emergencyStopFile).toBe(join(homedir(), "trading_workspace", "EMERGENCY_STOP"));
    expect(config.timing).toMatchObject({ twsHeartbeatMs: 10_000, linkPingMs: 10_000, linkDeadMs: 30_000, accountHeartbeatMs: 5_000 });
    const custom = loadConfig({ ...base, TRADING_WORKSPACE: "/srv/tw", EMERGENCY_STOP_FILE: "/run/STOP" });
    expect([custom.logsDir, custom.emergencyStopFile]).toEqual(["/srv/tw/logs", "/run/STOP"]);
  });

  it("lists every problem at once and never echoes the token", () => {
    let error: unknown;
    try {
      loadConfig({ EDGE_URL: "https://edge.example.com", BRIDGE_TOKEN: "short", IBKR_MODE: "live_tws", IBKR_MARKET_DATA_TYPE: "7" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "IBKR_MODE=live_tws trades real money: refusing to start unless IBKR_ALLOW_LIVE=yes is also set",
      'IBKR_MARKET_DATA_TYPE must be 1, 2, 3 or 4 (got "7")',
      "BRIDGE_TOKEN must be at least 16 characters",
    ]);
    expect((error as Error).message).not.toContain("short");
    expect(safeUrl(new URL("https://ops:pw@edge.example.com/x?token=abc"))).toBe("https://edge.example.com/x");
  });

  it("reads TWS execution times in their zone", () => {
    expect(twsTimeToIso("20261125 10:30:45 US/Eastern")).toBe("2026-11-25T15:30:45.000Z");
    expect(twsTimeToIso("20260715 10:30:45 US/Eastern")).toBe("2026-07-15T14:30:45.000Z");
    expect(twsTimeToIso("20261125-15:30:45")).toBe("2026-11-25T15:30:45.000Z");
    expect(twsTimeToIso("20261125 10:30:45 America/Chicago")).toBe("2026-11-25T16:30:45.000Z");
  });
});
