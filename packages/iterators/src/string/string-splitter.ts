import { iteratorCall, t, type Expr, type IteratorCall, type IteratorDef } from '@tessera/core';
import { checkKnownKeys, checkObject } from '../common/check';
import { sentencesOf } from '../document/sentences';

export interface StringSplitterParams {
  /** only 'sentence' (Intl.Segmenter), as in Pixeltable's StringSplitter */
  separators: 'sentence';
}

const stringOutputs = { text: t.string() };
export type StringOutputs = typeof stringOutputs;

function validate(params: StringSplitterParams): void {
  const p = checkObject(params, 'stringSplitter');
  checkKnownKeys(p, ['separators']);
  const s = Array.isArray(p.separators) && p.separators.length === 1 ? p.separators[0] : p.separators;
  if (s !== 'sentence') throw new Error(`separators must be 'sentence', got ${JSON.stringify(p.separators)}`);
}

/** A string column's value split into sentences; the input is the text itself, not a media reference. */
export const stringSplitterDef: IteratorDef<StringSplitterParams, StringOutputs> = {
  name: 'stringSplitter',
  version: '1',
  accepts: ['string'],
  queue: 'cpu',
  validate,
  outputs: () => stringOutputs,
  async *run(input, params) {
    validate(params);
    // a paragraph break ends a sentence; wrapped lines inside a paragraph do not
    for (const para of String(input ?? '').split(/\n\s*\n/)) for (const text of sentencesOf(para)) yield { text };
  },
};

export function stringSplitter(
  text: Expr<'string', unknown>,
  params: StringSplitterParams = { separators: 'sentence' },
): IteratorCall<StringSplitterParams, StringOutputs> {
  return iteratorCall(stringSplitterDef, text, params);
}
