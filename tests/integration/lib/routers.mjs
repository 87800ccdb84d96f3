// A tiny trained router for integration tests. The two training sets are
// mirror images: with the plain one, coding prompts go to "coder" and chat
// prompts to "cheap"; with the mirrored one it is the other way round, so a
// response's headers show which router chose it.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from './gateway.mjs';

export const CODE_PROMPT = 'please write python code for a parser with a function';
export const CHAT_PROMPT = 'what is the weather like in paris this week';

/** Compact-format training rows (JSONL text) over candidates cheap, coder, big. */
export function trainingRows(mirrored) {
  const rows = [];
  const cost = { cheap: 0.0001, coder: 0.001, big: 0.01 };
  for (let i = 0; i < 30; i++) {
    const code = { cheap: 0, coder: 1, big: 0.5 };
    const chat = { cheap: 1, coder: 0, big: 0.5 };
    rows.push({ query: `write python code to parse file number ${i} with a function and a loop`, quality: mirrored ? chat : code, cost_usd: cost });
    rows.push({ query: `tell me about the weather and holidays in city ${i} this week`, quality: mirrored ? code : chat, cost_usd: cost });
  }
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Trains a knn router with `switchyard train`; returns the artefact path. */
export async function trainRouter(dir, name, mirrored) {
  const data = path.join(dir, `${name}.jsonl`);
  const out = path.join(dir, `${name}.syr`);
  writeFileSync(data, trainingRows(mirrored));
  const res = await runCli(['train', '--strategy', 'knn', '--data', data, '--out', out, '--seed', '7'], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return out;
}
