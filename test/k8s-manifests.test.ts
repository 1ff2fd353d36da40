import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { createMetrics } from '../src/http/metrics.ts';
import { placeholdersIn, render as renderWith } from '../tools/render-k8s.ts';

/**
 * Every overlay, alone and with each component, renders; every object validates against the Kubernetes
 * schemas (kubernetes-models) or its CRD's (@kubernetes-models/prometheus-operator, external-secrets);
 * our hardening rules hold; the alert rules pass promtool; and a placeholder never reaches an apply.
 */

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
} & Record<string, any>;
type Container = { name: string; image: string; resources?: { limits?: Record<string, string> } } & Record<string, any>;

const OVERLAYS = ['staging', 'production'];
const COMPONENTS = ['external-secrets', 'monitoring', 'jwt-identity', 'audit-stream', 'eso-delivery'];
const toObjects = (manifest: string) => parseAllDocuments(manifest).map((doc) => doc.toJS() as K8sObject);
/** values.env as an operator fills it in: every component's values set, none turned on. */
const FILLED = [
  'IMAGE=registry.corp.example/vonage-secrets-gateway:0.2.0',
  'TRUSTED_PROXY_CIDRS=10.8.0.0/14',
  'RUNBOOK_BASE_URL=https://git.corp.example/vonage-secrets-gateway/blob/v0.2.0/docs/runbooks.md',
  'IAP_AUDIENCE=/projects/123456789012/global/backendServices/1234567890123456789',
  'AUDIT_STREAM_EGRESS_CIDR=203.0.113.10/32',
].join('\n');
/** What `npm run k8s:render` prints for these values and components (and it must print something). */
function rendered(overlay: string, components: string[] = [], values = FILLED): string {
  const { manifest, problems } = renderWith(overlay, components, values);
  if (manifest === undefined) throw new Error(`refused: ${problems.join('; ')}`);
  return manifest;
}
const render = (overlay: string, components: string[] = [], values = FILLED) =>
  toObjects(rendered(overlay, components, values));

const SCHEMAS: Record<string, string> = {
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'external-secrets.io/v1': '@kubernetes-models/external-secrets/external-secrets.io/v1',
};

async function validateSchema(object: K8sObject): Promise<void> {
  const models = (await import(SCHEMAS[object.apiVersion] ?? `kubernetes-models/${object.apiVersion}`)) as Record<
    string,
    new (
      data: unknown,
    ) => { validate(): void }
  >;
  const Model = models[object.kind];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

function containerViolations(object: K8sObject, container: Container): string[] {
  const where = `${object.kind}/${object.metadata.name}/${container.name}`;
  const problems: string[] = [];
  if (!/:[\w.-]+$|@sha256:/.test(container.image) || container.image.endsWith(':latest'))
    problems.push(`${where}: image not pinned`);
  if (!container.resources?.limits?.cpu || !container.resources?.limits?.memory) problems.push(`${where}: no limits`);
  if (container.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem writable`);
  if (container.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${where}: privilege escalation`);
  if (JSON.stringify(container.securityContext?.capabilities?.drop) !== '["ALL"]')
    problems.push(`${where}: capabilities kept`);
  return problems;
}

/** The hardening rules, plus one for each finding of the platform review (items 1-4). */
function ruleViolations(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const pod = deployment?.spec.template.spec;
  const podLabels: Record<string, string> = deployment?.spec.template.metadata.labels ?? {};
  const selects = (selector: Record<string, string> | undefined) =>
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  if (pod?.securityContext?.runAsNonRoot !== true) problems.push('pod does not set runAsNonRoot');
  if (pod?.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    problems.push('pod seccomp is not RuntimeDefault');
  if (pod?.automountServiceAccountToken !== false) problems.push('pod mounts a service account token');
  for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])])
    problems.push(...containerViolations(deployment as K8sObject, c));
  if (!pod?.containers?.every((c: Container) => c.readinessProbe && c.livenessProbe)) problems.push('missing probes');
  // 1. The namespace exists, under Pod Security Admission "restricted".
  const namespace = objects.find((o) => o.kind === 'Namespace');
  if (namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted')
    problems.push('no restricted Namespace');
  if (objects.some((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace?.metadata.name))
    problems.push('object outside the Namespace');
  // 2. No Job with a fixed name that a re-apply would collide with; migration runs before the app starts.
  if (objects.some((o) => o.kind === 'Job')) problems.push('a migration Job (immutable template) is rendered');
  if (!pod?.initContainers?.some((c: Container) => c.name === 'migrate')) problems.push('no migrating init container');
  // 3. The HPA owns the scale.
  if (deployment?.spec.replicas !== undefined) problems.push('Deployment sets replicas although an HPA owns it');
  // 4. PDB, Service and NetworkPolicy select exactly the Deployment's pods (name and component).
  for (const kind of ['PodDisruptionBudget', 'NetworkPolicy']) {
    const object = objects.find((o) => o.kind === kind);
    const selector =
      kind === 'NetworkPolicy' ? object?.spec.podSelector.matchLabels : object?.spec.selector.matchLabels;
    if (!selects(selector) || !selector['app.kubernetes.io/component'])
      problems.push(`${kind} does not select exactly the gateway's pods`);
  }
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    if (!selects(service.spec.selector))
      problems.push(`Service/${service.metadata.name} does not select the gateway's pods`);
  }
  return problems;
}

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  const variants: Array<[string, K8sObject[]]> = [
    ['alone', render(overlay)],
    ...COMPONENTS.map((component): [string, K8sObject[]] => [`with ${component}`, render(overlay, [component])]),
  ];

  test.each(variants)('when rendered %s, then every object validates against its schema', async (_label, objects) => {
    for (const object of objects) await expect(validateSchema(object)).resolves.toBeUndefined();
  });

  test.each(variants)('when rendered %s, then the hardening and platform rules hold', (_label, objects) => {
    expect(ruleViolations(objects)).toEqual([]);
  });

  test("when rendered, then the callers' Service exposes only http and the HPA keeps two or more replicas", () => {
    const [, objects] = variants[0] as [string, K8sObject[]];
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'vonage-secrets-gateway');
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');

    expect(service?.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http']);
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  test('when rendered with jwt-identity, then the gateway runs in jwt mode and admits the load balancer, not oauth2-proxy', () => {
    const objects = render(overlay, ['jwt-identity']);
    const env = objects.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0].env as Array<{
      name: string;
      value?: string;
    }>;
    const policy = objects.find((o) => o.kind === 'NetworkPolicy');

    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'AUTH_MODE', value: 'jwt' },
        { name: 'AUTH_JWT_PRESET', value: 'google-iap' },
      ]),
    );
    expect(JSON.stringify(policy?.spec.ingress)).toContain('35.191.0.0/16');
    expect(JSON.stringify(policy?.spec.ingress)).not.toContain('oauth2-proxy');
  });
});

describe('npm run k8s:render', () => {
  test('when production still holds placeholders, then it refuses to print a manifest and names each one', () => {
    const result = spawnSync(process.execPath, ['tools/render-k8s.ts', 'production'], { encoding: 'utf8' });

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/IMAGE: still a PLACEHOLDER/);
    expect(result.stderr).toMatch(/TRUSTED_PROXY_CIDRS: still a PLACEHOLDER/);
  });

  test('when the values are set, then the manifest renders with them and no placeholder, on a bare cluster', () => {
    const objects = render('production');

    expect(placeholdersIn(rendered('production'))).toEqual([]);
    // No component is on by default: nothing needs a CRD (ServiceMonitor, ExternalSecret) that a bare cluster lacks.
    expect(objects.map((o) => o.apiVersion).filter((v) => /coreos|external-secrets/.test(v))).toEqual([]);
  });

  test.each([
    [
      'jwt-identity without its audience',
      'COMPONENTS=jwt-identity',
      /IAP_AUDIENCE: required by the jwt-identity component/,
    ],
    [
      'monitoring without a runbook base',
      'COMPONENTS=monitoring',
      /RUNBOOK_BASE_URL: required by the monitoring component/,
    ],
    [
      'audit-stream without the SIEM range',
      'COMPONENTS=audit-stream',
      /AUDIT_STREAM_EGRESS_CIDR: required by the audit-stream/,
    ],
    ['a component that does not exist', 'COMPONENTS=monitorng', /no component "monitorng"/],
    ['an image on latest', 'IMAGE=registry.corp.example/gw:latest', /IMAGE: must be pinned/],
    ['one replica at least', 'HPA_MIN_REPLICAS=1', /HPA_MIN_REPLICAS: must be a whole number, at least 2/],
    ['a maximum below the minimum', 'HPA_MIN_REPLICAS=4\nHPA_MAX_REPLICAS=3', /HPA_MAX_REPLICAS: must be at least/],
    ['a limit the service refuses', 'RATE_LIMIT_READS_PER_MINUTE=lots', /RATE_LIMIT_READS_PER_MINUTE/],
    ['an age the service refuses', 'SECRET_MAX_AGE_DAYS=0', /SECRET_MAX_AGE_DAYS/],
    ['a typo in a key', 'SECRET_MAX_AGE_DAY=30', /SECRET_MAX_AGE_DAY: not a known value/],
    ['labels that are not name=value', 'SERVICEMONITOR_LABELS=release', /SERVICEMONITOR_LABELS: must be name=value/],
  ])('when values.env has %s, then the render refuses and names it', (_label, line, problem) => {
    // The filled values, less every component's own value and the key under test, plus the line under test.
    const dropped = ['IAP_AUDIENCE', 'RUNBOOK_BASE_URL', 'AUDIT_STREAM_EGRESS_CIDR', line.split('=')[0]];
    const kept = FILLED.split('\n').filter((l) => !dropped.some((key) => l.startsWith(`${key}=`)));
    const { manifest, problems } = renderWith('production', [], [...kept, line].join('\n'));

    expect(manifest).toBeUndefined();
    expect(problems.join('\n')).toMatch(problem);
  });

  test('when values.env has several problems, then every one is named at once', () => {
    const { problems } = renderWith('production', ['jwt-identity'], 'IMAGE=x:latest\nHPA_MIN_REPLICAS=0');

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^IMAGE/),
        expect.stringMatching(/^TRUSTED_PROXY_CIDRS: required/),
        expect.stringMatching(/^IAP_AUDIENCE/),
        expect.stringMatching(/^HPA_MIN_REPLICAS/),
      ]),
    );
  });

  test('when the knobs are set, then the manifest carries them: settings, scale, neighbours, labels, the SIEM egress', () => {
    const values = [
      FILLED,
      'SECRET_MAX_AGE_DAYS=60',
      'RATE_LIMIT_READS_PER_MINUTE=300',
      'HPA_MIN_REPLICAS=3',
      'HPA_MAX_REPLICAS=12',
      'SSO_NAMESPACE=auth',
      'MONITORING_NAMESPACE=observability',
      'SERVICEMONITOR_LABELS=release=kube-prometheus-stack',
      'EXTRA_ENV_AUDIT_STREAM_BATCH=200',
    ].join('\n');
    const objects = render('production', ['monitoring', 'audit-stream'], values);
    const of = (kind: string) => objects.find((o) => o.kind === kind) as K8sObject;
    const env = of('Deployment').spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;

    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'SECRET_MAX_AGE_DAYS', value: '60' },
        { name: 'RATE_LIMIT_READS_PER_MINUTE', value: '300' },
        { name: 'AUDIT_STREAM_BATCH', value: '200' },
        expect.objectContaining({ name: 'AUDIT_STREAM_URL' }),
      ]),
    );
    expect([of('HorizontalPodAutoscaler').spec.minReplicas, of('HorizontalPodAutoscaler').spec.maxReplicas]).toEqual([
      3, 12,
    ]);
    const ingress = JSON.stringify(of('NetworkPolicy').spec.ingress);
    expect(ingress).toContain('"kubernetes.io/metadata.name":"auth"');
    expect(ingress).toContain('"kubernetes.io/metadata.name":"observability"');
    expect(JSON.stringify(of('NetworkPolicy').spec.egress)).toContain('203.0.113.10/32');
    expect(of('ServiceMonitor').metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
  });
});

describe('k8s/components/monitoring alert rules', () => {
  const rule = render('production', ['monitoring']).find((o) => o.kind === 'PrometheusRule');
  const alerts = (rule?.spec.groups[0].rules ?? []).map((r: { alert: string }) => r.alert);

  test('when listed, then they cover audit unavailable, the open breaker and the 5xx ratio', () => {
    expect(alerts).toEqual(
      expect.arrayContaining(['GatewayAuditUnavailable', 'GatewayVonageCircuitOpen', 'GatewayHigh5xxRatio']),
    );
  });

  test('when checked by promtool, then every expression parses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rule?.spec.groups }));
      const output = execFileSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
      expect(output).toMatch(new RegExp(`SUCCESS: ${alerts.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s/components/monitoring runbooks and dashboard', () => {
  const objects = render('production', ['monitoring']);
  const rules = objects.find((o) => o.kind === 'PrometheusRule')?.spec.groups[0].rules as Array<{
    alert: string;
    annotations: { runbook_url?: string };
  }>;
  const runbooks = readFileSync('docs/runbooks.md', 'utf8');

  test('when each alert is read, then its runbook_url is RUNBOOK_BASE_URL plus a section docs/runbooks.md has', () => {
    const missing = rules.filter((rule) => {
      const [base, anchor] = (rule.annotations.runbook_url ?? '').split('#');
      const heading = runbooks.match(/^## (\S+)$/gm)?.find((h) => h.slice(3).toLowerCase() === anchor);
      return !base?.endsWith('/docs/runbooks.md') || heading === undefined;
    });

    expect(missing.map((rule) => rule.alert)).toEqual([]);
  });

  test('when the dashboard is read, then it parses and every metric it queries is one the service exports', async () => {
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    const dashboard = JSON.parse(map?.data['dashboard.json']) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const exported = (await createMetrics().registry.getMetricsAsJSON()).flatMap((m) =>
      m.type === ('histogram' as unknown) ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
    );
    const queried = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) => t.expr.match(/\b(?:gateway|vonage|audit)_[a-z_]+\b/g) ?? []),
    );

    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    expect([...new Set(queried)].filter((name) => !exported.includes(name))).toEqual([]);
  });

  test('when the alert rules are read, then every metric they use is one the service exports', async () => {
    const exported = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    const used = JSON.stringify(rules.map((r) => (r as unknown as { expr: string }).expr)).match(
      /\b(?:gateway|vonage|audit)_[a-z_]+\b/g,
    );

    expect([...new Set(used)].filter((name) => !exported.includes(name))).toEqual([]);
  });

  test('when a Secret the pods read from changes, then Reloader rolls them: the annotation names every one', () => {
    const deployment = objects.find((o) => o.kind === 'Deployment');
    const named = deployment?.metadata.annotations?.['secret.reloader.stakater.com/reload']?.split(',') ?? [];
    const secrets = new Set<string>();
    JSON.stringify(deployment?.spec.template.spec, (key, value) => {
      if (key === 'secretKeyRef') secrets.add(value.name);
      return value;
    });

    expect(secrets.size).toBeGreaterThan(0);
    expect([...secrets].filter((secret) => !named.includes(secret))).toEqual([]);
  });
});

describe('k8s/components/eso-delivery/consumer', () => {
  const DIR = 'k8s/components/eso-delivery/consumer';
  const files = ['token-secret.yaml', 'target-secret.yaml', 'generator.yaml', 'externalsecret.yaml'];
  const objects = files.map((file) => toObjects(readFileSync(join(DIR, file), 'utf8'))[0] as K8sObject);
  const kind = (k: string) => objects.find((o) => o.kind === k) as K8sObject;
  const GENERATORS: Record<string, string> = {
    'generators.external-secrets.io/v1alpha1':
      '@kubernetes-models/external-secrets/generators.external-secrets.io/v1alpha1',
  };

  test('when each object is validated against its schema (ESO generators included), then it passes', async () => {
    for (const object of objects) {
      const path = GENERATORS[object.apiVersion];
      if (!path) await expect(validateSchema(object)).resolves.toBeUndefined();
      else {
        const models = (await import(path)) as Record<string, new (d: unknown) => { validate(): void }>;
        expect(() =>
          new (models[object.kind] as new (d: unknown) => { validate(): void })(object).validate(),
        ).not.toThrow();
      }
    }
  });

  test('when read as ESO reads them, then the generator sends the token and the held id from labelled Secrets', () => {
    const generator = kind('Webhook');
    const secrets = objects.filter((o) => o.kind === 'Secret');
    const referenced = generator.spec.secrets.map((s: { secretRef: { name: string } }) => s.secretRef.name);

    expect(generator.spec).toMatchObject({ method: 'POST', result: { jsonPath: '$' } });
    expect(new URL(generator.spec.url).pathname).toBe('/v1/deliveries');
    expect(generator.spec.headers).toEqual({
      Authorization: 'Bearer {{ .token.token }}',
      'X-Held-Secret-Id': '{{ .held.secret_id }}',
    });
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual([...referenced].sort());
    for (const secret of secrets) expect(secret.metadata.labels?.['external-secrets.io/type']).toBe('webhook');
  });

  test('when the ExternalSecret is read, then it refreshes every 720h and merges into the labelled target', () => {
    const spec = kind('ExternalSecret').spec;

    expect(spec.refreshInterval).toBe('720h');
    expect(spec.target).toMatchObject({
      name: kind('Webhook').spec.secrets[1].secretRef.name,
      creationPolicy: 'Merge',
      template: { metadata: { labels: { 'external-secrets.io/type': 'webhook' } } },
    });
    expect(spec.dataFrom[0].sourceRef.generatorRef).toEqual({
      apiVersion: 'generators.external-secrets.io/v1alpha1',
      kind: 'Webhook',
      name: kind('Webhook').metadata.name,
    });
  });

  test('when a workload takes the Reloader patch, then it rolls on every change of the target Secret', () => {
    const patch = toObjects(readFileSync(join(DIR, 'reloader-patch.yaml'), 'utf8'))[0] as K8sObject;

    expect(patch.metadata.annotations?.['secret.reloader.stakater.com/reload']).toBe(
      kind('ExternalSecret').spec.target.name,
    );
  });
});
