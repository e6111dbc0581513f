// What a link needs to speak 2026-07-28 to an upstream: the era probe (server/discover) and its per-server cache, the
// `_meta` envelope every request carries, and the 2025-shaped initialize result a 2025 agent session is given.

import type { UpstreamSpec } from '../config/resolve.js';
import { VERSION } from '../version.js';
import {
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  META_SERVER_INFO,
} from './upstream-headers.js';
import { ERA_2025, ERA_2026, type Era } from './versions.js';

/** The client info warden declares to 2026 upstreams (its own, never the agent's self-description). */
export const WARDEN_CLIENT_INFO = { name: 'mcp-warden', version: VERSION };

/**
 * What the `auto` probe found, per server (id and URL): asked once per process, not once per agent session. Only a
 * clear answer is kept (a discover result, or an upstream that answered the probe with an error); a probe that could
 * not reach the upstream is asked again next time.
 */
const probed = new Map<string, { era: Era; found?: Discovered }>();

function probeKey(spec: UpstreamSpec): string {
  return `${spec.id}\n${spec.url ?? ''}`;
}

/** The era to speak to this upstream before any probe: pinned by config, known from an earlier probe, or unknown. */
export function knownEra(spec: UpstreamSpec): Era | undefined {
  // stdio: 2026 only when pinned. A probe before initialize could upset a 2025 server (some end on an unknown first
  // request), and a dual-era server (the SDK's serveStdio) serves the 2025 opening as well.
  if (spec.kind === 'stdio') return spec.protocol === ERA_2026 ? ERA_2026 : ERA_2025;
  if (spec.kind !== 'http') return ERA_2025;
  if (spec.protocol === ERA_2025) return ERA_2025;
  if (spec.protocol === ERA_2026) return ERA_2026;
  return probed.get(probeKey(spec))?.era;
}

/**
 * Keeps what the probe found: the era (under `auto`), and a 2026 upstream's discover answer, which later sessions
 * reuse instead of asking again (their capabilities and info are the server's, not the session's).
 */
export function rememberEra(spec: UpstreamSpec, era: Era, found?: Discovered): void {
  if (spec.protocol === ERA_2025 || (spec.protocol === ERA_2026 && era !== ERA_2026)) return;
  probed.set(probeKey(spec), found === undefined ? { era } : { era, found });
}

/** A 2026 upstream's discover answer from an earlier probe, if any. */
export function knownDiscover(spec: UpstreamSpec): Discovered | undefined {
  return probed.get(probeKey(spec))?.found;
}

/** Forgets every probe result (tests; a config reload that changes a server keeps its id and URL apart anyway). */
export function forgetProbes(): void {
  probed.clear();
}

/** A server/discover result, checked: what the upstream supports and declares. */
export interface Discovered {
  supportedVersions: string[];
  capabilities: Record<string, unknown>;
  serverInfo: Record<string, unknown> | undefined;
  instructions: string | undefined;
}

/**
 * Reads a discover result; undefined when it is not one (no list of versions of text, capabilities not an object).
 * A hostile or broken upstream gets no benefit of the doubt: the probe then counts as "not 2026".
 */
export function readDiscover(result: unknown): Discovered | undefined {
  if (!isObject(result)) return undefined;
  const versions = result.supportedVersions;
  if (!Array.isArray(versions) || versions.length > 64 || !versions.every((v) => typeof v === 'string'))
    return undefined;
  const caps = result.capabilities;
  if (!isObject(caps)) return undefined;
  const meta = isObject(result._meta) ? result._meta : undefined;
  const info = meta?.[META_SERVER_INFO] ?? result.serverInfo;
  return {
    supportedVersions: versions as string[],
    capabilities: caps,
    serverInfo: isObject(info) ? info : undefined,
    instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
  };
}

/** The envelope `_meta` of a 2026 request: protocol version, the capabilities warden declares, warden's client info. */
export function envelope(
  params: Record<string, unknown> | undefined,
  capabilities: Record<string, unknown>,
): Record<string, unknown> {
  const meta = isObject(params?._meta) ? params._meta : {};
  return {
    ...(params ?? {}),
    _meta: {
      ...meta,
      [META_PROTOCOL_VERSION]: ERA_2026,
      [META_CLIENT_CAPABILITIES]: capabilities,
      [META_CLIENT_INFO]: WARDEN_CLIENT_INFO,
    },
  };
}

/**
 * The capabilities warden declares upstream for a 2025 agent session: the agent's own from its initialize (roots as
 * the config says, see withRoots), restricted to what the bridge can carry (elicitation, sampling, roots).
 */
export function declaredCapabilities(
  initParams: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const caps = isObject(initParams?.capabilities) ? initParams.capabilities : {};
  const out: Record<string, unknown> = {};
  for (const k of ['elicitation', 'sampling', 'roots'] as const) if (isObject(caps[k])) out[k] = caps[k];
  return out;
}

/**
 * The initialize result a 2025 agent session sees for a 2026 upstream: the upstream's capabilities, info and
 * instructions from its discover answer, under the 2025 version the agent asked for (the agent speaks 2025 to warden;
 * the bridge does the rest).
 */
export function legacyInitResult(
  found: Discovered,
  spec: UpstreamSpec,
  initParams: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const asked = initParams?.protocolVersion;
  const out: Record<string, unknown> = {
    protocolVersion: typeof asked === 'string' && asked < ERA_2026 ? asked : ERA_2025,
    capabilities: legacyCapabilities(found.capabilities),
    serverInfo: found.serverInfo ?? { name: spec.id, version: '0' },
  };
  if (found.instructions !== undefined) out.instructions = found.instructions;
  return out;
}

/** A 2026 server's capabilities as a 2025 client may see them: listChanged stays (the listen stream delivers it). */
function legacyCapabilities(caps: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(caps)) if (isObject(v)) out[k] = v;
  return out;
}

/** The listen filter for what the upstream declared it announces. */
export function listenFilter(caps: Record<string, unknown>): Record<string, boolean> | undefined {
  const filter: Record<string, boolean> = {};
  const flag = (cap: string, key: string) => {
    const c = caps[cap];
    if (isObject(c) && c.listChanged === true) filter[key] = true;
  };
  flag('tools', 'toolsListChanged');
  flag('prompts', 'promptsListChanged');
  flag('resources', 'resourcesListChanged');
  return Object.keys(filter).length === 0 ? undefined : filter;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
