import { definePipeline, t } from '@tessera/core';
import { upper } from '@tessera/functions';
import { z } from 'zod';

/** A table with one column of every importable kind, and a computed column that runs on what arrives. */
export default definePipeline('importing', (p) => {
  const items = p.table('items', {
    id: t.string().primaryKey(),
    n: t.int(),
    score: t.float().nullable(),
    ok: t.bool().nullable(),
    at: t.timestamp().nullable(),
    meta: t.json(z.object({ k: z.number() })).nullable(),
    emb: t.embedding(3).nullable(),
    note: t.string().nullable(),
  });
  items.compute('loud', upper(items.id));
});
