import { execFileSync } from 'node:child_process';
import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';

/**
 * Every kustomize overlay renders, every object validates against the Kubernetes schemas
 * (kubernetes-models), and our own rules hold: pinned images, limits, probes, non-root, read-only root.
 */

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, any> } & Record<
  string,
  any
>;
type Container = {
  name: string;
  image: string;
  resources?: { limits?: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  securityContext?: Record<string, any>;
};

const OVERLAYS = ['staging', 'production'];
const render = (overlay: string): K8sObject[] =>
  parseAllDocuments(execFileSync('kubectl', ['kustomize', `k8s/overlays/${overlay}`], { encoding: 'utf8' })).map(
    (doc) => doc.toJS() as K8sObject,
  );

async function validateSchema(object: K8sObject): Promise<void> {
  const modulePath = `kubernetes-models/${object.apiVersion}`;
  const models = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[object.kind];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

const podSpecOf = (object: K8sObject) =>
  object.kind === 'Deployment' || object.kind === 'Job' ? object.spec?.template?.spec : undefined;

function ruleViolations(object: K8sObject): string[] {
  const pod = podSpecOf(object);
  if (!pod) return [];
  const problems: string[] = [];
  if (pod.securityContext?.runAsNonRoot !== true) problems.push('pod does not set runAsNonRoot');
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    problems.push('pod seccomp is not RuntimeDefault');
  if (pod.automountServiceAccountToken !== false) problems.push('pod mounts a service account token');
  for (const container of pod.containers as Container[]) {
    const where = `${object.kind}/${object.metadata.name}/${container.name}`;
    if (!/:[\w.-]+$/.test(container.image) || container.image.endsWith(':latest'))
      problems.push(`${where}: image is not pinned`);
    if (!container.resources?.limits?.cpu || !container.resources?.limits?.memory)
      problems.push(`${where}: no cpu and memory limits`);
    if (container.securityContext?.readOnlyRootFilesystem !== true)
      problems.push(`${where}: root filesystem is writable`);
    if (container.securityContext?.allowPrivilegeEscalation !== false)
      problems.push(`${where}: privilege escalation allowed`);
    if (JSON.stringify(container.securityContext?.capabilities?.drop) !== '["ALL"]')
      problems.push(`${where}: capabilities not all dropped`);
    if (object.kind === 'Deployment' && (!container.readinessProbe || !container.livenessProbe))
      problems.push(`${where}: missing probes`);
  }
  return problems;
}

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  const objects = render(overlay);

  test('when rendered, then it holds every object the deployment needs', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Job',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
  });

  test.each(objects.map((o): [string, K8sObject] => [`${o.kind}/${o.metadata.name}`, o]))(
    'when %s is checked against the Kubernetes schema, then it is valid',
    async (_name, object) => {
      await expect(validateSchema(object)).resolves.toBeUndefined();
    },
  );

  test('when our own rules are applied, then nothing falls short', () => {
    expect(objects.flatMap(ruleViolations)).toEqual([]);
  });

  test('when the Service and replicas are read, then callers cannot reach /metrics and two or more replicas run', () => {
    const service = objects.find((o) => o.kind === 'Service');
    const deployment = objects.find((o) => o.kind === 'Deployment');

    expect(service?.spec?.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http']);
    expect(deployment?.spec?.replicas).toBeGreaterThanOrEqual(2);
  });
});
