import { definePipeline, PipelineDefinitionError, t } from '@tessera/core';
import { audioSplitter, builtinIterators, documentSplitter, frameIterator, stringSplitter, tileIterator } from '../src/index';

/** The factories as a pipeline author uses them: typed view columns, parameters checked at apply. */
describe('iterator factories in a pipeline definition', () => {
  test('views get pos, the iterator outputs (with requested metadata only) and the base columns', () => {
    const def = definePipeline('media', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document() });
      const chunks = p.view(
        'chunks',
        docs,
        documentSplitter(docs.doc, { separators: ['heading', 'token_limit'], limit: 300, overlap: 30, metadata: ['title', 'page'] }),
      );
      // typed: `chunks.text` is a string column, `chunks.page` exists because it was requested
      const text: import('@tessera/core').ColumnRef<'string', string> = chunks.text;
      expect(text.column).toBe('text');
      expect(chunks.page.column).toBe('page');
      // @ts-expect-error heading was not requested, so the view has no such column
      expect(chunks.heading).toBeUndefined();
      const videos = p.table('videos', { id: t.string().primaryKey(), video: t.video() });
      p.view('frames', videos, frameIterator(videos.video, { fps: 1 }));
      const clips = p.table('clips', { id: t.string().primaryKey(), audio: t.audio(), notes: t.string() });
      p.view('segments', clips, audioSplitter(clips.audio, { duration: 30 }));
      p.view('sentences', clips, stringSplitter(clips.notes));
      const images = p.table('images', { id: t.string().primaryKey(), image: t.image() });
      p.view('tiles', images, tileIterator(images.image, { tileSize: 256, overlap: 32 }));
    });
    const cols = (name: string) => def.tables.find((x) => x.name === name)!.columns.map((c) => `${c.name}:${c.type}`);
    expect(cols('chunks')).toEqual(['pos:int', 'text:string', 'title:string?', 'page:int?']);
    expect(cols('frames')).toEqual(['pos:int', 'frame:image', 'frameAttrs:json']);
    expect(cols('segments')).toEqual(['pos:int', 'segmentStart:float', 'segmentEnd:float', 'audioSegment:audio']);
    expect(cols('sentences')).toEqual(['pos:int', 'text:string']);
    expect(cols('tiles')).toEqual(['pos:int', 'tile:image', 'tileCoord:array<int>', 'tileBox:array<int>']);
  });

  test('bad parameters fail at apply with the pipeline, view and iterator named', () => {
    const build = () =>
      definePipeline('rag', (p) => {
        const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document() });
        p.view('chunks', docs, documentSplitter(docs.doc, { separators: ['token_limit'] }));
      });
    expect(build).toThrow(PipelineDefinitionError);
    expect(build).toThrow('pipeline rag.chunks: iterator documentSplitter: limit is required with token_limit');
  });

  test('an iterator on the wrong kind of column is refused', () => {
    expect(() =>
      definePipeline('x', (p) => {
        const docs = p.table('docs', { id: t.string().primaryKey(), doc: t.document() });
        p.view('frames', docs, frameIterator(docs.doc as never, {}));
      }),
    ).toThrow('iterator frameIterator accepts video columns, not document');
  });

  test('builtinIterators lists every iterator once, by name and version', () => {
    expect(builtinIterators.map((d) => `${d.name}@${d.version}`)).toEqual([
      'documentSplitter@3',
      'frameIterator@2',
      'audioSplitter@2',
      'stringSplitter@1',
      'tileIterator@2',
      'videoSplitter@1',
    ]);
  });
});
