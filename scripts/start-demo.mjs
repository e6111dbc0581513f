// `npm start`: runs the built gateway on examples/warden.yaml in front of the bundled reference servers.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const demoDir = process.env.WARDEN_DEMO_DIR ?? mkdtempSync(join(tmpdir(), 'warden-demo-'));
// The dashboard needs an admin token: the demo makes one for this run unless one is set.
// It is printed once to this terminal (like a notebook server's token); a token set by the user is never printed.
const ownToken = process.env.WARDEN_ADMIN_TOKEN;
const adminToken = ownToken ?? `demo-${randomBytes(18).toString('base64url')}`;
const child = spawn(
  process.execPath,
  ['dist/cli/main.js', 'serve', '--config', 'examples/warden.yaml', ...process.argv.slice(2)],
  {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, WARDEN_DEMO_DIR: demoDir, WARDEN_ADMIN_TOKEN: adminToken },
  },
);
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  const m = /listening mcp=(\S+) admin=(\S+)/.exec(chunk);
  if (m) {
    process.stderr.write(
      `\nmcp-warden is running in front of server-everything, server-memory and server-filesystem (${demoDir}).\n` +
        `  all servers, tools prefixed:  ${m[1]}\n` +
        `  one server, names unchanged:  ${m[1]}/everything  (also /memory, /filesystem)\n` +
        `Paste a URL into your MCP client (transport: Streamable HTTP).\n` +
        `  dashboard:                    ${m[2]}  (admin token: ${ownToken === undefined ? adminToken : 'your WARDEN_ADMIN_TOKEN'})\n` +
        `Calls that need approval (write_file, destructive tools) wait up to 45 s for you on the dashboard; after that\n` +
        `the agent is told the approval id and to make the same call again once it is approved (it then runs once).\n` +
        `Ctrl-C stops.\n\n`,
    );
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
