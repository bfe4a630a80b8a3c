import path from 'node:path';
import { definePipeline, t, type ColumnName } from '@tessera/core';
import { colorHistogram, imageColorStats } from '@tessera/functions';
import { postgres, mysql, lancedb, parquetFiles } from '@tessera/connectors';
import { audioSplitter, frameIterator } from '@tessera/iterators';

const exportUrl = process.env.PACKAGE_DOCS_EXPORT_URL ?? process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const exportDir = path.resolve(process.env.PACKAGE_DOCS_EXPORT_DIR ?? '.tessera/exports');
/** where frames and audio segments are written: a directory or a bucket (s3://, gs://, az://) */
const mediaDestination = process.env.CLIPS_MEDIA_DESTINATION ?? path.resolve('.tessera/media/clips');
const mysqlUrl = process.env.DEMO_MYSQL_URL;

/**
 * Short videos and narration: each video split into frames at 1 fps, each frame described by local
 * image features (mean colour, brightness, contrast, and a 48-d colour histogram embedding that
 * finds similar frames); each narration split into 2-second segments. Frames and segments go to a
 * media destination; frames with their features go to Postgres, LanceDB (the histogram as a vector
 * column), Parquet and, when reachable, MySQL.
 */
export default definePipeline('clips', (p) => {
  const videos = p.table('videos', { id: t.string().primaryKey(), video: t.video(), title: t.string() });
  const frames = p
    .view('frames', videos, frameIterator(videos.video, { fps: 1 }), { destination: `${mediaDestination}/frames` })
    .compute('color', (f) => imageColorStats(f.frame))
    .compute('histogram', (f) => colorHistogram(f.frame));

  const narration = p.table('narration', { id: t.string().primaryKey(), audio: t.audio(), script: t.string() });
  const segments = p.view('segments', narration, audioSplitter(narration.audio, { duration: 2 }), { destination: `${mediaDestination}/segments` });

  const frameColumns: ColumnName<typeof frames>[] = ['title', 'frame', 'frameAttrs', 'color', 'histogram'];
  p.export(frames, postgres({ url: exportUrl, schema: 'clips', table: 'frames', create: true }), { columns: frameColumns });
  p.export(frames, lancedb({ uri: path.join(exportDir, 'lancedb'), table: 'frames', create: true }), { columns: frameColumns });
  p.export(frames, parquetFiles({ destination: exportDir }), { columns: frameColumns });
  if (mysqlUrl) p.export(frames, mysql({ url: mysqlUrl, table: 'clip_frames', create: true }), { columns: frameColumns });
  p.export(segments, postgres({ url: exportUrl, schema: 'clips', table: 'segments', create: true }), {
    columns: ['script', 'segmentStart', 'segmentEnd', 'audioSegment'],
  });
});
