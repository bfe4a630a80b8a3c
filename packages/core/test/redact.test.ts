import { redact } from '../src';

test('URL credentials: user and password become ***, host and path stay', () => {
  expect(redact('postgres://app:s3cret@db.internal:5432/prod')).toBe('postgres://***@db.internal:5432/prod');
  expect(redact('redis://:pw@127.0.0.1:6379/0')).toBe('redis://***@127.0.0.1:6379/0');
  expect(redact('cannot read https://u:p@127.0.0.1/a.pdf: HTTP 404')).toBe('cannot read https://***@127.0.0.1/a.pdf: HTTP 404');
  // without a scheme, as in a message quoting what was given
  expect(redact('got app:s3cret@db:5432/prod')).toBe('got ***@db:5432/prod');
  // a plain address or a URL without credentials is left as it is
  expect(redact('mail ops@example.com about postgres://db:5432/prod')).toBe('mail ops@example.com about postgres://db:5432/prod');
});

test('query strings (presigned signatures, SAS tokens, keys) are dropped from URLs', () => {
  const presigned = 'https://bucket.s3.amazonaws.com/a.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F&X-Amz-Signature=abc123';
  expect(redact(`cannot read ${presigned}: HTTP 403`)).toBe('cannot read https://bucket.s3.amazonaws.com/a.mp4?…: HTTP 403');
  expect(redact('az://acct/c/x.png?sv=2024&sig=Zm9v')).toBe('az://acct/c/x.png?…');
  expect(redact('postgres://u:p@h/db?sslmode=require&password=x')).toBe('postgres://***@h/db?…');
});

test('secret-named pairs, bearer and basic credentials, provider-shaped keys', () => {
  expect(redact('host=db password=hunter22 user=app')).toBe('host=db password=[redacted] user=app');
  expect(redact('{"api_key": "abcd1234", "model": "m"}')).toBe('{"api_key": [redacted], "model": "m"}');
  expect(redact('X-Amz-Signature=deadbeef; access_token: tok123')).toBe('X-Amz-Signature=[redacted]; access_token: [redacted]');
  expect(redact('Authorization: Bearer eyJhbGciOi.x.y')).toBe('Authorization: Bearer [redacted]');
  expect(redact('Basic dXNlcjpwYXNz')).toBe('Basic [redacted]');
  expect(redact('key sk-abcdef0123456789, sk-ant-api03-abcdef, AIzaSyA1234567890123456789012, AKIAIOSFODNN7EXAMPLE')).toBe(
    'key [redacted], [redacted], [redacted], [redacted]',
  );
  // words that merely contain a secret's name are not touched
  expect(redact('max tokens: 100, authentication failed, signatures: none')).toBe('max tokens: 100, authentication failed, signatures: none');
});

test('secrets the caller holds, wherever they appear; a too-short one is ignored', () => {
  expect(redact('mine-secret-1 was refused (mine-secret-1)', { secrets: ['mine-secret-1', undefined] })).toBe('[redacted] was refused ([redacted])');
  expect(redact('a b c', { secrets: ['a'] })).toBe('a b c');
});

test('a length cap for long references', () => {
  const long = `file:///${'x'.repeat(400)}`;
  const out = redact(long, { maxLength: 300 });
  expect([out.length, out.endsWith('...')]).toEqual([300, true]);
  expect(redact('short', { maxLength: 300 })).toBe('short');
});
