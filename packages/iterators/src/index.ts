/**
 * @tessera/iterators: the built-in iterators for views. Each is an IteratorDef (what the runtime
 * registers and runs, by name@version) plus a factory users call in a pipeline definition.
 */
export { documentSplitter, documentSplitterDef, type DocumentOutputs } from './document/document-splitter';
export type { DocumentSplitterParams, Separator, MetadataField } from './document/params';
export { documentText, documentTitle, documentTextUdf, documentTitleUdf } from './document/document-text';
export type { HeadingPath } from './document/block';
export type { TokenEncoding } from './document/tokens';
export { frameIterator, frameIteratorDef, type FrameAttrs, type FrameOutputs } from './video/frame-iterator';
export type { FrameIteratorParams } from './video/frame-params';
export { videoSplitter, videoSplitterDef, type VideoSegmentOutputs } from './video/video-splitter';
export type { VideoSplitterParams } from './video/video-split-params';
export { audioSplitter, audioSplitterDef, extractAudio, type AudioOutputs } from './audio/audio-splitter';
export type { AudioSplitterParams } from './audio/audio-params';
export { tileIterator, tileIteratorDef, type TileOutputs } from './image/tile-iterator';
export type { TileIteratorParams } from './image/tile-params';
export { stringSplitter, stringSplitterDef, type StringSplitterParams, type StringOutputs } from './string/string-splitter';

import type { IteratorDef } from '@tessera/core';
import { audioSplitterDef } from './audio/audio-splitter';
import { documentSplitterDef } from './document/document-splitter';
import { frameIteratorDef } from './video/frame-iterator';
import { videoSplitterDef } from './video/video-splitter';
import { stringSplitterDef } from './string/string-splitter';
import { tileIteratorDef } from './image/tile-iterator';

/** Every built-in iterator, for the runtime's registry (looked up by `name` and `version`). */
export const builtinIterators: readonly IteratorDef<any, any>[] = [
  documentSplitterDef,
  frameIteratorDef,
  audioSplitterDef,
  stringSplitterDef,
  tileIteratorDef,
  videoSplitterDef,
];
