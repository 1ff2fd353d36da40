/**
 * The layers of src/, as a check: `npm run lint` fails on an import against them (docs/architecture.md
 * draws the same picture). From the top:
 *   Server and CLI → Wiring → Http → UseCases (secrets/, estate/) → Records → Schema
 *   beside them: Policy, Identity, Upstream (vonage/), Config
 *   at the bottom: Ground (errors, logger, listen) and Rules (pure words and checks shared with the browser)
 *   the Console imports only its own files, its generated client and Rules.
 */
const L = {
  server: '^src/(server|migrate)\\.ts$|^src/(cli|dev)/',
  wiring: '^src/(wiring|background-jobs)\\.ts$',
  http: '^src/http/',
  useCases: '^src/(secrets|estate)/(?!estate\\.table)',
  records: '^src/(audit|idempotency|rotation|rate-limit|delivery)/',
  schema: '^src/database\\.ts$|\\.table\\.ts$',
  sideways: '^src/(policy|identity|vonage)/',
  config: '^src/config(-fields)?\\.ts$',
  ground: '^src/(errors|logger|listen|node-http|repeat)\\.ts$',
  rules: '^src/vonage/(identifiers|secret-rules)\\.ts$|^src/audit/vocabulary\\.ts$',
  console: '^src/console/',
};
const any = (...names) => names.map((name) => L[name]).join('|');
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

module.exports = {
  forbidden: [
    rule(
      'server-on-top',
      'Only the entry points import the entry points.',
      { path: '^src/', pathNot: L.server },
      {
        path: L.server,
      },
    ),
    rule(
      'one-composition-root',
      'Only the entry points import the wiring.',
      { path: '^src/', pathNot: any('server', 'wiring') },
      {
        path: L.wiring,
      },
    ),
    rule(
      'http-only-from-wiring',
      'Below Http nothing knows about Express or routes.',
      {
        path: any('useCases', 'records', 'schema', 'sideways', 'config', 'ground', 'console'),
      },
      { path: L.http },
    ),
    rule(
      'use-cases-only-from-http',
      'Records and the sideways concerns never call a use case.',
      {
        path: any('records', 'schema', 'sideways', 'config', 'ground', 'console'),
      },
      { path: L.useCases },
    ),
    rule(
      'records-below-use-cases',
      'Records know neither the upstream nor the configuration.',
      { path: L.records },
      {
        path: any('sideways', 'config'),
        pathNot: any('rules', 'schema') + '|^src/identity/identity(-values)?\\.ts$',
      },
    ),
    rule(
      'sideways-stay-sideways',
      'Policy, Identity and Upstream use no records, use cases or configuration.',
      {
        path: L.sideways,
        pathNot: L.rules,
      },
      { path: any('records', 'config'), pathNot: any('rules', 'schema') },
    ),
    rule(
      'schema-is-types',
      'Table types import only their vocabulary.',
      { path: L.schema },
      {
        path: '^src/',
        pathNot: any('schema', 'rules', 'ground'),
      },
    ),
    rule(
      'ground-imports-ground',
      'Ground depends on nothing of ours above it.',
      { path: L.ground },
      {
        path: '^src/',
        pathNot: L.ground,
      },
    ),
    rule(
      'rules-are-pure',
      'Rules are shared with the browser: no imports of ours.',
      { path: L.rules },
      {
        path: '^src/',
        pathNot: L.rules,
      },
    ),
    rule(
      'console-is-separate',
      'The console talks to the server only through its generated client.',
      {
        path: L.console,
      },
      { path: '^src/', pathNot: any('console', 'rules') },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/console/generated/' },
    tsPreCompilationDeps: true,
    moduleSystems: ['es6'],
  },
};
