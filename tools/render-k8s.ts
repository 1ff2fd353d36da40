import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';

/**
 * Renders an overlay (optionally with extra components) as `kubectl apply -f -` would receive it, and
 * refuses to print a manifest that still holds a PLACEHOLDER from values.env, unless the render is
 * for validation only (--allow-placeholders, as the tests do). Usage:
 *   npm run k8s:render -- production [--component jwt-identity] [--allow-placeholders]
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

export function renderOverlay(overlay: string, extra: string[] = []): string {
  const base = resolve('k8s/overlays', overlay);
  const { namespace, components: included } = overlaySettings(base);
  const components = extra.filter((component) => !included.includes(component));
  if (components.length === 0) return execFileSync('kubectl', ['kustomize', base], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'k8s-render-'));
  try {
    // kustomize takes only relative paths; the load restrictor is lifted for this throwaway root alone.
    const from = (path: string) => relative(dir, path);
    const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', `resources: [${from(base)}]`];
    if (namespace) lines.push(`namespace: ${namespace}`);
    lines.push('components:', ...components.map((component) => `  - ${from(resolve('k8s/components', component))}`));
    writeFileSync(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return execFileSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir], {
      encoding: 'utf8',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const placeholdersIn = (manifest: string): string[] => [...new Set(manifest.match(PLACEHOLDER) ?? [])];

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { component: { type: 'string', multiple: true }, 'allow-placeholders': { type: 'boolean' } },
  });
  const overlay = positionals[0];
  if (!overlay) {
    process.stderr.write('usage: npm run k8s:render -- <overlay> [--component NAME]... [--allow-placeholders]\n');
    return 2;
  }
  const manifest = renderOverlay(overlay, values.component ?? []);
  const left = placeholdersIn(manifest);
  if (left.length > 0 && !values['allow-placeholders']) {
    process.stderr.write(
      `k8s/overlays/${overlay} still holds placeholders; set them in its values.env:\n  ${left.join('\n  ')}\n`,
    );
    return 1;
  }
  process.stdout.write(manifest);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
