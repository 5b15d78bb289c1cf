// A second MCP client, the official TypeScript SDK, through the whole check_plan flow on a real server:
// render a brief, submit a draft plan (it fails a stated cap), submit the fix as a revision (it passes), read the
// saved plan as plan://, list the plans. Prints one JSON object with what each step returned.
//   node check_flow.mjs stdio PYTHON -m retention_mcp serve ...   (stdin: {"scenario", "draft", "fixed"})
//   node check_flow.mjs http http://127.0.0.1:PORT/mcp
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, ...args] = process.argv.slice(2);
const input = JSON.parse(readFileSync(0, "utf8"));
const transport =
  mode === "stdio"
    ? new StdioClientTransport({ command: target, args, env: process.env, stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(target));
const client = new Client({ name: "retention-mcp-ts-check", version: "1.0.0" });
await client.connect(transport);

const { scenario, draft, fixed } = input;
const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
const out = { tools: (await client.listTools()).tools.map((t) => t.name) };
const rendered = await client.callTool({ name: scenario.tool, arguments: scenario.arguments });
out.rendered = {
  isError: Boolean(rendered.isError),
  prompt: rendered.structuredContent?.prompt ?? "",
  text: text(rendered),
};
const first = await client.callTool({
  name: "check_plan",
  arguments: { template: scenario.tool, plan: draft, arguments: JSON.stringify(scenario.arguments) },
});
out.first = { isError: Boolean(first.isError), text: text(first), result: first.structuredContent };
const second = await client.callTool({
  name: "check_plan",
  arguments: { template: scenario.tool, plan: fixed, plan_id: first.structuredContent.plan_id },
});
out.second = { isError: Boolean(second.isError), text: text(second), result: second.structuredContent };
const read = await client.readResource({ uri: second.structuredContent.plan_uri });
out.read = JSON.parse(read.contents[0].text);
const listed = await client.callTool({ name: "list_plans", arguments: {} });
out.listed = listed.structuredContent;
await client.close();
process.stdout.write(JSON.stringify(out));
