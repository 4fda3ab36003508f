import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN_ENV, AdminTokenError, credential, loadAdminCredential } from './adminToken.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'hp-admin-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'Zq3J9sV1xL0pW8mN4bT6yR2cK5dH7fG0';

describe('the admin token', () => {
  it('matches itself only (not a prefix, not a longer string, not another case)', () => {
    const c = credential(TOKEN, 'test');
    expect(c.matches(TOKEN)).toBe(true);
    for (const wrong of ['', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toLowerCase(), TOKEN.replace('Z', 'z')]) expect(c.matches(wrong)).toBe(false);
  });

  it('comes from the file first, then the environment, else is made once into the data directory (0600) and kept', () => {
    const file = path.join(dir, 'given');
    writeFileSync(file, `${TOKEN}\n`);
    const generatedFile = path.join(dir, 'admin-token');
    const fromFile = loadAdminCredential({ file, env: { [ADMIN_TOKEN_ENV]: 'E'.repeat(30) }, generatedFile });
    expect(fromFile.credential.matches(TOKEN)).toBe(true);
    expect(fromFile.credential.source).toBe(file);
    const fromEnv = loadAdminCredential({ env: { [ADMIN_TOKEN_ENV]: 'E'.repeat(30) }, generatedFile });
    expect(fromEnv.credential.matches('E'.repeat(30))).toBe(true);
    expect(fromEnv.credential.source).toBe(`$${ADMIN_TOKEN_ENV}`);
    const made = loadAdminCredential({ env: {}, generatedFile });
    expect(made.generated).toBe(true);
    const token = readFileSync(generatedFile, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(generatedFile).mode & 0o777).toBe(0o600);
    expect(made.credential.matches(token)).toBe(true);
    const again = loadAdminCredential({ env: {}, generatedFile });
    expect(again.generated).toBe(false);
    expect(again.credential.matches(token)).toBe(true);
  });

  it.each([
    ['too short', 'short-token', /has 11 characters; use at least 24 random ones/],
    ['with a space', 'a token with spaces that is long enough', /contains whitespace/],
  ])('is refused when %s', (_name, token, message) => {
    expect(() => loadAdminCredential({ env: { [ADMIN_TOKEN_ENV]: token }, generatedFile: path.join(dir, 'unused') })).toThrow(AdminTokenError);
    expect(() => loadAdminCredential({ env: { [ADMIN_TOKEN_ENV]: token }, generatedFile: path.join(dir, 'unused') })).toThrow(message);
  });
});
