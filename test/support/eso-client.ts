import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * A test client that does what External Secrets Operator does with the shipped consumer manifests
 * (k8s/components/eso-delivery/consumer/, see ../shared/notes/eso-webhook-generator.md): it reads the
 * Webhook generator and the ExternalSecret, renders the URL and headers (Go templates, the `{{ .NAME.KEY }}`
 * subset the manifest uses) from Kubernetes Secrets it holds in memory, calls the gateway, applies
 * `result.jsonPath` and merges the keys into the target Secret. It refuses a Secret without the webhook label,
 * as ESO does.
 */
const DIR = 'k8s/components/eso-delivery/consumer';
const SHIPPED_NAME = 'payments-api';
const LABEL = 'external-secrets.io/type';

export interface KubeSecret {
  labels: Record<string, string>;
  data: Record<string, string>;
}

type Generator = {
  spec: {
    method?: string;
    url: string;
    headers?: Record<string, string>;
    result: { jsonPath: string };
    secrets: Array<{ name: string; secretRef: { name: string } }>;
  };
};
type ExternalSecret = {
  spec: {
    target: { name: string; creationPolicy: string; template?: { metadata?: { labels?: Record<string, string> } } };
  };
};
type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; stringData?: object };

export interface Refresh {
  status: number;
  body: unknown;
}

/** The shipped files, as the console prints them for one consumer: its name in place of payments-api. */
export function consumerManifests(consumer: string): Manifest[] {
  return ['token-secret.yaml', 'target-secret.yaml', 'generator.yaml', 'externalsecret.yaml'].map(
    (file) => parse(readFileSync(join(DIR, file), 'utf8').replaceAll(SHIPPED_NAME, consumer)) as Manifest,
  );
}

/** Go's text/template for `{{ .NAME.KEY }}`: a missing key renders `<no value>`. */
function render(template: string, data: Record<string, Record<string, string>>, encode: (v: string) => string) {
  return template.replace(/\{\{\s*\.(\w+)\.(\w+)\s*\}\}/g, (_m, name: string, key: string) =>
    encode(data[name]?.[key] ?? '<no value>'),
  );
}

function pick(body: unknown, jsonPath: string): unknown {
  if (!jsonPath.startsWith('$')) throw new Error(`unsupported jsonPath ${jsonPath}`);
  const path = jsonPath.slice(1).split('.').filter(Boolean);
  const part = path.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], body);
  return typeof part === 'string' ? JSON.parse(part) : part;
}

export function esoClient(consumer: string, token: string, gatewayOrigin: string) {
  const [tokenSecret, targetSecret, generator, externalSecret] = consumerManifests(consumer) as [
    Manifest,
    Manifest,
    Manifest & Generator,
    Manifest & ExternalSecret,
  ];
  const secrets = new Map<string, KubeSecret>([
    [tokenSecret.metadata.name, { labels: { ...tokenSecret.metadata.labels }, data: { token } }],
    [targetSecret.metadata.name, { labels: { ...targetSecret.metadata.labels }, data: {} }],
  ]);
  const target = externalSecret.spec.target;

  function templateData(): Record<string, Record<string, string>> {
    const data: Record<string, Record<string, string>> = {};
    for (const entry of generator.spec.secrets) {
      const secret = secrets.get(entry.secretRef.name);
      if (!secret) throw new Error(`Secret ${entry.secretRef.name} not found`);
      if (secret.labels[LABEL] !== 'webhook') throw new Error(`Secret ${entry.secretRef.name} lacks ${LABEL}`);
      data[entry.name] = secret.data;
    }
    return data;
  }

  /** One refresh. `lose`: the gateway answered, but the answer never reached the Secret (a timeout, a restart). */
  async function refresh(options: { lose?: boolean } = {}): Promise<Refresh> {
    const data = templateData();
    const url = new URL(render(generator.spec.url, data, encodeURIComponent));
    const headers = Object.fromEntries(
      Object.entries(generator.spec.headers ?? {}).map(([name, value]) => [name, render(value, data, (v) => v)]),
    );
    const res = await fetch(`${gatewayOrigin}${url.pathname}${url.search}`, {
      method: generator.spec.method || 'GET',
      headers,
    });
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
    if (res.status < 200 || res.status > 299 || options.lose) return { status: res.status, body };
    const part = pick(body, generator.spec.result.jsonPath);
    if (!part || typeof part !== 'object' || Array.isArray(part)) throw new Error('the result is not a JSON object');
    write(Object.entries(part).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
    return { status: res.status, body };
  }

  function write(entries: Array<[string, string]>): void {
    const existing = secrets.get(target.name);
    if (!existing && target.creationPolicy === 'Merge') throw new Error(`Secret ${target.name} must exist to merge`);
    const labels = { ...existing?.labels, ...target.template?.metadata?.labels };
    secrets.set(target.name, { labels, data: { ...existing?.data, ...Object.fromEntries(entries) } });
  }

  return { refresh, target: () => secrets.get(target.name) as KubeSecret, secrets };
}
