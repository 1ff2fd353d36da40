/** The shipped manifests, bundled as text by esbuild (tools/build-console.ts), so the console prints the same files. */
declare module '*.yaml' {
  const text: string;
  export default text;
}
