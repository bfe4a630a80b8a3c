/**
 * Lines ffmpeg prints when a file is cut short or corrupt but it carries on anyway (exit code 0):
 * the MP4 demuxer's "partial file", Matroska's "File ended prematurely", a decoder error. A video
 * with any of them is damaged input: the frame iterator fails its cell in every mode rather than
 * yielding some of the frames silently (the rule in README "Truncated or damaged videos").
 */
const DAMAGE = [/: partial file$/, /File ended prematurely/, /^Error while decoding stream/, /Invalid NAL unit size/];

export function isDamageLine(line: string): boolean {
  return DAMAGE.some((re) => re.test(line));
}

/** The damage line without its `[demuxer @ 0x...]` prefix, for a message. */
export function damageCause(line: string): string {
  return line.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '').trim();
}
