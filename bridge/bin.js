#!/usr/bin/env node
// `ibkr-bridge` launcher: registers tsx's loader in this process and runs bridge/cli.ts, so
// signals reach the daemon directly (no wrapper process in between).
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
