/** A command-line tool's entry, as `npm run audit` and `npm run policy` call it: arguments, environment, output. */
type Cli = (args: string[], env: NodeJS.ProcessEnv, out: (text: string) => void) => number | Promise<number>;

/** Runs a CLI in-process and keeps what it printed, for a test to read with its exit code. */
export async function captured(cli: Cli, args: string[], env: NodeJS.ProcessEnv = {}) {
  let output = '';
  const code = await cli(args, env, (text) => {
    output += text;
  });
  return { code, output };
}
