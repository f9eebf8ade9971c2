// Issue 24, item 3: "confirm every order" needs a person — the approval link or the dashboard —
// for every client. A client that declares elicitation can answer its own question (an agent
// with a shell can read its own MCP config and drive it), so an in-client answer is audited as
// confirmed_in_client, never as a person, and never stands in for the person when the setting is
// on. Real MCP SDK clients over Streamable HTTP to the account's Durable Object, a fake bridge on
// a real WebSocket.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { describe, expect, it } from "vitest";
import { confirmationRule } from "../../edge/desk/confirmation-rule";
import { condorOrder, Edge, FakeBridge } from "./harness";

/** An SDK client that declares elicitation and answers every question with `answer` (the agent itself). */
async function selfAnsweringClient(edge: Edge, answer: () => ElicitResult | Promise<ElicitResult>): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = [];
  const client = new Client({ name: "self-answering-agent", version: "1.0.0" }, { capabilities: { elicitation: {} }, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params.message);
    return answer();
  });
  const transport = new StreamableHTTPClientTransport(new URL("https://edge.test/mcp"), { fetch: (input, init) => edge.stub().fetch(input as string, init) });
  await client.connect(transport);
  expect(transport.sessionId).toBeTruthy();
  return { client, asked };
}
const accept = (): ElicitResult => ({ action: "accept", content: { confirm: true } });
const place = async (client: Client, args: Record<string, unknown>) => (await client.callTool({ name: "place_order", arguments: args })) as { isError?: boolean; structuredContent: any };
const personRows = async (edge: Edge) => (await edge.audit()).filter((r) => r.actor === "person" || /by_person/.test(r.action));

describe("confirm every order needs a person, whatever the client", () => {
  it("a client that declares elicitation and accepts by itself does not send the order: it waits for the link or the dashboard", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    expect((await edge.admin("/api/confirm-every-order", { on: true, reason: "a person confirms every order" })).status).toBe(200);
    const agent = await selfAnsweringClient(edge, accept);
    const placed = await place(agent.client, condorOrder());
    expect(placed.structuredContent).toMatchObject({ success: true, status: "awaiting_confirmation", order_id: null });
    expect(placed.structuredContent.confirmation_url).toMatch(/\/approve/);
    expect(bridge.sent("place")).toHaveLength(0);
    // The in-client question is not what the setting asks for: the client is not asked at all.
    expect(agent.asked).toHaveLength(0);
    expect(await personRows(edge)).toEqual([]);
    // The owner approves it in the dashboard: only then is it sent.
    const approved = await edge.admin(`/api/approvals/${placed.structuredContent.trade_id}`, { decision: "approve", reason: "looked at it", by: "owner" });
    expect(approved.status).toBe(200);
    expect(bridge.sent("place")).toHaveLength(1);
    await agent.client.close();
    bridge.close();
  });

  it("the setting turned on while an in-client question is open still holds the order for a person", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const agent = await selfAnsweringClient(edge, async () => {
      // The owner switches the setting on while the agent's client is answering its own question.
      await edge.admin("/api/confirm-every-order", { on: true, reason: "switched on mid-question" });
      return accept();
    });
    const placed = await place(agent.client, condorOrder());
    expect(agent.asked).toHaveLength(1);
    expect(placed.structuredContent.status).toBe("awaiting_confirmation");
    expect(bridge.sent("place")).toHaveLength(0);
    await agent.client.close();
    bridge.close();
  });

  it("with the setting off an in-client answer may send, and is audited as confirmed_in_client (by the client), never as a person", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const agent = await selfAnsweringClient(edge, accept);
    const placed = await place(agent.client, condorOrder());
    expect(placed.structuredContent.status).toBe("Submitted");
    expect(agent.asked).toHaveLength(1);
    const rows = await edge.audit("confirmed_in_client");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.actor).toBe("mcp_client");
    expect(JSON.parse(rows[0]!.details_json)).toMatchObject({ symbol: "AAPL", note: expect.stringMatching(/not proof that a person/) });
    expect(await personRows(edge)).toEqual([]);
    await agent.client.close();
    bridge.close();
  });

  it("one rule decides, for every combination of the setting and the client", () => {
    expect(confirmationRule({ confirmEveryOrder: true, clientCanElicit: true })).toEqual({ askInClient: false, awaitPerson: true });
    expect(confirmationRule({ confirmEveryOrder: true, clientCanElicit: false })).toEqual({ askInClient: false, awaitPerson: true });
    expect(confirmationRule({ confirmEveryOrder: false, clientCanElicit: true })).toEqual({ askInClient: true, awaitPerson: false });
    expect(confirmationRule({ confirmEveryOrder: false, clientCanElicit: false })).toEqual({ askInClient: false, awaitPerson: false });
  });
});
