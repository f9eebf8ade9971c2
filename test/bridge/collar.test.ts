// The one-trip order's market checks at the bridge, through the real link and @stoqey/ib against
// the simulator: an opening order sent with the edge's collar band is checked against the
// bridge's OWN fresh quote of its legs just before it goes out, and refused (never reaching TWS)
// when that mid is outside the band or TWS reports another underlying than the edge reserved under.
// preview_with_quote answers the quote and the what-if in one request.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collarBand } from "../../shared/checks";
import { netLimitPrice } from "../../shared/combo-price";
import { placeParams, spyIronCondor, until, useRig, risk } from "./helpers";
import { cents } from "../support/cents";

const current = useRig();


describe("the bridge's collar on its own quote", () => {
  it("sends an order whose band holds the market's mid, refuses one priced off the market with the amounts, and nothing of it reaches TWS", async () => {
    const { sim, edge, config } = current.rig;
    const legs = spyIronCondor(sim);
    const placed = await edge.ok<{ order_id: number }>("place", placeParams("IRON_CONDOR_SPY_20261201_100000", legs, risk(legs), { collar: collarBand(legs), exposure_group: "SPX" }));
    expect(sim.orders().map((o) => o.orderId)).toEqual([placed.order_id]);

    // The same structure with each short leg sold 0.60 cheaper: its net (the limit the edge decided
    // under) is 1.20 away from the combo's mid, so the band sent with it excludes the market.
    const skewed = spyIronCondor(sim, 1, 2).map((l) => (l.action === "SELL" ? { ...l, price: Math.max(0.01, l.price - 0.6) } : l));
    const band = collarBand(skewed)!;
    expect(cents(band.high - band.low)).toBeLessThan(50);
    const refused = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261201_100001", skewed, risk(skewed), { collar: band, exposure_group: "SPX" }));
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe("second_key_refused");
    const collar = refused.error?.violations?.find((v) => v.check === "price_collar");
    expect(collar?.message).toMatch(/^Limit price -?\$[\d.]+ is \$[\d.]+ from the mid -?\$[\d.]+; at most \$[\d.]+ is allowed$/);
    expect(collar?.value).toBeGreaterThan(collar?.limit ?? Number.POSITIVE_INFINITY);
    expect(collar?.message).toContain(`Limit price ${netLimitPrice(skewed) < 0 ? "-" : ""}$${Math.abs(netLimitPrice(skewed)).toFixed(2)}`);
    expect(sim.orders()).toHaveLength(1);
    await until(() => edge.events<{ trade_id: string }>("refusal").some((r) => r.trade_id === "IRON_CONDOR_SPY_20261201_100001"), 3000, "the refusal event");
    const safety = readFileSync(join(config.logsDir, "safety_violations.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(safety.at(-1).details.violations[0].check).toBe("price_collar");
  });

  it("refuses when its quote's mid leaves a band narrower than the shared collar (the bridge may only refuse), and when TWS reports another underlying", async () => {
    const { sim, edge } = current.rig;
    const legs = spyIronCondor(sim);
    const net = netLimitPrice(legs);
    // An edge band that holds only the limit itself: a natural-priced condor's mid is not on it.
    const narrow = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261201_110000", legs, risk(legs), { collar: { low: net, high: net } }));
    expect(narrow.error?.violations?.map((v) => v.check)).toEqual(["price_collar"]);
    expect(narrow.error?.violations?.[0]?.message).toContain("outside the band the edge approved");
    const group = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261201_110001", legs, risk(legs), { collar: collarBand(legs), exposure_group: "QQQ" }));
    expect(group.error?.violations?.map((v) => v.check)).toEqual(["exposure_group"]);
    expect(group.error?.violations?.[0]?.message).toContain("underlying as SPY");
    expect(sim.orders()).toHaveLength(0);
  });

  it("preview_with_quote: the legs' quote and IBKR's what-if in one request", async () => {
    const { sim, edge } = current.rig;
    const legs = spyIronCondor(sim);
    const both = await edge.ok<{ quote: { mid: number; underlying: string }; quote_error: string | null; margin: { init_margin_change: number | null }; margin_error: string | null }>(
      "preview_with_quote", placeParams("PREVIEW_SPY", legs, risk(legs)),
    );
    expect(both.quote_error).toBeNull();
    expect(both.margin_error).toBeNull();
    expect(both.quote.underlying).toBe("SPY");
    expect(Math.abs(both.quote.mid - netLimitPrice(legs))).toBeLessThan(1);
    expect(both.margin.init_margin_change).not.toBeNull();
    expect(sim.orders()).toHaveLength(0);
  });
});
