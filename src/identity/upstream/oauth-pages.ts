// The MCP port's pages of the per-user upstream OAuth flow (under auth.publicUrl, where users' browsers reach warden):
// the Client ID Metadata Document, the start page an agent's error links to, the callback, and a user's own
// credentials (list, revoke) authenticated by the agent's own token or grant.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../authenticate.js';
import { credentialSubject } from './credentials.js';
import { BINDING_COOKIE, FlowError, type UpstreamOAuth } from './oauth-flow.js';

export interface OAuthPagesOptions {
  flow: UpstreamOAuth;
  /** Authenticates an agent's Authorization header (a grant or an identity-provider token). */
  authenticate: (authorization: string | undefined) => Promise<Identity | undefined>;
  /** Whether cookies get `Secure` (an https public URL). */
  secure: boolean;
  /** The cookie's path: `<publicUrl path>/oauth/upstream`. */
  cookiePath: string;
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title><h1>${esc(title)}</h1><p>${esc(text)}</p>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'",
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown, cache = 'no-store'): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': cache });
  res.end(JSON.stringify(value));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** Handles a request whose path starts with /oauth/; answers 404 for anything else there. */
export function oauthPages(opts: OAuthPagesOptions) {
  const { flow } = opts;
  return async (req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> => {
    const params = new URLSearchParams(query);
    if (req.method === 'GET' && path === '/oauth/client-metadata.json')
      return json(res, 200, flow.metadataDocument(), 'max-age=3600');
    const start = /^\/oauth\/upstream\/([^/]+)\/start$/.exec(path);
    if (req.method === 'GET' && start !== null) {
      try {
        const { location, binding } = await flow.start(
          decodeURIComponent(start[1]!),
          params.get('ticket') ?? '',
        );
        // SameSite=Lax: the callback is a top-level navigation from the authorization server.
        res.setHeader(
          'set-cookie',
          `${BINDING_COOKIE}=${binding}; HttpOnly; SameSite=Lax; Path=${opts.cookiePath}; Max-Age=600${opts.secure ? '; Secure' : ''}`,
        );
        res.writeHead(302, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
        res.end();
      } catch (err) {
        const e =
          err instanceof FlowError
            ? err
            : new FlowError(
                502,
                `The upstream's authorization server cannot be used: ${(err as Error).message}`,
              );
        page(res, e.status, 'Authorization not started', e.message);
      }
      return;
    }
    if (req.method === 'GET' && path === '/oauth/upstream/callback') {
      try {
        const { server } = await flow.callback(params, cookieValue(req.headers.cookie, BINDING_COOKIE));
        res.setHeader(
          'set-cookie',
          `${BINDING_COOKIE}=; HttpOnly; SameSite=Lax; Path=${opts.cookiePath}; Max-Age=0`,
        );
        page(
          res,
          200,
          'Authorized',
          `Warden may now call ${server} for you. Go back to your agent and try again.`,
        );
      } catch (err) {
        const e =
          err instanceof FlowError ? err : new FlowError(500, 'The authorization could not be finished.');
        page(res, e.status, 'Authorization failed', e.message);
      }
      return;
    }
    // A user's own credentials: the agent's token (or grant) says whose.
    const own = /^\/oauth\/upstream\/(?:([^/]+)\/)?token$/.exec(path);
    if (own !== null && (req.method === 'GET' || req.method === 'DELETE')) {
      const identity = await opts.authenticate(req.headers.authorization);
      const subject = identity === undefined ? undefined : credentialSubject(identity);
      if (subject === undefined) {
        res.setHeader('www-authenticate', 'Bearer realm="mcp-warden"');
        return json(res, 401, { error: 'a grant or an access token names whose credentials these are' });
      }
      if (req.method === 'GET' && own[1] === undefined)
        return json(res, 200, await flow.credentialsOf(subject));
      if (req.method === 'DELETE' && own[1] !== undefined) {
        const server = decodeURIComponent(own[1]);
        if (!flow.has(server)) return json(res, 404, { error: `no upstream ${server} uses the oauth flow` });
        return json(res, 200, { revoked: await flow.revoke(server, subject, subject) });
      }
    }
    json(res, 404, { error: 'not found' });
  };
}
