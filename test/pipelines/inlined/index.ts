import { definePipeline, defineUdf, t, CellInputError } from '@tessera/core';
import { postgres } from '@tessera/connectors';
import { PG_URL } from '../../support/services';

/**
 * Cheap columns an insert computes itself (loud, loud_len, sq, picky's good rows, via) beside
 * columns it must leave to the workers: an async function (later), a column reading it (after),
 * a function that answers with a promise (promised), and picky's rows that throw. Calls are
 * counted in this process (the tests run the workers in it), so the tests can tell who computed what.
 */
export const calls = new Map<string, number>();
const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);

const upper = defineUdf({ name: 'inl.upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => (count('upper'), s.toUpperCase()) });
const via = defineUdf({ name: 'inl.via', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => (count('via'), s.toUpperCase()) });
const len = defineUdf({ name: 'inl.len', version: '1', params: [t.string()], returns: t.int(), fn: ([s]) => (count('len'), s.length) });
const square = defineUdf({ name: 'inl.square', version: '1', params: [t.int()], returns: t.int(), fn: ([n]) => (count('square'), n * n) });
const picky = defineUdf({
  name: 'inl.picky',
  version: '1',
  params: [t.int()],
  returns: t.int(),
  fn: ([n]) => {
    count('picky');
    if (n % 5 === 0) throw new CellInputError(`n=${n} is a multiple of 5`);
    return n + 1;
  },
});
const later = defineUdf({
  name: 'inl.later',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  async fn([s]) {
    count('later');
    return `${s} later`;
  },
});
const promised = defineUdf({
  name: 'inl.promised',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  // not an async function, but answers with a promise all the same
  fn: ([s]) => (count('promised'), Promise.resolve(`${s} promised`)),
});

const customerUrl = process.env.TESSERA_TEST_CUSTOMER_URL ?? PG_URL;
const customerSchema = process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer';

export default definePipeline('inlined', (p) => {
  const events = p
    .table('events', { id: t.string().primaryKey(), s: t.string(), n: t.int().nullable() })
    .compute('loud', (e) => upper(e.s))
    .compute('sq', (e) => square(e.n))
    .compute('picky', (e) => picky(e.n))
    .compute('later', (e) => later(e.s))
    .compute('promised', (e) => promised(e.s));
  events.compute('loud_len', len(events.loud));
  events.compute('after', upper(events.later));
  // every computed column of this one is filled by the insert: its versions have only an export to run
  const cheap = p.table('cheap', { id: t.string().primaryKey(), s: t.string() }).compute('via', (c) => via(c.s));
  p.export(cheap, postgres({ url: customerUrl, schema: customerSchema, table: 'cheap', create: true }), { columns: ['s', 'via'] });
});
