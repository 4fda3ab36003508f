/**
 * Real conversations (testdata/*.recording.json, made by testdata/record.ts)
 * replayed through the parser, against the exchanges in
 * testdata/<name>.golden.json. UPDATE_GOLDEN=1 rewrites the goldens: read
 * the diff before keeping it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecording, recordingNames, replay, TESTDATA, toJson } from './testing.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

describe('recorded conversations', () => {
  const names = recordingNames();
  it('are all there', () => {
    expect(names).toEqual(['curl', 'curl-post', 'grpc', 'grpc-gzip', 'node-concurrent', 'node-reset', 'node-sequential']);
  });

  it.each(names)('%s', (name) => {
    const r = replay(loadRecording(name));
    const got = { exchanges: toJson(r.exchanges), stats: r.stats };
    const file = path.join(TESTDATA, `${name}.golden.json`);
    if (update || !existsSync(file)) writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
    expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });

  it.each(names)('%s: no credential or other header value leaks into an exchange', (name) => {
    const text = JSON.stringify(toJson(replay(loadRecording(name)).exchanges));
    for (const secret of ['secret', 'Bearer', 'Basic', 'dXNlcjpwYXNz', 'k3y', 'session=', 'a=b', 'fields=name', 'x=1']) {
      expect(text).not.toContain(secret);
    }
  });
});
