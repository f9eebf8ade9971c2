// The bridge judges the calendar by the broker's clock — TWS's CURRENT_TIME, measured at each
// session's start and on every heartbeat — not the machine's: the second key's "today", and the
// as_of of the account and of quotes. The simulator's clock is started weeks away from the
// machine's on purpose, so a bridge that read the machine's clock would fail here. Deadlines
// (expires_at) stay on the machine's clock (expiry.test.ts).
import { afterEach, describe, expect, it } from "vitest";
import { analyzeOrder } from "../../shared/risk";
import { isoExpiry, placeParams, type Rig, spyIronCondor, startRig, until, simSettlement } from "./helpers";

let rig: Rig | undefined;
afterEach(async () => {
  if (rig) {
    expect(rig.sim.protocolWarnings()).toEqual([]);
    await rig.stop();
  }
  rig = undefined;
});

const twsNow = () => Date.parse(rig!.sim.advanceClock(0).now);
const risk = (legs: Parameters<typeof analyzeOrder>[0], today: string) => analyzeOrder(legs, { today, settlement: simSettlement(legs) }).worstCaseLoss as number;

describe("the broker's clock", () => {
  it("lets through an option that trades today by TWS's clock though the machine's date is past its expiry", async () => {
    // Wednesday 2026-11-18 mid-session at TWS; the nearest listed expiry is Friday 2026-11-20.
    rig = await startRig({}, { startAt: Date.parse("2026-11-18T11:00:00-05:00") });
    expect(Date.now()).toBeGreaterThan(Date.parse("2026-11-21T00:00:00Z")); // the machine is past it
    const legs = spyIronCondor(rig.sim, 1, 0);
    expect(legs[0]!.contract).toMatchObject({ expiry: "2026-11-20" });
    const answer = await rig.edge.request("place", placeParams("IRON_CONDOR_SPY_20261118_110000", legs, risk(legs, "2026-11-18")));
    expect(answer.error ?? null).toBeNull();
    expect(rig.sim.orders().map((o) => o.orderRef)).toEqual(["IRON_CONDOR_SPY_20261118_110000"]);
  });

  it("refuses an option whose last session closed by TWS's clock though the machine's date is before its expiry", async () => {
    // Good Friday 2027 at TWS: the Good Friday expiry listed on Thursday 2027-03-25 has stopped
    // trading; the trading day is Monday 2027-03-29. The machine's clock is months before.
    rig = await startRig({}, { startAt: Date.parse("2027-03-26T11:00:00-04:00") });
    expect(Date.now()).toBeLessThan(Date.parse("2027-03-25T00:00:00Z"));
    const legs = spyIronCondor(rig.sim, 1, 0).map((l) => ({ ...l, contract: { ...l.contract, expiry: "2027-03-25" } }));
    const answer = await rig.edge.request("place", placeParams("IRON_CONDOR_SPY_20270326_110000", legs, 400));
    expect(answer.error?.code).toBe("second_key_refused");
    expect(answer.error?.violations?.find((v) => v.check === "expiry")?.message).toMatch(/Expiry 2027-03-25 is in the past \(today is 2027-03-29\)/);
    expect(rig.sim.orders()).toEqual([]);
  });

  it("stamps the account and quotes with TWS's clock, and follows it when it moves (told to the edge once it moves by more than a few seconds)", async () => {
    rig = await startRig({ BRIDGE_TWS_HEARTBEAT_MS: "100", BRIDGE_ACCOUNT_HEARTBEAT_MS: "200" }, { startAt: Date.parse("2026-11-18T11:00:00-05:00") });
    const skew = twsNow() - Date.now();
    expect(Math.abs(skew)).toBeGreaterThan(86_400_000);
    // Told at the session's start: TWS runs apart from this machine.
    const told = await until(() => rig!.edge.events<{ skew_ms: number }>("tws_clock")[0], 5_000, "the first clock report");
    expect(Math.abs(told.skew_ms - skew)).toBeLessThan(2_000);
    const account = await rig.edge.ok<{ as_of: string }>("account");
    expect(Math.abs(Date.parse(account.as_of) - twsNow())).toBeLessThan(2_000);
    const legs = spyIronCondor(rig.sim);
    const quote = await rig.edge.ok<{ as_of: string; greeks: unknown }>("quote", { legs: [legs[0]] });
    expect(Math.abs(Date.parse(quote.as_of) - twsNow())).toBeLessThan(2_000);

    // TWS's clock moves on 30 s (a test moving it, or TWS correcting itself): the next heartbeat
    // measures it, the edge is told, and what the bridge stamps follows.
    rig.sim.advanceClock(30_000);
    const moved = await until(() => rig!.edge.events<{ skew_ms: number }>("tws_clock").find((c) => c.skew_ms - told.skew_ms > 25_000), 5_000, "the moved clock's report");
    expect(moved.skew_ms - told.skew_ms).toBeLessThan(35_000);
    const later = await rig.edge.ok<{ as_of: string }>("quote", { legs: [legs[0]] });
    expect(Math.abs(Date.parse(later.as_of) - twsNow())).toBeLessThan(2_000);
    // A whole-second jitter of TWS's answers is not news: no further report.
    const reports = rig.edge.events("tws_clock").length;
    await new Promise((r) => setTimeout(r, 500));
    expect(rig.edge.events("tws_clock")).toHaveLength(reports);
    expect(isoExpiry(rig.sim.expiries()[0]!)).toBe("2026-11-20");
  });
});
