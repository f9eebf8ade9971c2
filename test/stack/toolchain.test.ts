// What the README says about Node versions stays true: the code's Node (engines) is the one the
// `node` package installs, npm may run on the machine's older Node (devEngines), and the
// EBADENGINE warnings `npm ci` prints there are exactly the ones the README names — none for this
// project itself. Asks the machine's own npm (a dry run, offline, nothing written).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string; version: string; engines: { node: string }; devEngines: { runtime: { name: string; version: string } }; dependencies: Record<string, string>;
};
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The machine's own npm, as a newcomer runs it: the project's bin directory left off PATH. */
function machineNpm(args: string[]) {
  const path = (process.env.PATH ?? "").split(":").filter((dir) => !dir.startsWith(join(root, "node_modules"))).join(":");
  return promisify(execFile)("npm", args, { cwd: root, env: { ...process.env, PATH: path }, maxBuffer: 8 * 1024 * 1024 });
}

describe("Node versions, as the README tells them", () => {
  it("engines names the Node the node package installs; devEngines lets Node 20 run npm", () => {
    const runtime = Number(pkg.dependencies.node!.split(".")[0]);
    expect(pkg.engines.node).toBe(">=22");
    expect(runtime).toBeGreaterThanOrEqual(22);
    expect(process.versions.node.split(".")[0]).toBe(String(runtime)); // the tests themselves run on it
    expect(pkg.devEngines.runtime).toMatchObject({ name: "node", version: ">=20" });
  });

  it("npm ci warns EBADENGINE only for the packages the README names, never for this project", { timeout: 60_000 }, async () => {
    const { stdout, stderr } = await machineNpm(["ci", "--dry-run", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"]);
    const warned = [...`${stdout}\n${stderr}`.matchAll(/EBADENGINE\s+package: '(.+)@[^@']+'/g)].map((m) => m[1]!);
    expect(warned).not.toContain(pkg.name);
    // On Node 22 and later there are none; on older Nodes each one is named in the README.
    const paragraph = readme.slice(readme.indexOf("`npm ci` still prints"), readme.indexOf("with Node 22 on the machine there are none"));
    for (const name of warned) expect(paragraph, `${name} warned by npm but not named in the README`).toContain(name);
    if (warned.length > 0) expect(paragraph).toContain(`${["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][warned.length] ?? warned.length} \`npm warn EBADENGINE\` blocks`);
  });
});
