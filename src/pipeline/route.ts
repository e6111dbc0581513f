// Where a request goes: the one upstream of a per-server endpoint, or, on the aggregated endpoint, the upstream a
// prefixed name or a resource URI belongs to; lists fan out to every upstream and are merged with paging intact.
import { type Reply, wire } from '../proxy/downstream.js';
import { matchesTemplate } from '../proxy/templates.js';
import { catalogHas } from '../proxy/upstream.js';
import { normalizeUri } from '../proxy/uri.js';
import type { Step } from './compose.js';
import type { CallContext, SessionView, Target } from './context.js';

/** Per list method: the capability an upstream needs, and the key of the items in the result. */
const LISTS: Record<string, { capability: string; items: string; named: boolean }> = {
  'tools/list': { capability: 'tools', items: 'tools', named: true },
  'prompts/list': { capability: 'prompts', items: 'prompts', named: true },
  'resources/list': { capability: 'resources', items: 'resources', named: false },
  'resources/templates/list': { capability: 'resources', items: 'resourceTemplates', named: false },
};

type Params = Record<string, unknown>;

export const route: Step<CallContext> = async (ctx, next) => {
  const session = ctx.session;
  const server = session.server;
  if (server !== undefined) {
    let params = ctx.request.params;
    if (RESOURCE_METHODS.has(ctx.method)) {
      const uri = checkedUri(ctx);
      if (uri === undefined) return;
      params = { ...params, uri };
    }
    ctx.targets.push({ server, link: session.links.get(server)!, params });
    await next();
    ctx.reply ??= replyOf(ctx.results[0]?.response); // an inner step may have answered already
    return;
  }
  const list = LISTS[ctx.method];
  if (list !== undefined) return routeList(ctx, next, list);
  const params = (ctx.request.params ?? {}) as Params;
  switch (ctx.method) {
    case 'ping':
      ctx.reply = { result: {} };
      return;
    case 'tools/call':
    case 'prompts/get': {
      const name = params.name;
      const target = typeof name === 'string' ? session.names.resolve(name) : undefined;
      const link = target && session.links.get(target.server);
      if (!target || !link) {
        const shown = typeof name === 'string' ? name : String(name);
        ctx.reply = ctx.method === 'tools/call' ? wire.unknownTool(shown) : wire.unknownPrompt(shown);
        return;
      }
      ctx.targets.push({ server: target.server, link, params: { ...params, name: target.name } });
      break;
    }
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe': {
      const uri = checkedUri(ctx);
      if (uri === undefined) return;
      const owner = await resourceOwner(session, uri);
      if (owner === undefined) {
        // The agent's spelling, as the policy step answers a hidden URI: the two cannot be told apart.
        ctx.reply = wire.resourceNotFound(params.uri as string);
        return;
      }
      ctx.targets.push({ server: owner, link: session.links.get(owner)!, params: { ...params, uri } });
      break;
    }
    case 'completion/complete': {
      const target = await completionTarget(session, params);
      if (!('server' in target)) {
        ctx.reply = target;
        return;
      }
      ctx.targets.push(target);
      break;
    }
    case 'logging/setLevel': {
      for (const [id, link] of session.links) {
        if (link.ready && link.capability('logging') !== undefined)
          ctx.targets.push({ server: id, link, params });
      }
      await next();
      ctx.reply = { result: {} };
      return;
    }
    default:
      ctx.reply = wire.methodNotFound(ctx.method);
      return;
  }
  await next();
  ctx.reply ??= replyOf(ctx.results[0]?.response); // an inner step may have answered already
};

function replyOf(response: { result?: unknown; error?: unknown } | undefined): Reply | undefined {
  if (response === undefined) return undefined;
  return 'error' in response ? (response as Reply) : { result: response.result as Record<string, unknown> };
}

const RESOURCE_METHODS = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe']);

/**
 * The request's resource URI in normal form (src/proxy/uri.ts): what the policy checks and the upstream gets, so what
 * was decided is what is read. Answers the request itself (and returns undefined) when there is no URI that parses.
 */
function checkedUri(ctx: CallContext): string | undefined {
  const raw = (ctx.request.params as Params | undefined)?.uri;
  const uri = typeof raw === 'string' ? normalizeUri(raw) : undefined;
  if (uri === undefined) {
    ctx.reply = wire.invalidParams(
      typeof raw === 'string'
        ? 'Invalid params: uri is not an absolute URI'
        : 'Invalid params: uri is required',
    );
  }
  return uri;
}

/**
 * Routes a resource URI (normal form): a URI this session's lists showed, else a template they showed, else the only
 * upstream with resources, else the upstream whose own resources or templates have it (each upstream is asked once
 * per upstream session, again after its resources/list_changed), so a fresh session can read what a tool linked to.
 */
async function resourceOwner(session: SessionView, uri: string): Promise<string | undefined> {
  const listed = session.resourceOwners.get(uri);
  if (listed !== undefined) return listed;
  for (const t of session.templates) if (matchesTemplate(t.uriTemplate, uri)) return t.server;
  const candidates: string[] = [];
  for (const [id, link] of session.links) if (link.capability('resources') !== undefined) candidates.push(id);
  if (candidates.length <= 1) return candidates[0];
  const catalogs = await Promise.all(
    candidates.map((id) => {
      const link = session.links.get(id)!;
      return link.ready ? link.resources() : undefined;
    }),
  );
  for (let i = 0; i < candidates.length; i++) {
    const catalog = catalogs[i];
    if (catalog !== undefined && catalogHas(catalog, uri)) return candidates[i];
  }
  return undefined;
}

/** Where a completion goes, or the answer for a ref that names nothing (as for a hidden one: see the policy step). */
async function completionTarget(session: SessionView, params: Params): Promise<Target | Reply> {
  const ref = params.ref as Params | undefined;
  if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
    const target = session.names.resolve(ref.name);
    const link = target && session.links.get(target.server);
    if (!target || !link) return wire.unknownPrompt(ref.name);
    return { server: target.server, link, params: { ...params, ref: { ...ref, name: target.name } } };
  }
  if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
    const uri = ref.uri;
    let owner = session.templates.find((t) => t.uriTemplate === uri)?.server;
    if (owner === undefined) {
      for (const [id, link] of session.links) {
        if (!link.ready || link.capability('resources') === undefined) continue;
        if ((await link.resources())?.templates.includes(uri)) {
          owner = id;
          break;
        }
      }
    }
    const normal = normalizeUri(uri);
    if (owner === undefined && normal !== undefined) owner = await resourceOwner(session, normal);
    if (owner === undefined) return wire.resourceNotFound(uri);
    return { server: owner, link: session.links.get(owner)!, params };
  }
  return wire.invalidParams(
    'Invalid params: ref must be a ref/prompt with a name or a ref/resource with a uri',
  );
}

/** Aggregated cursors carry each upstream's own cursor: `{server: cursor}` as base64url JSON. */
function decodeCursor(cursor: string): Record<string, string> | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    for (const v of Object.values(value)) if (typeof v !== 'string') return undefined;
    return value as Record<string, string>;
  } catch {
    return undefined;
  }
}

function encodeCursor(cursors: Record<string, string>): string {
  return Buffer.from(JSON.stringify(cursors), 'utf8').toString('base64url');
}

async function routeList(
  ctx: CallContext,
  next: () => Promise<void>,
  list: { capability: string; items: string; named: boolean },
): Promise<void> {
  const session = ctx.session;
  const params = (ctx.request.params ?? {}) as Params;
  let cursors: Record<string, string> | undefined;
  if (params.cursor !== undefined) {
    cursors = typeof params.cursor === 'string' ? decodeCursor(params.cursor) : undefined;
    if (cursors === undefined) {
      ctx.reply = wire.invalidParams('Invalid cursor');
      return;
    }
  }
  const { cursor: _drop, ...rest } = params;
  // A server whose start waits for the person to authorize warden there is tried again: once they have, its items
  // are listed without a new session.
  const waiting = [...session.links.values()].filter((l) => l.retryable);
  if (waiting.length > 0) await Promise.all(waiting.map((l) => l.retryStart()));
  for (const [id, link] of session.links) {
    if (cursors !== undefined && cursors[id] === undefined) continue;
    if (!link.ready || link.capability(list.capability) === undefined) continue;
    const upstreamCursor = cursors?.[id];
    ctx.targets.push({
      server: id,
      link,
      params: upstreamCursor === undefined ? rest : { ...rest, cursor: upstreamCursor },
    });
  }
  await next();
  if (ctx.cancelled) return;
  // What a whole named list is made of, to reuse the last merge of the same parts (see `merged` below).
  const parts = cursors === undefined && list.named ? partsOf(ctx) : undefined;
  const again = parts === undefined ? undefined : sameMerge(session, ctx.method, parts);
  if (again !== undefined) {
    ctx.reply = { result: { [list.items]: again } };
    return;
  }
  const items: unknown[] = [];
  const more: Record<string, string> = {};
  let firstError: Reply | undefined;
  let anyResult = false;
  for (const r of ctx.results) {
    const response = r.response;
    if (response === undefined) continue;
    if ('error' in response) {
      firstError ??= { error: response.error };
      continue;
    }
    anyResult = true;
    const link = session.links.get(r.server)!;
    const got = response.result[list.items];
    if (Array.isArray(got)) {
      for (const item of got as Params[]) {
        if (list.named && typeof item.name === 'string') {
          items.push({ ...item, name: session.names.expose(r.server, link.spec.prefix, item.name) });
        } else {
          const uri = typeof item.uri === 'string' ? normalizeUri(item.uri) : undefined;
          if (uri !== undefined) session.resourceOwners.set(uri, r.server);
          if (
            typeof item.uriTemplate === 'string' &&
            !session.templates.some((t) => t.uriTemplate === item.uriTemplate)
          ) {
            session.templates.push({ server: r.server, uriTemplate: item.uriTemplate });
          }
          items.push(item);
        }
      }
    }
    if (typeof response.result.nextCursor === 'string') more[r.server] = response.result.nextCursor;
  }
  if (!anyResult && firstError !== undefined) {
    ctx.reply = firstError;
    return;
  }
  const result: Params = { [list.items]: items };
  if (Object.keys(more).length > 0) result.nextCursor = encodeCursor(more);
  else if (parts !== undefined) remember(session, ctx.method, parts, items);
  ctx.reply = { result };
}

/**
 * The last whole merged tools or prompts list of each session, with the upstream arrays it was made of. Under an
 * unchanged policy a list answered from the links' kept answers arrives as the same arrays (see the policy step),
 * and then merges to the same array: the renaming of 1,000 tools is not done again, and the transport can reuse the
 * JSON it made of it. Resource lists are not kept: merging them records which upstream owns each URI.
 */
const merged = new WeakMap<SessionView, Map<string, { parts: unknown[]; items: unknown[] }>>();

/** What the results of this list are made of: each server and its items array, in order; undefined if not all whole. */
function partsOf(ctx: CallContext): unknown[] | undefined {
  const parts: unknown[] = [];
  for (const r of ctx.results) {
    const response = r.response;
    if (response === undefined || 'error' in response || response.result.nextCursor !== undefined)
      return undefined;
    parts.push(r.server, response.result[LISTS[ctx.method]!.items]);
  }
  return parts;
}

function sameMerge(session: SessionView, method: string, parts: unknown[]): unknown[] | undefined {
  const last = merged.get(session)?.get(method);
  if (last === undefined || parts.length !== last.parts.length) return undefined;
  for (let i = 0; i < parts.length; i++) if (parts[i] !== last.parts[i]) return undefined;
  return last.items;
}

function remember(session: SessionView, method: string, parts: unknown[], items: unknown[]): void {
  const bySession = merged.get(session) ?? new Map();
  merged.set(session, bySession);
  bySession.set(method, { parts, items });
}
