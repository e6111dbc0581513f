// createGateway(): the composition root, the only place where the concrete parts are wired together.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ApprovalService } from './approvals/service.js';
import { headsToVerify } from './audit/heads.js';
import { Metrics } from './audit/metrics.js';
import { startTracing, type Tracing, tracingEndpoint } from './audit/tracing.js';
import { pagedRecords, recentRecords } from './audit/view.js';
import { unknownToolNames } from './config/policy-lint.js';
import { PolicySet } from './config/policy-set.js';
import type { GatewayConfig, HostPort, UpstreamSpec } from './config/resolve.js';
import { createAdminHandler } from './dashboard/admin.js';
import { OidcLogin } from './dashboard/oidc-login.js';
import { DashboardSessions } from './dashboard/session.js';
import { loadAssets } from './dashboard/static.js';
import {
  conversationViews,
  type DashboardParts,
  overview,
  pinView,
  policyViews,
  scanUpstreams,
  simulate,
  singleFlight,
  toolViews,
} from './dashboard/views.js';
import { BridgeRelay } from './era/bridge-relay.js';
import { ModernFront } from './era/front.js';
import { RequestStateSealer, stateKeyFrom } from './era/request-state.js';
import { WardenError } from './errors.js';
import { LabelResolver } from './flows/labels.js';
import { compileRules } from './flows/rules.js';
import { compileGuards } from './guards/config.js';
import { Authenticator, type Identity } from './identity/authenticate.js';
import { GrantService } from './identity/grants.js';
import { agentAuthenticate, createResourceServer } from './identity/oauth/gate.js';
import { flowEventEntry } from './identity/upstream/audit.js';
import { UpstreamCredentials } from './identity/upstream/credentials.js';
import { loadCredentialKey } from './identity/upstream/crypto.js';
import { type FlowStateStore, MemoryFlowState } from './identity/upstream/flow-state.js';
import { UpstreamOAuth } from './identity/upstream/oauth-flow.js';
import { oauthPages } from './identity/upstream/oauth-pages.js';
import type { UpstreamTokenStore } from './identity/upstream/token-store.js';
import type { Logger } from './log.js';
import { approvalStep } from './pipeline/approval.js';
import { auditStep, commitDecision } from './pipeline/audit.js';
import { bridgedRound } from './pipeline/bridged-round.js';
import { compose } from './pipeline/compose.js';
import type { CallContext } from './pipeline/context.js';
import { flowStep } from './pipeline/flow.js';
import { forward } from './pipeline/forward.js';
import { guardStep } from './pipeline/guard.js';
import { grantStillLive, grantStillLiveAfterApproval } from './pipeline/identity.js';
import { limitStep } from './pipeline/limit.js';
import { paramHeaderCheck } from './pipeline/param-headers.js';
import { layersOf, policyStep } from './pipeline/policy.js';
import { route } from './pipeline/route.js';
import { UpstreamPool } from './proxy/pool.js';
import { linkCounts, ProxySession } from './proxy/session.js';
import { ToolCatalog } from './risk/catalog.js';
import { openUpstreamTokenStore } from './store/open.js';
import { openStores } from './store/stores.js';
import { verifyStore } from './store/types.js';
import { HttpEndpoint } from './transport/http/server.js';
import { hostName } from './transport/http/wire.js';
import { StdioDownstream } from './transport/stdio-server.js';
import type { DownstreamPort, MessageTransport, SessionFactory } from './transport/types.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  log: Logger;
  /** How upstream transports are made; tests may pass their own. */
  createTransport?: (spec: UpstreamSpec, log: Logger) => MessageTransport;
  /** Reload policy files when they change (default true). */
  watchPolicies?: boolean;
  /**
   * When listening, start every upstream once and list its tools (default false; `warden serve` sets it): a server
   * that cannot start is logged then, with the cause line of its stderr, not when the first agent connects; and
   * policy entries naming tools no upstream lists are logged as warnings.
   */
  checkUpstreams?: boolean;
}

export interface Gateway {
  /** Starts the agent-facing and admin HTTP listeners; resolves with their URLs. */
  listen(): Promise<{ mcpUrl: string; adminUrl: string }>;
  /** Serves one agent over a pair of streams (stdio mode) as `identity`; resolves when the input ends. */
  serveStdio(
    input: Readable,
    output: Writable,
    server: string | undefined,
    identity: Identity,
  ): Promise<void>;
  /** Who a stdio agent is: `--grant <label>`, else the WARDEN_TOKEN token, else anonymous if the config allows. */
  stdioIdentity(grantLabel: string | undefined, token: string | undefined): Promise<Identity>;
  /** Drains in-flight requests (up to graceMs) and closes everything. */
  close(graceMs?: number): Promise<void>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Host names accepted in the Host header (DNS rebinding guard); undefined accepts any. */
export function allowedHostsFor(config: GatewayConfig): Set<string> | undefined {
  if (config.allowedHosts !== undefined) return new Set(config.allowedHosts.map((h) => hostName(h)));
  if (isWildcard(config.listen.host)) return undefined;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return new Set([...LOOPBACK_NAMES, host.toLowerCase()]);
}

/** Origins accepted when a browser sends one: the configured ones, else loopback pages only. */
export function originCheck(config: GatewayConfig): (origin: string) => boolean {
  const allowed = config.allowedOrigins;
  if (allowed !== undefined) return (origin) => allowed.includes('*') || allowed.includes(origin);
  return (origin) => {
    try {
      const u = new URL(origin);
      return (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK_NAMES.includes(u.hostname);
    } catch {
      return false;
    }
  };
}

function urlHost({ host, port }: HostPort): string {
  const h = isWildcard(host) ? '127.0.0.1' : host;
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function listenOn(server: Server, at: HostPort, what: string): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new WardenError(
          'LISTEN_FAILED',
          `cannot listen for ${what} on ${at.host}:${at.port}: ${err.message}`,
          {
            hint:
              err.code === 'EADDRINUSE' ? 'another process uses this port; pass --listen/--admin' : undefined,
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      const addr = server.address() as AddressInfo;
      resolve({ host: at.host, port: addr.port });
    });
  });
}

/**
 * The bridge relay on Redis pub/sub; waits up to 3 s for its subscription (a Redis that is down at start only delays
 * the relay: the subscription is made when Redis comes back).
 */
async function startBridgeRelay(url: string, prefix: string, key: Buffer, log: Logger): Promise<BridgeRelay> {
  const { RedisBridgeBus } = await import('./state/bridge-bus.js');
  const bus = RedisBridgeBus.open(url, {
    onError: (err: Error) => log.warn({ err: err.message }, 'bridge relay (Redis) connection error'),
  });
  const { relay, ready } = BridgeRelay.start({ bus, key, prefix, log });
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    ready.then(() => true),
    new Promise<false>((r) => {
      timer = setTimeout(() => r(false), 3000);
    }),
  ]).catch(() => false);
  clearTimeout(timer);
  if (!waited)
    log.warn('bridge relay (Redis) not subscribed yet: bridged retries from other replicas fail until it is');
  return relay;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** Opens the audit store and wires every part; rejects with a WardenError when storage cannot be opened. */
export async function createGateway(config: GatewayConfig, options: GatewayOptions): Promise<Gateway> {
  const { log } = options;
  // Every store, opened in order; a start that fails closes those already open (src/store/stores.ts).
  const stores = await openStores(config, log);
  const { auditKeys, auditKey, audit: store, sink, counters, conversations, directory } = stores;
  const { grants: grantStore, approvals: approvalStore, pins: pinStore } = stores;
  // The tool catalog is made below; metrics ask it only when a request is counted.
  let toolCatalog: ToolCatalog | undefined;
  const metrics = new Metrics({
    servers: new Set(config.upstreams.map((u) => u.id)),
    knownTool: (server, tool) => toolCatalog?.has(server, tool) ?? false,
  });
  const traceEndpoint = tracingEndpoint(config.tracing.endpoint, process.env);
  const tracing: Tracing | undefined =
    traceEndpoint === undefined
      ? undefined
      : await startTracing({ ...config.tracing, endpoint: traceEndpoint }, VERSION);
  const auditOptions = {
    sink,
    argsMode: config.auditArgs,
    argsKey: auditKey,
    log,
    metrics,
    tracer: tracing?.tracer,
  };
  const retention =
    config.auditRetentionMs === undefined
      ? undefined
      : setInterval(() => {
          store
            .prune(new Date(Date.now() - config.auditRetentionMs!))
            .then((n) => n > 0 && log.info({ pruned: n }, 'audit retention'))
            .catch((err: Error) => log.warn({ err: err.message }, 'audit retention failed'));
        }, 3_600_000);
  retention?.unref();
  const authenticator = new Authenticator({
    store: grantStore,
    anonymous: config.anonymous,
    log,
    environmentAdminToken: process.env.WARDEN_ADMIN_TOKEN,
  });
  // An OAuth issuer's access tokens beside grants (SPEC §14); undefined: grants only.
  const resourceServer =
    config.oauth === undefined ? undefined : createResourceServer(config.oauth, config.publicUrl);
  const serverIds: ReadonlySet<string> = new Set(config.upstreams.map((u) => u.id));
  // Approvals decided on another replica wake the call held here through Redis; the store is polled as well.
  const approvalBus = config.state.startsWith('redis')
    ? (await import('./state/approval-bus.js')).RedisApprovalBus.open(config.state, {
        onError: (err: Error) => log.warn({ err: err.message }, 'approval bus (Redis) connection error'),
      })
    : undefined;
  const approvals = new ApprovalService({
    store: approvalStore,
    audit: (entry) => sink.write(entry),
    log,
    webhooks: config.approvalWebhooks,
    bus: approvalBus,
    // The admin port as it listens (a port of 0 is chosen at listen()), else as configured.
    dashboardUrl: () => adminBase ?? `http://${urlHost(config.admin)}`,
  });
  approvals.startSweeper();
  // The key that seals 2026 approval round trips (docs/approvals-inband.md); read once, never logged.
  const stateKey = stateKeyFrom(config.approvalStateKey);
  if (stateKey.generated && config.state.startsWith('redis'))
    log.warn(
      'approvals.stateKey is not set: 2026 approval and bridge retries work only on the replica that asked; set the same key on every replica',
    );
  const sealer = new RequestStateSealer(stateKey.key);
  // With Redis, a 2026 client's bridged retry is relayed to the replica holding its call (src/era/bridge-relay.ts).
  const bridgeRelay = config.state.startsWith('redis')
    ? await startBridgeRelay(config.state, config.statePrefix, stateKey.key, log)
    : undefined;
  const catalog = new ToolCatalog({
    pins: pinStore,
    audit: (entry) => sink.write(entry),
    log,
    // An accepted definition replaces what agents were shown (the old one, or nothing): they list again.
    onAccepted: (server) => {
      for (const s of sessions)
        if (s.server === undefined || s.server === server) s.announce('notifications/tools/list_changed');
    },
  });
  toolCatalog = catalog;
  const grantService = new GrantService(
    grantStore,
    (entry) => sink.write(entry),
    new Set(config.upstreams.map((u) => u.id)),
  );
  const policies = new PolicySet(
    config.policies,
    config.upstreams.map((u) => u.id),
    log,
  );
  // Flow rules (docs/flows.md), the config's and those policy files add (a grant's included, created at any time): the
  // step passes a call straight on while no rule exists anywhere, so a gateway without them pays nothing.
  const flowLabels = new LabelResolver(config.flows);
  const flowRules = compileRules(config.flows.rules);
  const flows = flowStep({
    labels: flowLabels,
    rules: flowRules,
    store: conversations,
    log,
    conversation: config.flows.conversation,
    shadow: config.flows.shadow,
    holdTimeoutMs: config.flows.holdTimeoutMs,
    failMode: config.stateFailMode,
    catalog,
    layersOf: (ctx, server) => layersOf(policies, ctx, server),
    policiesHaveFlows: () => policies.hasFlows(),
  });
  // audit (outermost: one record per request, in finally) -> grant still live (stdio) -> a bridged retry's round (no
  // new decision: it ends here, its answer goes upstream only after the recheck) -> route -> decide -> flows -> approval -> grant still live (after a wait) -> limits
  // -> durable decision -> forward (2026 HTTP tools/call: Mcp-Param-* headers checked right after the decision)
  const pipeline: (ctx: CallContext) => Promise<void> = compose<CallContext>([
    auditStep(auditOptions),
    grantStillLive,
    bridgedRound,
    route,
    policyStep({
      policies,
      log,
      counters,
      failMode: config.stateFailMode,
      metrics,
      catalog,
      pinRules: (server) => config.pinning.servers.get(server) ?? config.pinning.global,
    }),
    paramHeaderCheck,
    flows,
    approvalStep({ approvals, log, inband: { sealer } }),
    grantStillLiveAfterApproval,
    limitStep({ counters, failMode: config.stateFailMode, log, metrics }),
    commitDecision(auditOptions),
    // innermost but forward: the guards see results before any outer step (flows) or the agent does
    guardStep({
      guards: config.guards ?? compileGuards(undefined),
      log,
      layersOf: (ctx, server) => layersOf(policies, ctx, server),
    }),
    forward,
  ]);
  // Tools each server listed when the gateway started (checkUpstreams), for the policy name warnings.
  const listedAtStart = new Map<string, ReadonlySet<string>>();
  const policyNameWarnings = () => {
    const listed = new Map(listedAtStart);
    for (const t of catalog.list()) {
      const names = listed.get(t.server);
      if (names === undefined) listed.set(t.server, new Set([t.name]));
      else if (!names.has(t.name)) listed.set(t.server, new Set([...names, t.name]));
    }
    return unknownToolNames(
      policies.current(),
      config.upstreams.map((u) => u.id),
      listed,
    );
  };
  const checkUpstreams = async () => {
    const { checkUpstreams: listAll } = await import('./proxy/start-check.js');
    for (const l of await listAll(config.upstreams)) {
      if ('error' in l) {
        // The cause stays in the log: stderr may hold what no agent should read.
        log.error(
          { server: l.server, err: l.error, ...(l.stderr === undefined ? {} : { stderr: l.stderr }) },
          `upstream ${l.server} cannot be started or listed; its calls fail until it can`,
        );
      } else listedAtStart.set(l.server, new Set(l.tools.map((t) => String(t.name))));
    }
    for (const w of policyNameWarnings()) {
      log.warn(
        { server: w.server ?? '(all)', policy: w.source, at: w.pointer, tool: w.name },
        `policy: ${w.message}`,
      );
    }
  };
  const sessions = new Set<ProxySession>();
  // Upstream links by `isolation` (docs/isolation.md); a request without an agent session leases from it too.
  const pool = new UpstreamPool({
    upstreams: config.upstreams,
    log,
    createTransport: options.createTransport,
  });
  // When a reload changes which tools are visible, agents are told to list again.
  policies.onVisibilityChange((servers) => {
    for (const s of sessions) {
      if (s.server === undefined || servers.has(s.server)) s.announce('notifications/tools/list_changed');
    }
  });
  if (options.watchPolicies ?? true) policies.watch();

  // Upstreams whose own OAuth flow warden runs for each user (credentials.type oauth): their tokens are sealed in the
  // storage with a key from outside it (src/identity/upstream/oauth-flow.ts, token-store.ts).
  const oauthUpstreams = new Map(
    config.upstreams.flatMap((u) =>
      u.auth?.type === 'oauth' && u.url !== undefined ? [[u.id, { url: u.url, oauth: u.auth }] as const] : [],
    ),
  );
  let upstreamTokens: UpstreamTokenStore | undefined;
  let upstreamOAuth: UpstreamOAuth | undefined;
  let oauthFlows: FlowStateStore | undefined;
  if (oauthUpstreams.size > 0 && config.publicUrl !== undefined) {
    const key = loadCredentialKey(
      config.credentialKeyFile === undefined ? {} : { file: config.credentialKeyFile },
    );
    upstreamTokens = await openUpstreamTokenStore(config.storage, [key], { baseDir: dirname(config.file) });
    // With shared state the start page and the callback may reach any replica (src/identity/upstream/flow-state.ts).
    oauthFlows = config.state.startsWith('redis')
      ? (await import('./identity/upstream/flow-state-redis.js')).RedisFlowState.open(
          config.state,
          config.statePrefix,
        )
      : new MemoryFlowState();
    upstreamOAuth = new UpstreamOAuth(oauthUpstreams, {
      publicUrl: config.publicUrl,
      store: upstreamTokens,
      flows: oauthFlows,
      key,
      audit: async (e) => {
        await sink.write(flowEventEntry(e));
      },
    });
  }
  const upstreamCredentials = new UpstreamCredentials(config.upstreams, config.oauth?.issuer, upstreamOAuth);
  const createSession = (
    endpoint: string | undefined,
    port: DownstreamPort,
    id: string,
    identity: Identity,
  ): ProxySession => {
    const held = identity.grant?.servers;
    const session = new ProxySession({
      id,
      identity,
      server: endpoint,
      // A grant limited to some servers never gets a link to the others, so nothing of theirs can reach it.
      upstreams: held === undefined ? config.upstreams : config.upstreams.filter((u) => held.has(u.id)),
      separator: config.separator,
      pipeline,
      downstream: port,
      log,
      version: VERSION,
      // Upstreams with per-user credentials (mcpServers.<id>.credentials) get this session's identity's token.
      createTransport: options.createTransport,
      authFor: upstreamCredentials.authFor(identity),
      pool,
      onClose: (s) => sessions.delete(s),
    });
    sessions.add(session);
    return session;
  };

  const endpoint = new HttpEndpoint({
    log,
    servers: new Set(config.upstreams.map((u) => u.id)),
    createSession: createSession satisfies SessionFactory,
    maxBodyBytes: config.maxBodyBytes,
    maxSessions: config.maxSessions,
    sessionIdleMs: config.sessionIdleMs,
    maxSessionsPerGrant: config.maxSessionsPerGrant,
    upstreamIdleMs: config.upstreamIdleMs,
    allowedHosts: allowedHostsFor(config),
    allowedOrigin: originCheck(config),
    authenticate: agentAuthenticate(authenticator, resourceServer),
    wellKnown: resourceServer === undefined ? undefined : (path) => resourceServer.metadata(path, serverIds),
    oauthPages:
      upstreamOAuth === undefined
        ? undefined
        : oauthPages({
            flow: upstreamOAuth,
            authenticate: async (authorization) => {
              const r = await agentAuthenticate(authenticator, resourceServer)(authorization, '/mcp');
              return r.ok ? r.identity : undefined;
            },
            secure: config.publicUrl?.startsWith('https:') ?? false,
            cookiePath: `${new URL(config.publicUrl ?? 'http://x').pathname.replace(/\/$/, '')}/oauth/upstream`,
          }),
    directory,
    bridgeRelay,
  });
  metrics.gauge('warden_approvals_pending', 'Approvals waiting for a person (all replicas)', () => [
    { labels: {}, value: approvals.pendingCount },
  ]);
  metrics.gauge(
    'warden_audit_spooled_records',
    'Audit records durable in the spool and not yet in the audit store (grows while the store is down)',
    () => [{ labels: {}, value: stores.spooled() }],
  );
  metrics.gauge('warden_sessions', 'Open agent sessions', () => [{ labels: {}, value: sessions.size }]);
  metrics.gauge('warden_upstream_ready', 'Upstream sessions ready, by server', () =>
    [...linkCounts(config.upstreams, sessions)].map(([server, c]) => ({
      labels: { server },
      value: c.ready,
    })),
  );
  let mcpServer: Server | undefined;
  let adminServer: Server | undefined;
  let adminBase: string | undefined;

  return {
    async listen() {
      mcpServer = createServer({ keepAliveTimeout: 65_000 }, endpoint.handle);
      mcpServer.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      });
      const parts: DashboardParts = {
        config,
        policies,
        catalog,
        sessions,
        metrics,
        approvals,
        authenticator,
        policyNameWarnings,
        flows: { labels: flowLabels, rules: flowRules, conversations },
      };
      adminServer = createServer(
        createAdminHandler({
          sessions: () => sessions.size,
          version: VERSION,
          upstreamTokens: upstreamOAuth,
          metrics,
          recentAudit: (limit, filter) => recentRecords(store, limit, filter),
          exportAudit: (limit, filter) => pagedRecords(store, limit, filter),
          // One verification at a time: each reads the whole chain.
          verifyAudit: singleFlight(async () => ({
            ...(await verifyStore(store, {
              keys: auditKeys?.keys,
              heads: headsToVerify(config.auditHeads?.file, auditKeys?.keys ?? []),
            })),
            head: await store.head(),
          })),
          authenticate: (authorization) => authenticator.authenticateAdmin(authorization),
          grants: grantService,
          approvals,
          tools: () => toolViews(parts),
          scanTools: singleFlight(() => scanUpstreams(parts)),
          conversations: async (limit) => conversationViews(await conversations.list(limit)),
          acceptTool: (server, tool, by, hash) => catalog.accept(server, tool, by, hash),
          toolPin: (server, tool) => pinView(catalog, server, tool),
          overview: () => overview(parts),
          policies: () => policyViews(parts),
          simulate: (request) => simulate(parts, request),
          auditArgs: config.auditArgs,
          auditArgsKey: auditKey,
          logins: new DashboardSessions(),
          oidc: config.dashboardLogin === undefined ? undefined : new OidcLogin(config.dashboardLogin),
          assets: loadAssets(),
          allowedHosts: allowedHostsFor({ ...config, listen: config.admin }),
          log,
        }),
      );
      const mcp = await listenOn(mcpServer, config.listen, 'MCP');
      const admin = await listenOn(adminServer, config.admin, 'admin').catch(async (err) => {
        await closeServer(mcpServer!);
        throw err;
      });
      // In the background: a server slow to start (npx downloading) does not hold the others up.
      if (options.checkUpstreams)
        void checkUpstreams().catch((err: Error) =>
          log.warn({ err: err.message }, 'upstream check at start failed'),
        );
      adminBase = `http://${urlHost(admin)}`;
      return { mcpUrl: `http://${urlHost(mcp)}/mcp`, adminUrl: adminBase };
    },

    async stdioIdentity(grantLabel, token) {
      const identity = await authenticator.stdioIdentity(grantLabel, token);
      if (identity.grant !== undefined) authenticator.noteUse(identity.grant.id);
      return identity;
    },

    serveStdio(input, output, server, identity) {
      const held = identity.grant?.servers;
      if (
        server !== undefined &&
        (!config.upstreams.some((u) => u.id === server) || (held && !held.has(server)))
      ) {
        return Promise.reject(new WardenError('CONFIG_INVALID', `no server "${server}" in ${config.file}`));
      }
      return new Promise((resolve) => {
        let session: ProxySession | undefined;
        // When the agent closes stdin, answers to what it already asked still go out (up to 5 s).
        const port = new StdioDownstream(
          input,
          output,
          () => {
            if (!session) return resolve();
            // Nobody is left to answer: calls held for approval are withdrawn at once (#17.24).
            session.agentGone('The agent closed its connection (stdin) before anyone decided.');
            void session
              .idle(5000)
              .then(() => session?.close())
              .then(() => resolve());
          },
          config.maxBodyBytes,
        );
        // Both eras on one stdio (SPEC §12): 2026 requests pass the session's 2026 face, 2025 ones go through as is.
        const front = new ModernFront(port, {
          log,
          version: VERSION,
          cache: { aggregated: server === undefined, shaped: identity.grant !== undefined },
        });
        const s = createSession(server, front, 'stdio', identity);
        front.inner = s;
        session = s;
        // No request of a stdio agent is authenticated: its messages are what keep the grant's last use current.
        const grantId = identity.grant?.id;
        port.sink =
          grantId === undefined
            ? front
            : {
                handle: (message) => {
                  authenticator.noteUse(grantId);
                  front.handle(message);
                },
                restore: (params) => front.restore(params),
                close: () => front.close(),
                agentGone: (why, id) => front.agentGone(why, id),
                get lastActivity() {
                  return front.lastActivity;
                },
                get busy() {
                  return front.busy;
                },
              };
        port.start();
      });
    },

    async close(graceMs = 10_000) {
      policies.close();
      // Calls held for approval are answered (cancelled: the gateway stopped) before the drain waits for them.
      await approvals.close();
      const closing: Promise<void>[] = [];
      if (mcpServer) closing.push(closeServer(mcpServer));
      if (adminServer) closing.push(closeServer(adminServer));
      await endpoint.drain(graceMs);
      await Promise.all([...sessions].map((s) => s.close()));
      await pool.close();
      // Every answer is out: keep-alive connections would otherwise hold close() for their whole timeout.
      mcpServer?.closeAllConnections();
      adminServer?.closeAllConnections();
      await Promise.all(closing);
      if (retention) clearInterval(retention);
      await approvalBus?.close();
      await bridgeRelay?.close();
      await stores.close();
      await tracing?.close();
      await upstreamTokens?.close();
      await oauthFlows?.close();
    },
  };
}
