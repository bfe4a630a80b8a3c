import { globMatcher } from '../src/sources/glob';

test('glob patterns over relative keys', () => {
  const m = globMatcher(['README.md', '{packages,apps}/**/README.md', 'data/*.csv', 'img/?.png']);
  for (const k of ['README.md', 'packages/core/README.md', 'packages/a/b/README.md', 'apps/README.md', 'data/x.csv', 'img/a.png'])
    expect([k, m(k)]).toEqual([k, true]);
  for (const k of ['docs/README.md', 'packages/core/readme.md', 'data/sub/x.csv', 'img/ab.png', 'data/x.csv.bak']) expect([k, m(k)]).toEqual([k, false]);
  expect(globMatcher(undefined)('anything/at/all')).toBe(true);
  expect(globMatcher('**/*.txt')('a.txt')).toBe(true);
  expect(globMatcher('**/*.txt')('x/y/a.txt')).toBe(true);
  expect(globMatcher('[ab].txt')('b.txt')).toBe(true);
  expect(globMatcher('[!ab].txt')('b.txt')).toBe(false);
});
