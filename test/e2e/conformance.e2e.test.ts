// The official MCP conformance suite (@modelcontextprotocol/conformance) against the real edge
// (wrangler dev, bridge, simulator). The suite sends no Authorization header, so a test-only
// proxy in front adds the static MCP_TOKEN (like a header-capable client would) and forwards
// everything else as it came — Origin included; the edge lists the proxy's origin in
// ALLOWED_ORIGINS, as a deployment would list its own front end. Scenarios that exercise the
// suite's own test tools, prompts or resources do not apply to this server: they are listed,
// with the reason, in conformance-baseline.yml, and the suite fails on any other failure and on
// a baseline entry that starts passing.
import { execFile } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../stack/processes";
import { ROOT, type TestStack, startTestStack } from "./harness";

const BASELINE = join(ROOT, "test/e2e/conformance-baseline.yml");
/** The scenarios that apply to this server (the rest are in the baseline with their reason). */
const APPLICABLE = ["server-initialize", "ping", "tools-list", "tools-call-error", "resources-list", "server-sse-multiple-streams", "dns-rebinding-protection"];

let t: TestStack;
let proxy: Server;
let proxyUrl: string;

/** Adds the static token and forwards to the edge, streaming the answer (SSE included). */
function authProxy(edgeUrl: string, token: string): Server {
  const upstream = new URL(edgeUrl);
  return createServer((req, res) => {
    const headers = { ...req.headers, host: upstream.host };
    if (!headers.authorization) headers.authorization = `Bearer ${token}`;
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on("error", (error) => {
      res.writeHead(502).end(String(error));
    });
    req.pipe(out);
  });
}

function conformance(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(join(ROOT, "node_modules/.bin/conformance"), ["server", "--url", `${proxyUrl}/mcp`, ...args], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  proxyUrl = `http://127.0.0.1:${port}`;
  t = await startTestStack("conformance", { edgeVars: { ALLOWED_ORIGINS: proxyUrl } });
  proxy = authProxy(t.stack.edgeUrl, t.secrets.MCP_TOKEN);
  await new Promise<void>((r) => proxy.listen(port, "127.0.0.1", r));
});

afterAll(async () => {
  proxy?.close();
  await t?.stop();
});

describe("MCP conformance suite against the edge", () => {
  it("every applicable scenario passes, and every other failure is in the baseline with its reason", async () => {
    const run = await conformance(["--expected-failures", BASELINE]);
    expect(run.output).toContain("Baseline check passed");
    expect(run.code, run.output.slice(-6000)).toBe(0);
    for (const scenario of APPLICABLE) expect(run.output).not.toMatch(new RegExp(`✗ ${scenario}\\b`));
  });

  it("each applicable scenario passes on its own", async () => {
    for (const scenario of APPLICABLE) {
      const run = await conformance(["--scenario", scenario]);
      expect(run.code, `${scenario}:\n${run.output.slice(-4000)}`).toBe(0);
      expect(run.output, scenario).toMatch(/Passed: (\d+)\/\1, 0 failed/);
    }
  });
});
