import type { Command } from 'commander';
import type { GatewayConfig } from '../config/resolve.js';
import { WardenError } from '../errors.js';
import { flowEventEntry } from '../identity/upstream/audit.js';
import { loadCredentialKey } from '../identity/upstream/crypto.js';
import { type FlowEvent, UpstreamOAuth } from '../identity/upstream/oauth-flow.js';
import type { UpstreamTokenStore } from '../identity/upstream/token-store.js';
import { openUpstreamTokenStore } from '../store/open.js';
import { loadGatewayConfig, runWithStore } from './common.js';

interface Flags {
  config: string;
  json?: boolean;
  subject?: string;
  all?: boolean;
}

function flowOf(
  config: GatewayConfig,
  store: UpstreamTokenStore,
  audit: (e: FlowEvent) => Promise<void>,
): UpstreamOAuth {
  const upstreams = new Map(
    config.upstreams.flatMap((u) =>
      u.auth?.type === 'oauth' && u.url !== undefined ? [[u.id, { url: u.url, oauth: u.auth }] as const] : [],
    ),
  );
  if (upstreams.size === 0 || config.publicUrl === undefined)
    throw new WardenError('CONFIG_INVALID', `no upstream in ${config.file} uses credentials type oauth`);
  return new UpstreamOAuth(upstreams, { publicUrl: config.publicUrl, store, audit });
}

function run(flags: Flags, fn: (flow: UpstreamOAuth) => Promise<void>): Promise<never> {
  return runWithStore(
    flags.config,
    async (storage, baseDir) => {
      // The key comes from the same place the gateway takes it (auth.credentialKeyFile, else WARDEN_CREDENTIAL_KEY).
      const config = loadGatewayConfig({ config: flags.config });
      const key = loadCredentialKey(
        config.credentialKeyFile === undefined ? {} : { file: config.credentialKeyFile },
      );
      return openUpstreamTokenStore(storage, [key], { baseDir });
    },
    (store, audit, config) =>
      fn(
        flowOf(config, store, async (e) => {
          await audit(flowEventEntry(e));
        }),
      ),
  );
}

export function registerUpstreamTokenCommands(program: Command): void {
  const cmd = program
    .command('upstream-tokens')
    .description("users' tokens at upstreams whose own OAuth flow warden runs (credentials type oauth)");
  cmd
    .command('list')
    .description('who holds a token at which upstream (never the tokens)')
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--subject <subject>', "one user's only (<issuer>|<sub>, or grant:<id>)")
    .option('--json', 'machine output')
    .action((flags: Flags) =>
      run(flags, async (flow) => {
        const rows = await flow.credentialsOf(flags.subject);
        if (flags.json === true) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else
          for (const r of rows)
            process.stdout.write(
              `${r.upstream}  ${r.subject}  ${r.hasRefreshToken ? 'refresh' : 'no-refresh'}  updated ${r.updatedAt}\n`,
            );
      }),
    );
  cmd
    .command('revoke <server> [subject]')
    .description(
      "revoke a user's token at an upstream (at its authorization server too, when it offers RFC 7009); --all for everyone's",
    )
    .option('-c, --config <file>', 'config file', 'warden.yaml')
    .option('--all', "every user's token at that upstream")
    .option('--json', 'machine output')
    .action((server: string, subject: string | undefined, flags: Flags) =>
      run(flags, async (flow) => {
        if (subject === undefined && flags.all !== true)
          throw new WardenError('CONFIG_INVALID', 'name a subject, or --all for every user at that upstream');
        if (!flow.has(server))
          throw new WardenError('NOT_FOUND', `no upstream ${server} uses credentials type oauth`);
        const revoked = await flow.revoke(server, subject, '(cli)');
        if (flags.json === true) process.stdout.write(`${JSON.stringify({ revoked })}\n`);
        else process.stdout.write(`revoked ${revoked} token${revoked === 1 ? '' : 's'} at ${server}\n`);
      }),
    );
}
