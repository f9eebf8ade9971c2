// The shared end of every simulator test: it is where the wire-format guarantees are asserted.
import { expect } from "vitest";
import type { Simulator } from "../tws-sim/index";
import type { Client } from "./ib-client";

/**
 * End of a simulator test: every client closes without a 505 (the simulator mis-framed nothing)
 * and the simulator read every request to its last field.
 */
export async function closeCleanly(clients: Client[], sim: Simulator | undefined): Promise<void> {
  for (const c of clients.splice(0)) {
    expect(c.codes()).not.toContain(505);
    c.close();
  }
  if (sim) {
    expect(sim.protocolWarnings()).toEqual([]);
    await sim.stop();
  }
}
