export { frameIterator, frameIteratorDef, type FrameAttrs, type FrameOutputs } from './video/frame-iterator';
export type { FrameIteratorParams } from './video/frame-params';
