// The official MCP conformance suite (@modelcontextprotocol/conformance, its newest release) against
// the real edge (wrangler dev, bridge, simulator), at both protocol revisions the edge serves:
// 2025-11-25 (initialize handshake) and 2026-07-28 (stateless, per-request _meta). The suite sends
// no Authorization header, so a test-only proxy in front adds the static MCP_TOKEN (like a
// header-capable client would) and forwards everything else as it came — Origin included; the edge
// lists the proxy's origin in ALLOWED_ORIGINS, as a deployment would list its own front end.
// Scenarios that exercise the suite's own test tools, prompts or resources do not apply to this
// server: they are listed, with the reason, in each revision's baseline file, and the suite fails
// on any other failure and on a baseline entry that starts passing.
import { execFile } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../stack/processes";
import { ROOT, type TestStack, startTestStack } from "./harness";

/** Per revision: its baseline, and the scenarios that apply (every check passes, or the few baselined by check). */
const REVISIONS = [
  {
    version: "2025-11-25",
    baseline: join(ROOT, "test/e2e/conformance-baseline.yml"),
    applicable: ["server-initialize", "ping", "tools-list", "resources-list", "server-sse-multiple-streams", "dns-rebinding-protection"],
    partly: [] as string[],
  },
  {
    version: "2026-07-28",
    baseline: join(ROOT, "test/e2e/conformance-baseline-2026-07-28.yml"),
    applicable: ["tools-list", "resources-list", "server-sse-multiple-streams", "sep-2164-resource-not-found", "dns-rebinding-protection", "http-header-validation", "input-required-result-unsupported-methods", "input-required-result-validate-input"],
    // Every check passes but the ones the baseline names by check id (the suite's diagnostic tools, prompts).
    partly: ["server-stateless", "caching"],
  },
];

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
  for (const revision of REVISIONS) {
    describe(revision.version, () => {
      it("every scenario of the revision: the applicable ones pass, every other failure is in the baseline with its reason", async () => {
        const run = await conformance(["--suite", "all", "--spec-version", revision.version, "--expected-failures", revision.baseline]);
        expect(run.output).toContain("Baseline check passed");
        expect(run.code, run.output.slice(-6000)).toBe(0);
        // Each ran (none was skipped as not applicable at this revision), and the applicable ones passed.
        for (const scenario of revision.partly) expect(run.output).toContain(`✗ ${scenario}: `);
        for (const scenario of revision.applicable) expect(run.output).toMatch(new RegExp(`✓ ${scenario}: [1-9]\\d* passed, 0 failed`));
      });

      it("each applicable scenario passes on its own", async () => {
        for (const scenario of revision.applicable) {
          const run = await conformance(["--spec-version", revision.version, "--scenario", scenario]);
          expect(run.code, `${scenario}:\n${run.output.slice(-4000)}`).toBe(0);
          expect(run.output, scenario).toMatch(/Passed: (\d+)\/\1, 0 failed/);
        }
        // Only the checks the baseline names may fail in these.
        for (const scenario of revision.partly) {
          const run = await conformance(["--spec-version", revision.version, "--scenario", scenario, "--expected-failures", revision.baseline]);
          expect(run.code, `${scenario}:\n${run.output.slice(-4000)}`).toBe(0);
        }
      });
    });
  }
});
