#!/usr/bin/env node
// The realm-broker CLI (src/cli/main.ts): from the sources through tsx in a checkout of
// the repository, else from the compiled build (the image, an installed package).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
process.exit(await cli.runCli(process.argv.slice(2)));
