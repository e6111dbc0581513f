// The aggregated endpoint's own initialize result (`/mcp`): the union of its upstreams' capabilities, one protocol
// version, warden's server info, and the upstreams' instructions under their names.
import type { InitializeResult, UpstreamLink } from './upstream.js';

export function aggregateInit(
  ok: Array<{ id: string; result: InitializeResult }>,
  params: Record<string, unknown>,
  version: string,
  links: Iterable<UpstreamLink>,
): Record<string, unknown> {
  const capabilities: Record<string, Record<string, unknown>> = {};
  const versions = new Set<string>();
  const instructions: string[] = [];
  for (const { id, result } of ok) {
    if (typeof result.protocolVersion === 'string') versions.add(result.protocolVersion);
    for (const [k, v] of Object.entries(result.capabilities ?? {})) {
      if (k === 'experimental' || typeof v !== 'object' || v === null) continue;
      capabilities[k] = { ...(capabilities[k] ?? {}), ...(v as Record<string, unknown>) };
    }
    if (result.instructions) instructions.push(`## ${id}\n${result.instructions}`);
  }
  const requested = typeof params.protocolVersion === 'string' ? params.protocolVersion : undefined;
  const protocolVersion =
    versions.size === 1
      ? [...versions][0]
      : requested !== undefined && versions.has(requested)
        ? requested
        : [...versions].sort()[0];
  const out: Record<string, unknown> = {
    protocolVersion,
    capabilities,
    serverInfo: { name: 'mcp-warden', version },
  };
  // A server waiting for this person to authorize warden there: the agent (and through it the person) is told
  // where; its tools are listed once they have (route.ts tries it again on each list).
  for (const link of links)
    if (link.retryable && link.lastError !== undefined)
      instructions.push(`## ${link.id}\nNot available yet: ${link.lastError.message}`);
  if (instructions.length > 0) out.instructions = instructions.join('\n\n');
  return out;
}
