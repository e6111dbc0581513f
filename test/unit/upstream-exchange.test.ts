// Token exchange refusals that need no provider: the agent's token is never sent to a token endpoint in clear.
import { describe, expect, it } from 'vitest';
import { Issuer } from '../../src/identity/oauth/issuer.js';
import { secureEndpoint, TokenExchangeError, TokenExchanger } from '../../src/identity/upstream/exchange.js';

describe('token exchange endpoint checks', () => {
  it('#20.b14 an issuer whose metadata names an http token endpoint off loopback never gets the agent token', async () => {
    const asked: string[] = [];
    const fake = (async (input: string | URL) => {
      asked.push(String(input));
      return new Response(
        JSON.stringify({ issuer: 'https://idp.example.com', token_endpoint: 'http://idp.example.com/token' }),
        { headers: { 'content-type': 'application/json' } },
      );
    }) as typeof fetch;
    const issuer = new Issuer('https://idp.example.com', { fetch: fake });
    const x = new TokenExchanger(
      issuer,
      { clientId: 'w', audience: 'https://up.example.com/mcp' },
      { fetch: fake },
    );
    const err = await x.tokenFor('s', 'AGENT-TOKEN').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenExchangeError);
    expect((err as Error).message).toMatch(/must be https/);
    expect(asked.every((u) => u.includes('/.well-known/'))).toBe(true);
  });

  it('#20.b15 secure endpoints: https, or http on a loopback name only', () => {
    expect(secureEndpoint('https://idp.example.com/token')).toBe(true);
    expect(secureEndpoint('http://127.0.0.1:8080/token')).toBe(true);
    expect(secureEndpoint('http://LOCALHOST/token')).toBe(true);
    expect(secureEndpoint('http://127.0.0.1.evil.example/token')).toBe(false);
    expect(secureEndpoint('http://idp.example.com/token')).toBe(false);
    expect(secureEndpoint('javascript:alert(1)')).toBe(false);
    expect(secureEndpoint('not a url')).toBe(false);
  });
});
