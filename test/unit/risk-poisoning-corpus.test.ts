// #21: the poisoning and shadowing checks measured on definitions written to attack (test/fixtures/poisoning-corpus)
// and on the real definitions of the risk corpus (which attack nothing): the figures docs/risk.md records.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findPoisoning, findShadowing, type ServerTools } from '../../src/risk/poisoning.js';
import type { ToolDefinition } from '../../src/risk/types.js';

interface Poisoned {
  id: string;
  style: string;
  tool: ToolDefinition;
}

const dir = new URL('../fixtures/poisoning-corpus/', import.meta.url);
const read = <T>(file: string | URL): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const tuning = read<Poisoned[]>(new URL('poisoned.json', dir));
const holdout = read<Poisoned[]>(new URL('poisoned-holdout.json', dir));
const shadowing = read<Array<{ id: string; attack: [string, string]; servers: ServerTools[] }>>(
  new URL('shadowing.json', dir),
);
const real = read<Array<{ server: string; tool: ToolDefinition }>>(
  new URL('../fixtures/risk-corpus/corpus.json', import.meta.url),
);

const caught = (set: Poisoned[], style?: (s: string) => boolean) =>
  set.filter((p) => (style === undefined || style(p.style)) && findPoisoning(p.tool).length > 0).length;

describe('#21 poisoning and shadowing, measured', () => {
  it('#21 flags every definition of the tuning set the patterns were written from', () => {
    expect(caught(tuning)).toBe(tuning.length);
  });

  it('#21 held-out set (written after the patterns, measured once): every textbook, hidden, encoded, look-alike, cross-server and other-language attack, no paraphrase', () => {
    const notParaphrase = holdout.filter((p) => p.style !== 'paraphrase');
    expect(caught(notParaphrase)).toBe(notParaphrase.length);
    expect(notParaphrase.length).toBe(14);
    // The honest limit of patterns: an instruction in new words passes (docs/risk.md, docs/security.md).
    expect(caught(holdout, (s) => s === 'paraphrase')).toBe(0);
  });

  it('#21 flags none of the 5844 real definitions (no false positive; 5200 of them listed after the patterns were written)', () => {
    const flagged = real
      .filter((c) => findPoisoning(c.tool).length > 0)
      .map((c) => `${c.server}/${c.tool.name}`);
    expect(real.length).toBe(5844);
    expect(flagged).toEqual([]);
  });

  it('#21 shadowing: finds the attacking tool in 5 of 6 written sets; on the real servers name collisions and thirty-eight false mentions', () => {
    const found = shadowing.filter((s) =>
      findShadowing(s.servers).some((f) => f.server === s.attack[0] && f.tool === s.attack[1]),
    );
    expect(found.map((s) => s.id)).toEqual(['s1', 's2', 's3', 's4', 's5']);
    const servers = new Map<string, ToolDefinition[]>();
    for (const c of real) servers.set(c.server, [...(servers.get(c.server) ?? []), c.tool]);
    const findings = findShadowing([...servers].map(([server, tools]) => ({ server, tools })));
    const mentions = findings.filter((f) => !f.signal.evidence.startsWith('the name '));
    // `create_table` and `alter_table` are operation values of pg_manage_schema that other servers' tools share;
    // `search_messages` is a word of a mail server's own description that a chat server uses as a tool name;
    // `send_email` is a step type of resend's automations; `createFunction` and `getBuildLog` are operation values of
    // cloudbase's own tools (round 8) that other servers use as tool names; `sample_data` is a word of a MySQL server's
    // description that a round-9 SQL Server server uses as a tool name; `update_application` and `list_branches` are
    // action values of a Coolify server's own tools (round 11) that Argo CD and Bitbucket servers use as tool names.
    // Round 14 added six of the same kind: `createCollection` (a cloudbase operation, a Postman tool), `list_tags` (an
    // n8n description, a Paperless tool), `test_notification` and `get_order` (action values of a Datadog server).
    // Round 15 added one more: `list_branches`, an action value of a GitHub project server, a Bitbucket tool. Rounds 16,
    // 17 and 18 added none (round 18 added 53 name collisions: CRM, e-mail and MySQL tools other servers also list).
    // Round 19 added five: the action values of a Coolify server's `hetzner` tool are the tool names of a Hetzner
    // Cloud server (`create_server`, `list_ssh_keys`, ...). Round 20 added two: an Attio server's descriptions name
    // `update-record`, a SQLite server's tool. Round 21 added two: Clerk's `updateUser` and `getUser` are words of a
    // cloudbase and a Neon description. Round 22 added none. Round 23 added nine: `source_code` (a SonarQube tool) is a
    // field of a CMS's MCP server records, and `send_message` the example action of six Zapier descriptions. Round 24
    // added one: a payroll description's `add_address`, a food-ordering server's tool. Round 25 added none. Round 26
    // added one: a budgeting server's description says `update_asset`, a CMS's tool.
    expect(mentions.map((f) => `${f.server}/${f.tool}`)).toEqual([
      'cloudbase/writeNoSqlDatabaseStructure',
      'cloudbase/manageFunctions',
      'cloudbase/queryApps',
      'cloudbase/manageApps',
      'cloudbase/managePermissions',
      'lunchmoney/update_manual_account',
      'mail-imap-smtp/search_since_date',
      'mysql-berthojoris/search_schema',
      'n8n-node2flow/n8n_get_tag',
      'neon/provision_neon_auth',
      'postgres-henkey/pg_manage_schema',
      'postgres-henkey/pg_manage_schema',
      'resend/create-automation',
      'resend/update-automation',
      'coolify-masonator/service',
      'coolify-masonator/github_apps',
      'coolify-masonator/hetzner',
      'coolify-masonator/hetzner',
      'coolify-masonator/hetzner',
      'coolify-masonator/hetzner',
      'coolify-masonator/hetzner',
      'datadog-mcp/monitors',
      'datadog-mcp/logs_pipelines',
      'datadog-mcp/logs_indexes',
      'datadog-mcp/logs_archives',
      'github-project-manager/manage_branches',
      'pulsemcp-cms-admin/list_mcp_servers',
      'pulsemcp-cms-admin/get_mcp_server',
      'pulsemcp-cms-admin/update_mcp_server',
      'attio-mcp/get_record_attribute_options',
      'attio-mcp/update-list-entry',
      'zapier-sdk/get-action',
      'zapier-sdk/list-action-input-field-choices',
      'zapier-sdk/list-action-input-fields',
      'zapier-sdk/list-input-field-choices',
      'zapier-sdk/list-input-fields',
      'zapier-sdk/run-action',
      'gusto/contractors_get-onboarding-status',
    ]);
    expect(findings.length).toBe(778);
  });
});
