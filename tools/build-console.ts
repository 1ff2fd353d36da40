import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/**
 * Builds the console: the typed API client from openapi-internal.yaml, then one esbuild bundle of
 * the Preact app, the HTML and the CSS, into OUT (default dist/console). `--watch` rebuilds on change
 * (npm run dev). The gzipped JavaScript must stay within the budget, or the build fails.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'src/console');
const BUDGET_KB = 60;

/** Resolves when built; with `watch`, to a function that stops watching. */
export async function buildConsole(
  out: string,
  options: { watch?: boolean; quiet?: boolean } = {},
): Promise<() => Promise<void>> {
  mkdirSync(out, { recursive: true });
  const generator = join(root, 'node_modules/.bin/openapi-typescript');
  execFileSync(generator, [join(root, 'openapi-internal.yaml'), '-o', join(source, 'generated/api.d.ts')], {
    stdio: 'ignore',
  });
  copyFileSync(join(source, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(source, 'console.css'), join(out, 'console.css'));
  const config: esbuild.BuildOptions = {
    entryPoints: [join(source, 'main.ts')],
    outfile: join(out, 'console.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    legalComments: 'none',
    // The consumer manifests the Delivery panel prints are the shipped files themselves (k8s/components/eso-delivery).
    loader: { '.yaml': 'text' },
    logLevel: options.quiet ? 'silent' : 'warning',
  };
  if (options.watch) {
    const context = await esbuild.context(config);
    await context.watch();
    return () => context.dispose();
  }
  await esbuild.build(config);
  const gzipped = gzipSync(readFileSync(join(out, 'console.js'))).length / 1024;
  if (!options.quiet) console.log(`console: ${gzipped.toFixed(1)} kB of gzipped JavaScript (budget ${BUDGET_KB} kB)`);
  if (gzipped > BUDGET_KB) {
    throw new Error(`the console bundle is ${gzipped.toFixed(1)} kB gzipped, over the ${BUDGET_KB} kB budget`);
  }
  return async () => undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildConsole(process.argv[2] ?? join(root, 'dist/console'));
}
