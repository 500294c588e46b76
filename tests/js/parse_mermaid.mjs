// Parse Mermaid diagrams with Mermaid's own grammar: `node parse_mermaid.mjs FILE...`.
// Prints one JSON line per file: {"file", "ok", "type", "vertices", "edges", "subgraphs", "error"}.
// jsdom stands in for the browser DOM that Mermaid's sanitiser (DOMPurify) expects.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "Node", "DocumentFragment", "DOMParser", "navigator"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const out = { file };
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    out.ok = true;
    out.type = diagram.type;
    out.vertices = db.getVertices().size;
    out.edges = db.getEdges().length;
    out.subgraphs = db.getSubGraphs().length;
    out.labels = [...db.getVertices().values()].map((v) => v.text);
  } catch (error) {
    out.ok = false;
    out.error = String(error && error.message ? error.message : error).split("\n").slice(0, 4).join(" ");
  }
  console.log(JSON.stringify(out));
}
