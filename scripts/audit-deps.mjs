// Dependency gate: fails when `npm audit --omit=dev` reports a high or critical advisory in a production dependency.
// `node scripts/audit-deps.mjs [--level high|critical] [--from saved-audit.json]`
// Exit codes: 0 clean (below the level), 1 advisories at or above the level (listed, with whether a fix is available),
// 2 the audit could not be run (no registry, or a registry without the audit endpoint): never a silent pass.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'];

function arg(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const level = arg('--level') ?? 'high';
if (!SEVERITIES.includes(level)) {
  console.error(`audit-deps: --level must be one of ${SEVERITIES.join(', ')}`);
  process.exit(2);
}

let text;
const from = arg('--from');
if (from !== undefined) {
  text = readFileSync(from, 'utf8');
} else {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.error) {
    console.error(`audit-deps: cannot run npm: ${run.error.message}`);
    process.exit(2);
  }
  text = run.stdout;
}

let report;
try {
  report = JSON.parse(text);
} catch {
  console.error(`audit-deps: npm audit did not print JSON:\n${text.slice(0, 2000)}`);
  process.exit(2);
}
if (report.error !== undefined || report.metadata?.vulnerabilities === undefined) {
  // npm prints {error: {summary, detail}}, or the registry's failed response itself ({message, statusCode, ...}).
  const e = report.error ?? {};
  const why = e.summary || report.message || 'no vulnerability metadata in the report';
  console.error(`audit-deps: the audit could not be run: ${why}${e.detail ? `\n${e.detail}` : ''}`);
  process.exit(2);
}

const floor = SEVERITIES.indexOf(level);
const counts = report.metadata.vulnerabilities;
const found = Object.values(report.vulnerabilities ?? {}).filter(
  (v) => SEVERITIES.indexOf(v.severity) >= floor,
);
const summary = SEVERITIES.map((s) => `${s} ${counts[s] ?? 0}`).join(', ');
if (found.length === 0) {
  console.log(`audit-deps: production dependencies clean at ${level} and above (${summary})`);
  process.exit(0);
}
console.log(
  `audit-deps: ${found.length} production ${found.length === 1 ? 'package' : 'packages'} at ${level} or above (${summary})`,
);
for (const v of found.sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity))) {
  const advisories = (v.via ?? [])
    .filter((x) => typeof x === 'object')
    .map((x) => `${x.title ?? ''} ${x.url ?? ''}`.trim());
  const via = (v.via ?? []).filter((x) => typeof x === 'string');
  const fix =
    v.fixAvailable === true
      ? 'fix: npm audit fix'
      : v.fixAvailable && typeof v.fixAvailable === 'object'
        ? `fix: ${v.fixAvailable.name}@${v.fixAvailable.version}${v.fixAvailable.isSemVerMajor ? ' (semver major)' : ''}`
        : 'no fix available';
  console.log(
    `- ${v.severity} ${v.name} ${v.range ?? ''}${v.isDirect ? ' (direct)' : ''}${via.length > 0 ? ` via ${via.join(', ')}` : ''}; ${fix}`,
  );
  for (const a of advisories) console.log(`    ${a}`);
}
process.exit(1);
