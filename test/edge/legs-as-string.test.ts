// `legs` sent as a JSON string (some desktop MCP clients stringify nested arrays): accepted when
// the string parses to the array, through exactly the same validation and checks as the array;
// anything else is refused with an error that names `legs`, and nothing reaches the bridge.
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, ironCondor } from "./harness";

describe("legs as a JSON string", () => {
  it("places, previews and quotes exactly as with the array", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const legs = ironCondor();

    const preview = await edge.call("preview_order", condorOrder({ legs: JSON.stringify(legs) }));
    expect(preview.isError, preview.content?.[0]?.text).toBeFalsy();
    expect(preview.structuredContent).toMatchObject({ would_pass: true, computed_max_risk: 400, limit_price: -1 });

    const placed = await edge.call("place_order", condorOrder({ legs: JSON.stringify(legs) }));
    expect(placed.isError, placed.content?.[0]?.text).toBeFalsy();
    expect(placed.structuredContent).toMatchObject({ success: true, status: "Submitted", computed_max_risk: 400, net_premium: 100 });
    // The bridge gets the parsed legs, as if the agent had sent the array.
    expect(bridge.sent("place")[0]!.params.legs).toEqual(legs);
    const listed = await edge.call("list_trades", {});
    expect(listed.structuredContent.trades[0].legs).toEqual(legs);

    const quote = await edge.call("get_quote", { legs: JSON.stringify([{ action: "BUY", quantity: 1, contract: { symbol: "AAPL", sec_type: "STK" } }]) });
    expect(quote.isError, quote.content?.[0]?.text).toBeFalsy();
    expect(bridge.sent("quote").at(-1)!.params.legs).toEqual([{ action: "BUY", quantity: 1, contract: { symbol: "AAPL", sec_type: "STK" } }]);
    bridge.close();
  });

  it("the string's legs pass the same checks: a bad leg inside it is refused with its field named", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const legs = ironCondor();
    legs[1] = { ...legs[1]!, price: -0.5 };
    const result = await edge.call("place_order", condorOrder({ legs: JSON.stringify(legs) }));
    expect(result.isError).toBe(true);
    expect(result.content?.[0]?.text).toContain("price cannot be negative");
    expect(result.content?.[0]?.text).toMatch(/legs/);
    // A string is no way around the limits: an over-size order in a string is refused by the checks.
    const big = ironCondor("AAPL", 100, 3);
    const refused = await edge.call("place_order", condorOrder({ legs: JSON.stringify(big), max_risk: 1200, capital_required: 1200 }));
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations.map((v: { check: string }) => v.check)).toContain("max_trade_risk");
    expect(bridge.sent("place")).toHaveLength(0);
    bridge.close();
  });

  it("refuses a string that is not a JSON array of legs, saying so, and changes nothing", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const cases: [unknown, RegExp][] = [
      ["[{\"action\": \"BUY\"", /legs is a string but not valid JSON/],
      [JSON.stringify(ironCondor()[0]), /legs as a string must hold a JSON array of legs/],
      ["", /legs is a string but not valid JSON/],
      [JSON.stringify([]), /at least one leg/],
      [`[${" ".repeat(20_000)}]`, /legs as a string is too long/],
    ];
    for (const [legs, message] of cases) {
      const result = await edge.call("place_order", condorOrder({ legs }));
      expect(result.isError, String(legs).slice(0, 60)).toBe(true);
      expect(result.content?.[0]?.text, String(legs).slice(0, 60)).toMatch(message);
    }
    expect(bridge.sent("place")).toHaveLength(0);
    expect(await edge.audit("order_checks_passed")).toHaveLength(0);
    bridge.close();
  });

  it("says so in the tools' descriptions, and the advertised schema stays the array", async () => {
    const edge = new Edge();
    const { tools } = await edge.rpc("tools/list", {});
    for (const name of ["place_order", "preview_order", "get_quote"]) {
      const tool = tools.find((t: { name: string }) => t.name === name);
      expect(tool.description, name).toMatch(/legs may also be sent as a JSON string/i);
      expect(tool.inputSchema.properties.legs.type, name).toBe("array");
    }
  });
});
