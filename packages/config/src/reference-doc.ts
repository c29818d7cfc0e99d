/**
 * Renders the option reference of docs/configuration.md from the schema, so
 * the documentation cannot drift from what the parser accepts (a test
 * compares the two; `node packages/config/scripts/update-configuration-doc.mjs`
 * rewrites the section).
 */
import { OPTION_NAMES, optionSpec } from './schema.js';

export const REFERENCE_BEGIN =
  '<!-- BEGIN OPTION REFERENCE: generated from packages/config/src/schema.ts by packages/config/scripts/update-configuration-doc.mjs -->';
export const REFERENCE_END = '<!-- END OPTION REFERENCE -->';

/** The reference section, markers included. */
export function renderOptionReference(): string {
  const parts: string[] = [REFERENCE_BEGIN, ''];
  for (const name of OPTION_NAMES) {
    const spec = optionSpec(name);
    parts.push(`### ${name}`, '');
    parts.push(`\`${name} ${spec.type.syntax}\``, '');
    parts.push(
      `- ${spec.origin === 'tor' ? 'C tor option' : 'relayd option'}; ${spec.kind === 'list' ? 'may repeat' : 'single value (the last one counts)'}`,
      `- Default: ${spec.defaultText}`,
      '',
      spec.summary,
      '',
    );
  }
  parts.push(REFERENCE_END);
  return parts.join('\n');
}

/** Replaces the reference section of a document (or appends it if missing). */
export function replaceOptionReference(document: string): string {
  const begin = document.indexOf(REFERENCE_BEGIN);
  const end = document.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin) return `${document.trimEnd()}\n\n${renderOptionReference()}\n`;
  return document.slice(0, begin) + renderOptionReference() + document.slice(end + REFERENCE_END.length);
}
