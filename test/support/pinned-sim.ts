// The TWS simulator as the tests start it: its clock at the pinned instant (clock-pin.ts), not the
// machine's, so no test depends on the hour it runs at. The clock then runs on in real time and
// moves with sim.advanceClock / POST /clock.
import { type Simulator, type SimulatorOptions, startSimulator } from "../tws-sim/index";
import { testStart } from "./clock-pin";

/** The pinned start, epoch ms. */
export const TEST_START_MS = Date.parse(testStart());

export function startPinnedSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ startAt: TEST_START_MS, ...opts });
}
