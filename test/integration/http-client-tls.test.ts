// The upstream HTTP transport over HTTPS: POSTs and the GET stream (which has a connection of its own) both check the
// upstream's certificate and name. Certificates are made with openssl; the check runs in its own process because Node
// reads NODE_EXTRA_CA_CERTS only at start.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/gateway.js';

/** A self-signed certificate for a day: `openssl req` with these flags, then the key and certificate files. */
const OPENSSL_REQ = 'req -x509 -newkey rsa:2048 -nodes -days 1'.split(' ');

function certificate(dir: string, name: string, san: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const subject = ['-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`];
  execFileSync('openssl', [...OPENSSL_REQ, '-keyout', key, '-out', cert, ...subject], { stdio: 'ignore' });
  return { key, cert };
}

describe('StreamableHttpClient over HTTPS', () => {
  it('talks to an upstream whose certificate is trusted, and refuses one that is not or names another host', () => {
    const dir = tempDir('warden-tls-');
    const trusted = certificate(dir, 'trusted', 'IP:127.0.0.1');
    const other = certificate(dir, 'other', 'IP:127.0.0.1');
    const wrong = certificate(dir, 'wrong', 'DNS:other.example');
    const bundle = join(dir, 'ca.pem');
    writeFileSync(bundle, readFileSync(trusted.cert, 'utf8') + readFileSync(wrong.cert, 'utf8'));
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'test/fixtures/tls-client-check.ts'),
        trusted.key,
        trusted.cert,
        other.key,
        other.cert,
        wrong.key,
        wrong.cert,
      ],
      { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(JSON.parse(out)).toEqual({
      trusted: ['response', 'notifications/tools/list_changed'],
      untrustedPost: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      getTrusted: 'verified',
      getUntrusted: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      getWrongName: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });
});
