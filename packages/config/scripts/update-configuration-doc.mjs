#!/usr/bin/env node
// Rewrites the option reference in docs/configuration.md from the schema.
// Build first: npx tsc -b packages/config
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceOptionReference } from '../dist/src/index.js';

const docPath = new URL('../../../docs/configuration.md', import.meta.url);
const before = readFileSync(docPath, 'utf8');
const after = replaceOptionReference(before);
if (after !== before) writeFileSync(docPath, after);
console.log(after === before ? 'docs/configuration.md is up to date' : 'docs/configuration.md updated');
