// The bridge turns Nagle's algorithm off on the client's private socket; if an upgrade of
// @stoqey/ib moves that field, this fails instead of the bridge silently stalling ~40 ms a request.
import { EventName, IBApi } from "@stoqey/ib";
import { afterAll, beforeAll, expect, it } from "vitest";
import { disableNagle } from "../../bridge/tws-connection";
import { type Simulator } from "../tws-sim/index";
import { startPinnedSimulator } from "../support/pinned-sim";

let sim: Simulator;
beforeAll(async () => {
  sim = await startPinnedSimulator({ port: 0 });
});
afterAll(async () => {
  await sim.stop();
});

it("reaches @stoqey/ib's TCP socket and sets no-delay on it", async () => {
  const ib = new IBApi({ host: "127.0.0.1", port: sim.port });
  ib.on(EventName.error, () => undefined);
  const connected = new Promise<void>((resolve) => ib.once(EventName.nextValidId, () => resolve()));
  ib.connect(41);
  expect(disableNagle(ib)).toBe(true);
  const socket = (ib as unknown as { controller: { socket: { client: { setNoDelay: unknown } } } }).controller.socket.client;
  expect(typeof socket.setNoDelay).toBe("function");
  await connected;
  ib.disconnect();
});

it("reports false, not a crash, for a client without that socket", () => {
  expect(disableNagle({} as IBApi)).toBe(false);
});
