import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, redact } from '@tessera/core';
import { keyHash, resolveSecret } from '../src';
import { tempDir } from '../../../test/support/temp-dir';

const dir = tempDir('tessera-secrets-');

test('a key from the environment, a _FILE, or the secrets file, in that order', () => {
  writeFileSync(join(dir, 'one'), 'sk-from-file\n');
  writeFileSync(join(dir, 'all.json'), JSON.stringify({ OPENAI_API_KEY: 'sk-from-bag', OTHER: 'x' }));
  expect(resolveSecret('OPENAI_API_KEY', { OPENAI_API_KEY: 'sk-env', OPENAI_API_KEY_FILE: join(dir, 'one') })).toBe('sk-env');
  expect(resolveSecret('OPENAI_API_KEY', { OPENAI_API_KEY_FILE: join(dir, 'one'), TESSERA_SECRETS_FILE: join(dir, 'all.json') })).toBe('sk-from-file');
  expect(resolveSecret('OPENAI_API_KEY', { TESSERA_SECRETS_FILE: join(dir, 'all.json') })).toBe('sk-from-bag');
  expect(resolveSecret('MISSING', { TESSERA_SECRETS_FILE: join(dir, 'all.json') })).toBeUndefined();
  expect(() => resolveSecret('X', { X_FILE: join(dir, 'nope') })).toThrow(ConfigError);
});

test('errors about a secrets file never quote it', () => {
  writeFileSync(join(dir, 'bad.json'), 'sk-not-json-secret');
  const err = (() => {
    try {
      resolveSecret('X', { TESSERA_SECRETS_FILE: join(dir, 'bad.json') });
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect(err!.message).not.toContain('sk-not-json');
});

test('redaction and key hashes', () => {
  expect(redact('key sk-abcdef0123456789 and AIzaSyA1234567890123456789012 and mine-secret-1', { secrets: ['mine-secret-1'] })).toBe(
    'key [redacted] and [redacted] and [redacted]',
  );
  expect(keyHash('sk-a')).toMatch(/^[0-9a-f]{12}$/);
  expect(keyHash('sk-a')).not.toBe(keyHash('sk-b'));
});
