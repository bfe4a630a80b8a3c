/**
 * How ffmpeg and ffprobe open a media file a producer supplied. Some of ffmpeg's demuxers read
 * other files and URLs the input names: an "upload.mp4" that is in fact an HLS playlist listing
 * file:///elsewhere/private.ts (or http://169.254.169.254/...) had ffmpeg read that file and give
 * its frames, around the media policy that allowed only the upload. So the input is opened with
 * the file protocol alone, and only by demuxers of formats that hold their own media: not hls,
 * dash, concat, imf, sdp/rtp/rtsp, image sequences, devices or subtitle scripts. A file in another
 * format is a cell error naming the format (see `refusedFormat`).
 */
const SELF_CONTAINED_FORMATS = [
  // video containers (mov covers mp4, m4a, 3gp, 3g2 and mj2; matroska covers webm)
  ...['mov', 'matroska', 'avi', 'mpegts', 'mpeg', 'flv', 'ogg', 'asf', 'mxf', 'nut', 'dv', 'gxf', 'wtv', 'rm', 'nuv', 'gif', 'apng'],
  // raw video streams
  ...['h264', 'hevc', 'm4v', 'mpegvideo', 'ivf', 'obu', 'vc1', 'mjpeg', 'yuv4mpegpipe'],
  // audio
  ...[
    'wav',
    'w64',
    'mp3',
    'aac',
    'flac',
    'aiff',
    'caf',
    'amr',
    'ac3',
    'eac3',
    'dts',
    'truehd',
    'mlp',
    'wv',
    'ape',
    'tta',
    'au',
    'mpc',
    'mpc8',
    'voc',
    'loas',
    'oma',
    'xwma',
    'dsf',
  ],
].join(',');

/** The options and input of an ffmpeg command (before its output options). */
export function ffmpegInput(file: string): string[] {
  return [...untrustedInputOptions(), '-i', `file:${file}`];
}

/** The options and input of an ffprobe command. */
export function ffprobeInput(file: string): string[] {
  return [...untrustedInputOptions(), `file:${file}`];
}

function untrustedInputOptions(): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', SELF_CONTAINED_FORMATS];
}

/** The format ffmpeg refused to open (`[hls @ 0x...] Format not on whitelist ...`), from its stderr lines. */
export function refusedFormat(stderr: readonly string[]): string | undefined {
  for (const line of stderr) {
    const m = /^\[([\w,]+) @ 0x[0-9a-f]+\] Format not on whitelist/.exec(line);
    if (m) return m[1]!.split(',')[0];
  }
  return undefined;
}
