#!/usr/bin/env node
// The realm-broker CLI (src/cli/main.ts): from the compiled build when there is one
// (npm run build), otherwise from the sources through tsx (a checkout of the repository).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
process.exit(await cli.runCli(process.argv.slice(2)));
