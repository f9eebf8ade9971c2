// Which Chromium the dashboard tests drive: by default the one npm installs with the devDependency
// @sparticuz/chromium (no root, no system package), unpacked once into node_modules/.cache and run
// with its own NSS libraries and fonts, so it behaves the same on every machine. CHROMIUM_PATH
// picks another executable, explicitly; nothing is taken from the system unasked.
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const PACKAGE = "@sparticuz/chromium";

export interface ChromiumBinary {
  executablePath: string;
  /** Environment the browser process needs on top of ours (its libraries and fonts). */
  env: Record<string, string>;
  /** For the test log: where it came from. */
  describe: string;
}

/** The browser for the dashboard tests; throws, saying what to do, when there is none. */
export function dashboardChromium(): ChromiumBinary {
  const override = process.env.CHROMIUM_PATH?.trim();
  if (override) {
    try {
      accessSync(override, constants.X_OK);
    } catch {
      throw new Error(`CHROMIUM_PATH=${override} is not an executable file. Point it at a Chromium, or unset it to use the Chromium that \`npm ci\` installs (${PACKAGE}).`);
    }
    return { executablePath: override, env: {}, describe: `CHROMIUM_PATH ${override}` };
  }
  return npmChromium();
}

function npmChromium(): ChromiumBinary {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(PACKAGE);
  } catch {
    throw new Error(`The dashboard tests need the Chromium of the npm package ${PACKAGE} (a devDependency), which is not installed: run \`npm ci\` (not --omit=dev). Or set CHROMIUM_PATH to a Chromium executable.`);
  }
  const packageDir = join(dirname(entry), "..");
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  // node_modules/.cache: next to the package it came from, and gone with it on the next `npm ci`.
  const dir = join(packageDir, "..", "..", ".cache", "sparticuz-chromium", version);
  if (!existsSync(join(dir, "chromium"))) unpack(entry, join(packageDir, "bin"), dir);
  return {
    executablePath: join(dir, "chromium"),
    env: {
      // The package's own NSS/NSPR/expat (built for Amazon Linux 2023), ahead of any system copy.
      LD_LIBRARY_PATH: [join(dir, "al2023", "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":"),
      FONTCONFIG_FILE: join(dir, "fonts.conf"),
    },
    describe: `${PACKAGE} ${version} in ${dir}`,
  };
}

/**
 * The package unpacks into os.tmpdir(), so it runs in a child whose TMPDIR is a fresh staging
 * directory, renamed into place only when complete: a run that dies halfway leaves no half binary,
 * and two runs at once cannot write the same file.
 */
function unpack(entry: string, binDir: string, dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    const script = [
      `const { default: chromium, inflate } = await import(${JSON.stringify(pathToFileURL(entry).href)});`,
      "await chromium.executablePath();",
      // Only unpacked on Amazon Linux by the package itself; we always run with them (see above).
      `await inflate(${JSON.stringify(join(binDir, "al2023.tar.br"))});`,
    ].join("\n");
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: staging }, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    if (!existsSync(join(staging, "chromium")) || !existsSync(join(staging, "al2023", "lib", "libnss3.so"))) throw new Error(`${PACKAGE} unpacked without chromium or its libraries into ${staging}`);
    // Only the fonts that ship with the package: the page renders the same with or without system fonts.
    writeFileSync(join(staging, "fonts.conf"), `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, "fonts", "fonts")}</dir>\n  <cachedir>${join(dir, "fontconfig-cache")}</cachedir>\n</fontconfig>\n`);
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another run finished first: its copy is as good as ours.
      if (!existsSync(join(dir, "chromium"))) throw error;
    }
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    throw new Error(`Could not unpack the Chromium of ${PACKAGE} into ${dir}: ${detail}. Try \`npm ci\` again, or set CHROMIUM_PATH to a Chromium executable.`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
