/** npm run openapi [-- FILE]: writes the OpenAPI document (default openapi.json) from the route schemas. */
import { readFileSync, writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/openapi/document.js';

const file = process.argv[2] ?? 'openapi.json';
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
writeFileSync(file, `${JSON.stringify(openApiDocument(process.env.PUBLIC_URL ?? 'http://127.0.0.1:3000', version), null, 2)}\n`);
console.log(`wrote ${file}`);
