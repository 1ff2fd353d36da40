import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { KNOBS, labelsOf, parseValuesEnv, SERVICE_SETTINGS, valueProblems } from './k8s-values.ts';

/**
 * The one way to a manifest: `npm run k8s:render -- production [--component NAME]... | kubectl apply -f -`.
 * It reads the overlay's values.env, refuses with every problem named (a PLACEHOLDER left, a component's
 * key missing, a bad number, a setting the service itself would refuse), renders the overlay with the
 * components values.env's COMPONENTS and the flags name, then applies the knobs kustomize cannot.
 * `renderOverlay` is kustomize alone, for the tests that validate every overlay and component.
 */

const PLACEHOLDER = /PLACEHOLDER[\w./-]*/g;

/** The overlay's own namespace and components, so added components land in the same namespace, once. */
function overlaySettings(base: string): { namespace?: string; components: string[] } {
  const kustomization = parse(readFileSync(join(base, 'kustomization.yaml'), 'utf8')) as {
    namespace?: string;
    components?: string[];
  };
  return { namespace: kustomization.namespace, components: (kustomization.components ?? []).map((c) => basename(c)) };
}

export function renderOverlay(overlay: string, extra: string[] = [], root = 'k8s'): string {
  const base = resolve(root, 'overlays', overlay);
  const { namespace, components: included } = overlaySettings(base);
  const components = extra.filter((component) => !included.includes(component));
  if (components.length === 0) return execFileSync('kubectl', ['kustomize', base], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'k8s-render-'));
  try {
    // kustomize takes only relative paths; the load restrictor is lifted for this throwaway root alone.
    const from = (path: string) => relative(dir, path);
    const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', `resources: [${from(base)}]`];
    if (namespace) lines.push(`namespace: ${namespace}`);
    lines.push('components:', ...components.map((component) => `  - ${from(resolve(root, 'components', component))}`));
    writeFileSync(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return execFileSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir], {
      encoding: 'utf8',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const placeholdersIn = (manifest: string): string[] => [...new Set(manifest.match(PLACEHOLDER) ?? [])];

type Metadata = { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
// biome-ignore lint/suspicious/noExplicitAny: a rendered manifest is untyped YAML, each kind its own shape
type Obj = { kind: string; metadata: Metadata } & Record<string, any>;

/** The knobs kustomize cannot express (numbers, label sets, a rule per value), applied to the rendered objects. */
export function applyValues(objects: Obj[], values: Record<string, string>, components: string[]): Obj[] {
  const value = (key: string) => values[key] ?? KNOBS[key] ?? '';
  for (const object of objects) {
    if (object.kind === 'HorizontalPodAutoscaler') {
      object.spec.minReplicas = Number(value('HPA_MIN_REPLICAS'));
      object.spec.maxReplicas = Number(value('HPA_MAX_REPLICAS'));
    }
    if (object.kind === 'Deployment') {
      const gateway = object.spec.template.spec.containers.find((c: { name: string }) => c.name === 'gateway');
      const env = [
        ...SERVICE_SETTINGS.filter((key) => values[key] !== undefined).map((name) => ({ name, value: values[name] })),
        ...Object.keys(values).flatMap((key) => {
          const name = /^EXTRA_ENV_(.+)$/.exec(key)?.[1];
          return name ? [{ name, value: values[key] }] : [];
        }),
      ];
      gateway.env = [...gateway.env.filter((e: { name: string }) => !env.some((n) => n.name === e.name)), ...env];
      reloadOnEverySecret(object);
    }
    if (object.kind === 'NetworkPolicy' && object.metadata.name === 'vonage-secrets-gateway-delivery')
      object.spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'] =
        value('ESO_NAMESPACE');
    else if (object.kind === 'NetworkPolicy') networkPolicy(object, value, components);
    if (object.kind === 'ServiceMonitor')
      object.metadata.labels = { ...object.metadata.labels, ...labelsOf(value('SERVICEMONITOR_LABELS')) };
  }
  return objects;
}

/** Reloader rolls the pods when any Secret they read changes: the annotation names each, whichever components. */
function reloadOnEverySecret(deployment: Obj) {
  const secrets = new Set<string>();
  JSON.stringify(deployment.spec.template.spec, (key, value) => {
    if (key === 'secretKeyRef') secrets.add(value.name);
    return value;
  });
  deployment.metadata.annotations = {
    ...deployment.metadata.annotations,
    'secret.reloader.stakater.com/reload': [...secrets].join(','),
  };
}

/** Who may call (the SSO proxy's namespace and pods), who may scrape, and the SIEM's egress. */
function networkPolicy(object: Obj, value: (key: string) => string, components: string[]) {
  const [callers, scrapers] = object.spec.ingress;
  const proxy = callers?.from?.[0];
  if (proxy?.namespaceSelector) {
    proxy.namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': value('SSO_NAMESPACE') } };
    proxy.podSelector = { matchLabels: labelsOf(value('SSO_POD_LABELS')) };
  }
  if (scrapers?.from?.[0]?.namespaceSelector)
    scrapers.from[0].namespaceSelector = {
      matchLabels: { 'kubernetes.io/metadata.name': value('MONITORING_NAMESPACE') },
    };
  if (components.includes('audit-stream'))
    object.spec.egress.push({
      to: [{ ipBlock: { cidr: value('AUDIT_STREAM_EGRESS_CIDR') } }],
      ports: [{ port: Number(value('AUDIT_STREAM_EGRESS_PORT')) }],
    });
}

/** values.env's COMPONENTS and the --component flags, in that order, once each. */
export function componentsFor(values: Record<string, string>, extra: string[]): string[] {
  const listed = (values.COMPONENTS ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  return [...new Set([...listed, ...extra])];
}

/** The manifest `kubectl apply -f -` should get, or every problem with the overlay's values. */
export function render(
  overlay: string,
  extra: string[] = [],
  valuesText?: string,
): { manifest?: string; problems: string[] } {
  const values = parseValuesEnv(valuesText ?? readFileSync(resolve('k8s/overlays', overlay, 'values.env'), 'utf8'));
  const components = componentsFor(values, extra);
  const problems = valueProblems(values, components);
  if (problems.length > 0) return { problems };
  const manifest = withValues(overlay, valuesText, (root) => renderOverlay(overlay, components, root));
  const objects = parseAllDocuments(manifest).map((doc) => doc.toJS() as Obj);
  const applied = applyValues(objects, values, components).map((o) => stringify(o));
  return { manifest: applied.join('---\n'), problems: [] };
}

/** Values other than the overlay's own file (the tests' filled-in values): k8s/ copied, with those values. */
function withValues(overlay: string, valuesText: string | undefined, work: (root: string) => string): string {
  if (valuesText === undefined) return work('k8s');
  const dir = mkdtempSync(join(tmpdir(), 'k8s-values-'));
  try {
    cpSync('k8s', join(dir, 'k8s'), { recursive: true });
    writeFileSync(join(dir, 'k8s', 'overlays', overlay, 'values.env'), valuesText);
    return work(join(dir, 'k8s'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { component: { type: 'string', multiple: true } },
  });
  const overlay = positionals[0];
  if (!overlay) {
    process.stderr.write('usage: npm run k8s:render -- <overlay> [--component NAME]...\n');
    return 2;
  }
  const { manifest, problems } = render(overlay, values.component ?? []);
  if (manifest === undefined) {
    process.stderr.write(`k8s/overlays/${overlay}/values.env cannot be rendered:\n  ${problems.join('\n  ')}\n`);
    return 1;
  }
  process.stdout.write(manifest);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
