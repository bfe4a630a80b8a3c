import { stringSplitterDef, type StringSplitterParams } from '../src/index';
import { collect, localContext } from '../../../test/support/local-media';

const split = (text: string) => collect(stringSplitterDef.run(text, { separators: 'sentence' }, localContext('/tmp/unused')));

describe('stringSplitter', () => {
  test('splits into sentences with Intl.Segmenter, wrapped lines joined, paragraph breaks kept', async () => {
    expect(await split('First one. Second one? Third\nwraps! \n\nNew paragraph without a stop\n\nLast.')).toEqual([
      { text: 'First one.' },
      { text: 'Second one?' },
      { text: 'Third wraps!' },
      { text: 'New paragraph without a stop' },
      { text: 'Last.' },
    ]);
  });

  test('empty text gives no rows', async () => {
    expect(await split('  \n ')).toEqual([]);
  });

  test('only the sentence separator exists', () => {
    expect(() => stringSplitterDef.validate({ separators: 'sentence' })).not.toThrow();
    expect(() => stringSplitterDef.validate({ separators: ['sentence'] } as unknown as StringSplitterParams)).not.toThrow();
    expect(() => stringSplitterDef.validate({ separators: 'paragraph' } as unknown as StringSplitterParams)).toThrow(
      `separators must be 'sentence', got "paragraph"`,
    );
  });
});
