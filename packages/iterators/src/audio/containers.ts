/** The container a stream-copied segment of this codec goes into: the codec's usual file type. */
export function containerFor(codec: string): { ext: string; contentType: string } {
  if (codec.startsWith('pcm_')) return { ext: 'wav', contentType: 'audio/wav' };
  switch (codec) {
    case 'mp3':
      return { ext: 'mp3', contentType: 'audio/mpeg' };
    case 'aac':
    case 'alac':
      return { ext: 'm4a', contentType: 'audio/mp4' };
    case 'flac':
      return { ext: 'flac', contentType: 'audio/flac' };
    case 'opus':
      return { ext: 'opus', contentType: 'audio/ogg' };
    case 'vorbis':
      return { ext: 'ogg', contentType: 'audio/ogg' };
    default:
      // Matroska takes almost any codec as is
      return { ext: 'mka', contentType: 'audio/x-matroska' };
  }
}

/** Re-encoding target when a codec cannot be copied: lossless, so nothing is lost twice. */
export const FALLBACK = { ext: 'flac', contentType: 'audio/flac', codec: 'flac' };
