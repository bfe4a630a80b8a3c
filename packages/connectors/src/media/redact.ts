/**
 * A media reference as messages and logs may show it: without user:password and without the
 * query string (presigned URLs carry their signature there).
 */
export function redactRef(ref: string): string {
  let out = ref.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');
  const q = out.indexOf('?');
  if (q !== -1) out = `${out.slice(0, q)}?…`;
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
}
