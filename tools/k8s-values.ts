import { ConfigError, loadConfig } from '../src/config.ts';

/**
 * An overlay's values.env, read and checked before anything is rendered: every problem named at once.
 * Keys belong to the base or to one component, and a component's keys are required only when it is on
 * (COMPONENTS, or --component). The service's own settings are checked by the service's own parser.
 */
export const COMPONENT_KEYS: Record<string, string[]> = {
  'external-secrets': [],
  monitoring: ['RUNBOOK_BASE_URL'],
  'jwt-identity': ['IAP_AUDIENCE'],
  'audit-stream': ['AUDIT_STREAM_EGRESS_CIDR'],
  'eso-delivery': [],
};
/** Optional knobs and their defaults (the manifests' own values when absent). */
export const KNOBS: Record<string, string> = {
  HPA_MIN_REPLICAS: '2',
  HPA_MAX_REPLICAS: '6',
  SSO_NAMESPACE: 'sso',
  SSO_POD_LABELS: 'app.kubernetes.io/name=oauth2-proxy',
  MONITORING_NAMESPACE: 'monitoring',
  SERVICEMONITOR_LABELS: '',
  AUDIT_STREAM_EGRESS_PORT: '443',
  ESO_NAMESPACE: 'external-secrets',
};
/** The service's settings an operator may set here; they reach the gateway container as environment. */
export const SERVICE_SETTINGS = [
  'RATE_LIMIT_READS_PER_MINUTE',
  'RATE_LIMIT_WRITES_PER_MINUTE',
  'SECRET_MAX_AGE_DAYS',
  'ROTATION_STALE_AFTER_HOURS',
  'ACCOUNT_DISCOVERY_INTERVAL_MINUTES',
  'AUDIT_VERIFY_INTERVAL_MINUTES',
  'AUDIT_FULL_VERIFY_INTERVAL_HOURS',
  'AUDIT_ANCHOR_INTERVAL_MINUTES',
  'LOG_LEVEL',
  'DELIVERY_MIN_INTERVAL_SECONDS',
  'DELIVERY_TOKEN_DAYS',
  'DELIVERY_URL',
];
const BASE_KEYS = ['IMAGE', 'TRUSTED_PROXY_CIDRS', 'COMPONENTS'];
const EXTRA_ENV = /^EXTRA_ENV_([A-Z][A-Z0-9_]*)$/;
const LABELS = /^([\w./-]+=[\w.-]+)(,[\w./-]+=[\w.-]+)*$/;
const PLACEHOLDER = /PLACEHOLDER/;

export interface Values {
  all: Record<string, string>;
  components: string[];
}

export function parseValuesEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1]) values[match[1]] = (match[2] ?? '').trim();
  }
  return values;
}

const integer = (value: string, min: number) => /^\d+$/.test(value) && Number(value) >= min;

/** Every problem with these values for these components; empty when they render. */
export function valueProblems(values: Record<string, string>, components: string[]): string[] {
  const problems: string[] = [];
  const known = new Set([
    ...BASE_KEYS,
    ...Object.keys(KNOBS),
    ...SERVICE_SETTINGS,
    ...Object.values(COMPONENT_KEYS).flat(),
  ]);
  for (const key of Object.keys(values)) {
    if (!known.has(key) && !EXTRA_ENV.test(key)) problems.push(`${key}: not a known value (a typo?)`);
  }
  for (const component of components) {
    if (!(component in COMPONENT_KEYS)) problems.push(`COMPONENTS: no component "${component}" in k8s/components`);
  }
  const needed = ['IMAGE', 'TRUSTED_PROXY_CIDRS', ...components.flatMap((c) => COMPONENT_KEYS[c] ?? [])];
  for (const key of needed) {
    if (!values[key]) problems.push(`${key}: required${componentOf(key)}`);
    else if (PLACEHOLDER.test(values[key] ?? '')) problems.push(`${key}: still a PLACEHOLDER`);
  }
  const image = values.IMAGE ?? '';
  if (
    image &&
    !PLACEHOLDER.test(image) &&
    (!/(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(image) || image.endsWith(':latest'))
  )
    problems.push('IMAGE: must be pinned to a release tag or a digest (not latest)');
  const [min, max] = [
    values.HPA_MIN_REPLICAS ?? KNOBS.HPA_MIN_REPLICAS,
    values.HPA_MAX_REPLICAS ?? KNOBS.HPA_MAX_REPLICAS,
  ];
  if (!integer(min ?? '', 2)) problems.push('HPA_MIN_REPLICAS: must be a whole number, at least 2 (the PDB keeps one)');
  if (!integer(max ?? '', 2) || Number(max) < Number(min))
    problems.push('HPA_MAX_REPLICAS: must be at least HPA_MIN_REPLICAS');
  for (const key of ['SSO_POD_LABELS', 'SERVICEMONITOR_LABELS']) {
    if (values[key] && !LABELS.test(values[key] ?? '')) problems.push(`${key}: must be name=value[,name=value]`);
  }
  if (values.AUDIT_STREAM_EGRESS_CIDR && !/^[\d.]+\/\d+$|^[\da-f:]+\/\d+$/i.test(values.AUDIT_STREAM_EGRESS_CIDR))
    problems.push('AUDIT_STREAM_EGRESS_CIDR: must be a CIDR (the SIEM endpoint)');
  return [...problems, ...serviceProblems(values)];
}

const componentOf = (key: string) => {
  const component = Object.entries(COMPONENT_KEYS).find(([, keys]) => keys.includes(key))?.[0];
  return component ? ` by the ${component} component` : '';
};

/** The service's own parser, on the settings given here (the rest filled with harmless stand-ins). */
function serviceProblems(values: Record<string, string>): string[] {
  const given = Object.fromEntries(SERVICE_SETTINGS.filter((k) => values[k] !== undefined).map((k) => [k, values[k]]));
  if (Object.keys(given).length === 0) return [];
  try {
    loadConfig({
      DATABASE_URL: 'postgres://render-check/none',
      VONAGE_API_KEY: 'abcd1234',
      VONAGE_API_SECRET: 'render-check',
      ACCESS_POLICY_FILE: '/etc/gateway/policy.yaml',
      IDEMPOTENCY_HMAC_KEY: 'r'.repeat(40),
      TRUSTED_PROXY_CIDRS: '10.0.0.0/8',
      ...given,
    });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.filter((problem) => SERVICE_SETTINGS.some((key) => problem.startsWith(key)));
  }
}

export const labelsOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
