// What an upstream lists, kept per link: its tools (and their definitions), prompts and resources, fetched when a
// policy first needs them and dropped on list_changed and restarts; and the last whole tool list, reused while the
// upstream promises to announce changes.
import type { JsonRpcResponse, JsonRpcResult } from '../transport/jsonrpc.js';
import { matchesTemplate } from './templates.js';
import { normalizeUri } from './uri.js';

/** What an upstream lists of its resources: URIs (in normal form) and templates. */
export interface ResourceCatalog {
  uris: ReadonlySet<string>;
  templates: readonly string[];
}

/** Whether a resource catalog has this URI (in normal form), listed or matching a template. */
export function catalogHas(catalog: ResourceCatalog, uri: string): boolean {
  if (catalog.uris.has(uri)) return true;
  for (const t of catalog.templates) if (matchesTemplate(t, uri)) return true;
  return false;
}

/** What the catalog asks of its link. */
export interface CatalogSource {
  call(method: string, params: Record<string, unknown>): { response: Promise<JsonRpcResponse | undefined> };
  capability(name: string): unknown;
  /** See MessageTransport.channel: 0 for transports whose channel lives as long as they do. */
  channel(): number | undefined;
  /** Told each whole tool list seen (the 2026 link reads its x-mcp-header declarations). */
  onTools(catalog: ReadonlyMap<string, Record<string, unknown>>): void;
}

export class UpstreamCatalog {
  /** The upstream's tool names, fetched when a policy first needs them; dropped on list_changed and restarts. */
  private toolCatalog: Promise<ReadonlyMap<string, Record<string, unknown>> | undefined> | undefined;
  /** Counts the events that make a tool list stale (list_changed, restarts): an answer older than one is not kept. */
  private toolsGeneration = 0;
  /** The last whole tools/list answer, reused while the upstream promises to announce changes (see toolListAnswer). */
  private toolList: JsonRpcResult | undefined;
  /** The transport's channel for announcements when the kept list was asked for (see toolListAnswer). */
  private toolListChannel: number | undefined;
  /** The upstream's prompt names and resources, fetched when first needed; dropped on list_changed and restarts. */
  private promptCatalog: Promise<ReadonlySet<string> | undefined> | undefined;
  private resourceCatalog: Promise<ResourceCatalog | undefined> | undefined;

  constructor(private readonly source: CatalogSource) {}

  forgetPrompts(): void {
    this.promptCatalog = undefined;
  }

  forgetResources(): void {
    this.resourceCatalog = undefined;
  }

  forget(): void {
    this.promptCatalog = undefined;
    this.resourceCatalog = undefined;
    this.toolCatalog = undefined;
    this.toolList = undefined;
    this.toolsGeneration++;
  }

  /**
   * The upstream's last whole tools/list answer (one page), when it can stand for asking again: the upstream declared
   * `tools.listChanged`, so it announces every change, and the answer is dropped on that announcement and on every
   * restart or new upstream session. An upstream that does not declare it is asked every time (its list passes through
   * and refreshes the one calls are checked against, see keepToolList). Agents list tools on every turn, and a big
   * list costs the upstream, the pipe and the gateway a parse of its whole text each time.
   */
  toolListAnswer(): JsonRpcResponse | undefined {
    if (this.toolList === undefined) return undefined;
    const tools = this.source.capability('tools') as { listChanged?: unknown } | undefined;
    if (tools?.listChanged !== true) return undefined;
    // A promise to announce changes is only as good as the channel the announcements come on: the kept list stands
    // while that channel has stayed open since the list was asked for. An HTTP upstream without a GET stream (a
    // stateless server answers 405), or whose stream broke (a restart), is asked again.
    const channel = this.source.channel();
    if (channel === undefined || channel !== this.toolListChannel) return undefined;
    // Each caller gets its own envelope to filter; the tool definitions themselves are shared and never changed.
    return { ...this.toolList, result: { ...this.toolList.result } };
  }

  /**
   * A whole tool list (one page) that passes through becomes the list calls are checked against, so a server that
   * changes its tools without notifications/tools/list_changed never shows an agent a tool it then calls "unknown".
   */
  keepToolList(response: Promise<JsonRpcResponse | undefined>): void {
    const generation = this.toolsGeneration;
    const channel = this.source.channel();
    void response.then((r) => {
      if (r === undefined || !('result' in r) || generation !== this.toolsGeneration) return;
      const tools = r.result.tools;
      if (!Array.isArray(tools) || r.result.nextCursor !== undefined) return;
      const catalog = catalogOf(tools as Array<Record<string, unknown>>);
      this.source.onTools(catalog);
      this.toolCatalog = Promise.resolve(catalog);
      // A copy of the envelope: steps downstream replace `result.tools` with what the policy lets through.
      this.toolList = { ...r, result: { ...r.result } };
      this.toolListChannel = channel;
    });
  }

  /**
   * Whether the upstream has a tool of this name: true/false from its tool list, undefined when the list cannot be
   * had. Lets the gateway answer unknown and hidden tools alike, without asking the upstream per call.
   */
  async hasTool(name: string): Promise<boolean | undefined> {
    this.toolCatalog ??= this.fetchCatalog();
    const tools = await this.toolCatalog;
    return tools === undefined ? undefined : tools.has(name);
  }

  /** The tool's definition as the upstream listed it (for risk), undefined when unknown. */
  async toolDefinition(name: string): Promise<Record<string, unknown> | undefined> {
    this.toolCatalog ??= this.fetchCatalog();
    return (await this.toolCatalog)?.get(name);
  }

  private async fetchCatalog(): Promise<ReadonlyMap<string, Record<string, unknown>> | undefined> {
    const names = new Map<string, Record<string, unknown>>();
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const response = await this.source.call('tools/list', cursor === undefined ? {} : { cursor }).response;
      if (response === undefined || 'error' in response) {
        this.toolCatalog = undefined; // try again next time
        return undefined;
      }
      const tools = response.result.tools;
      if (Array.isArray(tools)) catalogOf(tools as Array<Record<string, unknown>>, names);
      cursor = typeof response.result.nextCursor === 'string' ? response.result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    this.source.onTools(names);
    return names;
  }

  /**
   * Whether the upstream has a prompt of this name: from its prompt list (false without the prompts capability),
   * undefined when the list cannot be had. Lets the gateway answer hidden and missing prompts alike.
   */
  async hasPrompt(name: string): Promise<boolean | undefined> {
    if (this.source.capability('prompts') === undefined) return false;
    this.promptCatalog ??= this.listAll('prompts/list', 'prompts').then((items) => {
      if (items === undefined) {
        this.promptCatalog = undefined;
        return undefined;
      }
      const names = new Set<string>();
      for (const p of items) if (typeof p.name === 'string') names.add(p.name);
      return names;
    });
    return (await this.promptCatalog)?.has(name);
  }

  /**
   * The upstream's resources: its listed URIs (normal form) and templates; empty without the resources capability,
   * undefined when they cannot be had. Routes reads on /mcp without a list of the agent's own, and answers unknown
   * URIs like hidden ones.
   */
  resources(): Promise<ResourceCatalog | undefined> {
    if (this.source.capability('resources') === undefined)
      return Promise.resolve({ uris: new Set(), templates: [] });
    this.resourceCatalog ??= Promise.all([
      this.listAll('resources/list', 'resources'),
      this.listAll('resources/templates/list', 'resourceTemplates'),
    ]).then(([resources, templates]) => {
      if (resources === undefined) {
        this.resourceCatalog = undefined;
        return undefined;
      }
      const uris = new Set<string>();
      for (const r of resources) {
        const uri = typeof r.uri === 'string' ? normalizeUri(r.uri) : undefined;
        if (uri !== undefined) uris.add(uri);
      }
      const list: string[] = [];
      // A server may have resources and no templates (method not found): that is no template, not a failure.
      for (const t of templates ?? []) if (typeof t.uriTemplate === 'string') list.push(t.uriTemplate);
      return { uris, templates: list };
    });
    return this.resourceCatalog;
  }

  /** Every page of a list (at most 100), or undefined when the upstream answers an error. */
  private async listAll(method: string, key: string): Promise<Record<string, unknown>[] | undefined> {
    const items: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const response = await this.source.call(method, cursor === undefined ? {} : { cursor }).response;
      if (response === undefined || 'error' in response) return undefined;
      const got = response.result[key];
      if (Array.isArray(got)) items.push(...(got as Record<string, unknown>[]));
      cursor = typeof response.result.nextCursor === 'string' ? response.result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    return items;
  }
}

/** Tools by name (a tools/list page added to `into`). */
export function catalogOf(
  tools: readonly Record<string, unknown>[],
  into = new Map<string, Record<string, unknown>>(),
): Map<string, Record<string, unknown>> {
  for (const t of tools) if (typeof t.name === 'string') into.set(t.name, t);
  return into;
}
