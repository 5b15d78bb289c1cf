// A test host for the views, on the official AppBridge: it connects to the server over streamable HTTP (same origin),
// calls a tool, reads the view its tool links to, and renders it inside a sandbox proxy on a second origin.
import { AppBridge, PostMessageTransport, RESOURCE_MIME_TYPE, getToolUiResourceUri } from "@modelcontextprotocol/ext-apps/app-bridge";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const HOST = { name: "retention-view-test-host", version: "1.0.0" };
const params = new URLSearchParams(location.search);
const SANDBOX = params.get("sandbox");
let client, tools;

window.hostLog = { downloads: [], messages: [], sizes: [], logs: [] };

async function connect() {
  client = new Client(HOST, {
    capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: [RESOURCE_MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.origin)));
  tools = new Map((await client.listTools()).tools.map((t) => [t.name, t]));
}

function sandboxFrame(stage) {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
  frame.id = "view-frame";
  const ready = new Promise((resolve) => {
    const listen = ({ source, data }) => {
      if (source === frame.contentWindow && data && data.method === "ui/notifications/sandbox-proxy-ready") {
        window.removeEventListener("message", listen);
        resolve();
      }
    };
    window.addEventListener("message", listen);
  });
  frame.src = SANDBOX;
  stage.replaceChildren(frame);
  return [frame, ready];
}

// Calls a tool, then renders its view; resolves with the result and the time from HTML sent to drawn (ms).
window.showTool = async (name, args, context) => {
  if (!client) await connect();
  const tool = tools.get(name);
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${name} links no view`);
  const result = await client.callTool({ name, arguments: args });
  const resource = await client.readResource({ uri });
  const content = resource.contents[0];
  if (resource.contents.length !== 1 || content.mimeType !== RESOURCE_MIME_TYPE) throw new Error(`not an app: ${uri}`);
  const [frame, ready] = sandboxFrame(document.getElementById("stage"));
  await ready;
  const caps = client.getServerCapabilities() || {};
  const bridge = new AppBridge(client, HOST, { openLinks: {}, downloadFile: {}, serverTools: caps.tools, serverResources: caps.resources, logging: {} }, {
    hostContext: Object.assign({ displayMode: "inline", platform: "web", toolInfo: { tool } }, context),
  });
  let drawn;
  const whenDrawn = new Promise((resolve) => { drawn = resolve; });
  bridge.onsizechange = async ({ height }) => {
    window.hostLog.sizes.push(height);
    frame.style.height = `${height}px`;
    if (height > 200) drawn(performance.now());
  };
  bridge.ondownloadfile = async (request) => { window.hostLog.downloads.push(request); return {}; };
  bridge.onmessage = async (request) => { window.hostLog.messages.push(request); return {}; };
  bridge.onloggingmessage = (entry) => { window.hostLog.logs.push(entry); };
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  const sent = performance.now();
  await bridge.sendSandboxResourceReady({ html: content.text });
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(result);
  const at = await whenDrawn;
  window.bridge = bridge;
  return { structured: result.structuredContent, content: result.content, drawnMs: at - sent, htmlBytes: new TextEncoder().encode(content.text).length };
};
